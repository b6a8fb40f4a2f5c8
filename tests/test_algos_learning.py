"""Every algorithm learns a toy task on the tiny model: make completions use one chosen token X.

The reward is the fraction of completion tokens equal to X, X being the base model's most frequent
sampled token (one it already emits, rarely: ' lean', about 0.6% of tokens, 3% of first tokens).
Each algorithm trains a copy of the tiny model (seed 0, bf16 off so every CPU takes the same path)
and the mean reward of fresh samples (the same 4 prompts x 32 samples of 4 tokens, sampling seed 1)
must rise by at least MARGIN above the base model's, which the test measures itself.

Measured here (2 cores, seed 0, 16 steps of 4 prompts x 8 completions of 4 tokens, lr 1e-2), mean
reward of fresh samples before -> after (held-out prompts in brackets) and training time:
    rloo      0.012 -> 1.000 (1.000)  11 s
    grpo      0.012 -> 0.727 (0.729)   9 s
    ppo       0.012 -> 0.500 (0.500)  15 s
    reinforce 0.012 -> 0.250 (0.250)   8 s   (X on every first token; no further variance to learn from)
    dqn       0.012 -> 0.250          66 s*  (X on every first token, like reinforce)
    sac       0.012 -> 1.000         143 s*
(* on a loaded machine, beside other jobs.)
MARGIN is 0.2: below the smallest rise that passes (reinforce, 0.238), far above the noise of the
measurement (the base model's level is 0.012 and all 128 samples share one seed).

Why these settings (all ordinary config overrides):
- No KL term (``algo.beta=0``) and no task settings (``~task_settings``): the default task's recommended
  ``beta=0.04`` is a per-sequence KL penalty as large as this 0-1 reward (REINFORCE's reward fell to 0).
- A learning rate for a random 3M-parameter model (1e-2), not for a pretrained one (1e-5): at 3e-3
  PPO, REINFORCE and RLOO stall at 0.125 of 8 tokens (X learned as the first token only) in 16 steps.
- 4-token completions: half the cost of a step, and the first-token phase is already worth 0.25.
- DQN: a small ``tau`` (the LM's log-probs are Q in units of tau: 0.003 lets a 0.25 return make X almost
  certain), Monte-Carlo targets (``n_step=0``: the return reaches the first token at once) and epsilon-greedy
  top-k acting (``exploration=epsilon``): under softmax acting X is sampled once in 128 tokens and lost before
  it is sampled again. SAC: a small ``init_alpha`` (the entropy bonus against a 0-1 reward), soft Monte-Carlo
  targets (``n_step=0``) and two rollout steps of critic-only updates (``actor_starts=2``) before the actor
  follows the critic. Before and after each change: core/algos/README.md.
"""

from __future__ import annotations

from collections import Counter
from copy import deepcopy

import pytest
import torch
from datasets import Dataset

from core.algos.base import TrainInputs
from core.algos.rollout import RolloutEngine
from core.rewards.checked import CheckedReward

MARGIN = 0.2
LENGTH = 4
COMMON = ["experiment=debug", "~task_settings", "algo.bf16=false", "algo.beta=0.0", "algo.prompts_per_step=4",
          "algo.num_generations=8", f"algo.max_completion_length={LENGTH}", "algo.lr=1e-2", "algo.max_steps=16"]
SETTINGS = {
    "rloo": [],
    "grpo": [],
    "ppo": [],
    "reinforce": [],
    "dqn": ["algo.tau=0.003"],
    "sac": ["algo.actor_starts=2"],
}
PROMPTS = [[{"role": "user", "content": f"Tell me about {w}."}] for w in ("cats", "rain", "tea", "maps")]


def _token_fraction(target: int):
    def fraction_of_x(prompts, completions, completion_ids=None, **_):
        return [sum(t == target for t in ids) / max(1, len(ids)) for ids in completion_ids]

    return fraction_of_x


def _mean_reward(model, tokenizer, reward) -> float:
    """Mean reward of 4 x 32 fresh samples of LENGTH tokens, always with sampling seed 1."""
    torch.manual_seed(1)
    engine = RolloutEngine(tokenizer, [reward], num_generations=32, max_new_tokens=LENGTH)
    return float(engine.collect(model, [{"prompt": p} for p in PROMPTS]).scores.mean())


@pytest.fixture(scope="module")
def toy(tiny_model):
    """The reward counting token X (the most frequent in 256 sampled completions of 8 tokens) and the base
    model's mean reward."""
    model, tokenizer = tiny_model
    torch.manual_seed(0)
    exp = RolloutEngine(tokenizer, [], num_generations=64, max_new_tokens=8).generate(model, PROMPTS)
    special = set(tokenizer.all_special_ids)
    counts = Counter(t for row, m in zip(exp.completion_ids, exp.completion_mask)
                     for t in row[m.bool()].tolist() if t not in special)
    reward = CheckedReward("fraction_of_x", _token_fraction(counts.most_common(1)[0][0]), 1.0)
    return reward, _mean_reward(model, tokenizer, reward)


def _cases():
    for algo, settings in SETTINGS.items():
        if isinstance(settings, list):
            yield pytest.param(algo, settings, id=algo)
        else:
            yield pytest.param(algo, *settings.values, marks=settings.marks, id=algo)


@pytest.mark.slow
@pytest.mark.parametrize("algo,settings", list(_cases()))
def test_algorithm_raises_the_toy_reward(compose_cfg, plugins, tiny_model, toy, tmp_path, algo, settings):
    model, tokenizer = tiny_model
    reward, before = toy
    cfg = compose_cfg([f"algo={algo}", *COMMON, *settings]).algo
    inputs = TrainInputs(model=deepcopy(model), tokenizer=tokenizer, train_dataset=Dataset.from_dict({"prompt": PROMPTS}),
                         reward_funcs=[reward], reward_weights=[1.0], output_dir=str(tmp_path), seed=0,
                         callbacks=[], report_to=["none"])
    torch.manual_seed(0)
    trainer = plugins.algorithms.get(algo)(cfg).build_trainer(inputs)
    trainer.train()
    after = _mean_reward(trainer.model, tokenizer, reward)
    assert after >= before + MARGIN, f"algo={algo}: toy reward {before:.3f} -> {after:.3f}, wanted +{MARGIN}"
