"""The core plugin that contributes rlft's generic rewards and evaluators to every task.

Rewards (use them by name in any task's ``rewards:`` list; ``python -m core.rewards`` lists them):

- language quality: ``fluency`` (inverse perplexity under a frozen reference LM);
- relevance: ``relevance`` (MiniLM cosine between the completion and its prompt or a column);
- diversity: ``distinct_n``, ``self_bleu_diversity`` (within a GRPO group), ``repetition_penalty``;
- form: ``length_target``, ``regex_match``, ``valid_json``, ``truncation_penalty``;
- safety: ``safety_penalty`` (profanity, slurs and unsafe phrases);
- human feedback: ``human_rm`` (a reward model trained by ``python -m core.feedback train-rm``).

Evaluators: ``relevance``, ``diversity`` (distinct-1/2, repetition rate), ``length``.
"""

from __future__ import annotations

from core.evaluators import EvaluatorSpec, as_evaluator_spec
from core.hookspecs import hookimpl
from core.feedback.rm import human_rm
from core.rewards.diversity import distinct_n, diversity_stats, repetition_penalty, self_bleu_diversity
from core.rewards.form import length_stats, length_target, regex_match, truncation_penalty, valid_json
from core.rewards.quality import fluency
from core.rewards.relevance import relevance, relevance_stats
from core.rewards.safety import safety_penalty
from core.rewards.spec import RewardSpec, as_reward_spec

__all__ = ["GENERIC_REWARDS", "GENERIC_EVALUATORS", "rlft_rewards", "rlft_evaluators"]

GENERIC_REWARDS: list = [
    fluency, relevance, distinct_n, self_bleu_diversity, repetition_penalty, length_target, regex_match,
    valid_json, truncation_penalty, safety_penalty, human_rm,
]

GENERIC_EVALUATORS: list = [relevance_stats, diversity_stats, length_stats]


@hookimpl
def rlft_rewards() -> list[RewardSpec]:
    """Every generic reward of ``core.rewards``."""
    return [as_reward_spec(r) for r in GENERIC_REWARDS]


@hookimpl
def rlft_evaluators() -> list[EvaluatorSpec]:
    """Every generic evaluator of ``core.rewards``."""
    return [as_evaluator_spec(e) for e in GENERIC_EVALUATORS]
