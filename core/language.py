"""Language quality of held-out completions, measured the same way for every task.

A task metric that rises while these fall is reward hacking until shown otherwise, so every
evaluation reports them beside the task's own metrics:

* ``quality/perplexity``: token-weighted perplexity of the completions under the frozen base
  model (``exp(total NLL / total tokens)``; lower is more like the base model's language);
* ``quality/distinct_1``, ``quality/distinct_2``: corpus distinct-n over all completions;
* ``quality/repetition``: share of each completion's word 3-grams that repeat an earlier one;
* ``quality/words``: completion length in words (neutral: its change is reported, not judged).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from core.evaluators import Corpus
from core.rewards.diversity import distinct, repetition_rate
from core.rewards.spec import completion_text

__all__ = ["language_metrics", "perplexity", "BaseModelScorer", "QUALITY_DIRECTIONS", "Scorer"]

#: ``scorer(prompts, completions) -> [(nll_sum, tokens), ...]``: completions scored under the base model.
Scorer = Callable[[Sequence[Any], Sequence[Any]], list[tuple[float, int]]]

#: The better direction of each language-quality metric.
QUALITY_DIRECTIONS = {"quality/perplexity": "lower", "quality/distinct_1": "higher", "quality/distinct_2": "higher",
                      "quality/repetition": "lower", "quality/words": "neutral"}


def perplexity(items: Sequence[tuple[float, int]]) -> float:
    """``exp(sum of token NLLs / number of tokens)`` over ``(nll_sum, tokens)`` items (NaN without tokens).

    >>> round(perplexity([(math.log(4) * 2, 2), (0.0, 0)]), 6)
    4.0
    """
    tokens = sum(n for _, n in items)
    return math.exp(sum(s for s, _ in items) / tokens) if tokens else math.nan


class BaseModelScorer:
    """Score completions under the frozen base model: the policy itself with its LoRA adapter
    disabled when it has one (no second copy in memory), else ``reference()``'s ``(model, tokenizer)``.

    Called as a :data:`Scorer`; :attr:`scored` keeps the per-token scores of the last call, so a later
    pass over the same completions (the interpretability view) need not run the base model again.
    """

    def __init__(self, policy: Any, tokenizer: Any, reference: Callable[[], tuple[Any, Any]],
                 max_tokens: int = 256) -> None:
        self.policy, self.tokenizer, self.reference, self.max_tokens = policy, tokenizer, reference, max_tokens
        self.scored: list[Any] = []

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any]) -> list[tuple[float, int]]:
        from core.logprobs import score_completions

        if hasattr(self.policy, "disable_adapter"):
            with self.policy.disable_adapter():
                self.scored = score_completions(self.policy, self.tokenizer, prompts, completions,
                                                max_tokens=self.max_tokens, release_memory=True)
        else:
            model, base_tokenizer = self.reference()
            self.scored = score_completions(model, base_tokenizer, prompts, completions, max_tokens=self.max_tokens,
                                            release_memory=True)
        return [(-sum(s.logprobs), len(s.logprobs)) for s in self.scored]


def language_metrics(prompts: Sequence[Any], completions: Sequence[Any], scorer: Scorer | None) -> dict[str, Any]:
    """The ``quality/*`` metrics of completions: per-completion lists or :class:`Corpus` objects.

    :param scorer: scores completions under the base model for perplexity; None skips perplexity.
    """
    texts = [completion_text(c) for c in completions]
    metrics = {
        "quality/distinct_1": Corpus(texts, lambda t: distinct(t, 1), jackknife=True),
        "quality/distinct_2": Corpus(texts, lambda t: distinct(t, 2), jackknife=True),
        "quality/repetition": [repetition_rate(t, 3) for t in texts],
        "quality/words": [float(len(t.split())) for t in texts],
    }
    if scorer is not None:
        metrics["quality/perplexity"] = Corpus(scorer(prompts, completions), perplexity)
    return metrics
