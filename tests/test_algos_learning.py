"""Every algorithm learns a toy task on the tiny model: make completions use one chosen token.

The reward is the fraction of completion tokens equal to token X (X: the base model's most frequent
sampled token, so the starting reward is small but not zero). Each algorithm must raise the mean
reward of fresh samples by a stated margin within a few dozen steps, with a fixed seed.
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

ALGOS = ["reinforce", "ppo", "dqn", "sac", "grpo", "rloo"]
MARGIN = 0.15
STEPS = {"reinforce": 24, "ppo": 24, "dqn": 24, "sac": 24, "grpo": 24, "rloo": 24}
SETTINGS = {
    "reinforce": ["algo.lr=3e-3"],
    "ppo": ["algo.lr=3e-3", "algo.beta=0.0"],
    "dqn": ["algo.lr=3e-3", "algo.batch_size=16", "algo.updates_per_step=2"],
    "sac": ["algo.lr=3e-3", "algo.batch_size=16", "algo.target_entropy=0.5"],
    "grpo": ["algo.lr=3e-3"],
    "rloo": ["algo.lr=3e-3"],
}
PROMPTS = [[{"role": "user", "content": f"Tell me about {w}."}] for w in ("cats", "rain", "tea", "maps")]


def _token_fraction(target: int):
    def fraction_of_x(prompts, completions, completion_ids=None, **_):
        return [sum(t == target for t in ids) / max(1, len(ids)) for ids in completion_ids]

    return fraction_of_x


def _mean_reward(model, tokenizer, reward, seed: int) -> float:
    torch.manual_seed(seed)
    engine = RolloutEngine(tokenizer, [reward], num_generations=16, max_new_tokens=8)
    return float(engine.collect(model, [{"prompt": p} for p in PROMPTS]).scores.mean())


@pytest.fixture(scope="module")
def toy(tiny_model):
    """Token X and the reward that counts it."""
    model, tokenizer = tiny_model
    torch.manual_seed(0)
    engine = RolloutEngine(tokenizer, [], num_generations=16, max_new_tokens=8)
    exp = engine.generate(model, PROMPTS)
    special = set(tokenizer.all_special_ids)
    counts = Counter(t for row, m in zip(exp.completion_ids, exp.completion_mask)
                     for t in row[m.bool()].tolist() if t not in special)
    target = counts.most_common(1)[0][0]
    return target, CheckedReward("fraction_of_x", _token_fraction(target), 1.0)


@pytest.mark.parametrize("algo", ALGOS)
def test_algorithm_raises_the_toy_reward(compose_cfg, plugins, tiny_model, toy, tmp_path, algo):
    model, tokenizer = tiny_model
    _, reward = toy
    cfg = compose_cfg([f"algo={algo}", "experiment=debug", f"algo.max_steps={STEPS[algo]}", "algo.prompts_per_step=4",
                       "algo.num_generations=8", "algo.max_completion_length=8", *SETTINGS[algo]]).algo
    before = _mean_reward(model, tokenizer, reward, seed=1)
    policy = deepcopy(model)
    inputs = TrainInputs(model=policy, tokenizer=tokenizer, train_dataset=Dataset.from_dict({"prompt": PROMPTS}),
                         reward_funcs=[reward], reward_weights=[1.0], output_dir=str(tmp_path), seed=0,
                         callbacks=[], report_to=["none"])
    torch.manual_seed(0)
    trainer = plugins.algorithms.get(algo)(cfg).build_trainer(inputs)
    trainer.train()
    after = _mean_reward(trainer.model, tokenizer, reward, seed=1)
    assert after - before > MARGIN, f"{algo}: toy reward {before:.3f} -> {after:.3f}, wanted +{MARGIN}"
