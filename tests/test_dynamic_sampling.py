"""Dynamic sampling: GRPO and RLOO never train on a group whose completions all earned the same reward."""

from __future__ import annotations

from copy import deepcopy

import pytest
import torch
from datasets import Dataset

from core.algos.base import TrainInputs
from core.algos.dynamic_sampling import equal_shares, informative_rows
from core.rewards.checked import CheckedReward

GROUP = 4


def test_informative_rows_by_hand():
    nan = float("nan")
    rewards = torch.tensor([0.0, 0.0, 0.0, 0.0,  1.0, 0.0, 0.5, 0.5,  0.3, 0.3, nan, 0.3,  nan, 1.0, nan, 0.0])
    assert informative_rows(rewards, GROUP).tolist() == [False] * 4 + [True] * 4 + [False] * 4 + [True] * 4


def test_fill_keeps_a_batch_that_splits_evenly_and_is_never_empty():
    assert equal_shares(torch.tensor([False, True, True, False]), 1, 3).tolist() == [[True, True, True, False]]
    assert equal_shares(torch.tensor([True, True, False]), 1, 2).tolist() == [[True, True, False]]
    assert equal_shares(torch.zeros(8, dtype=torch.bool), 1, 2).tolist() == [[True, True] + [False] * 6]


def test_every_process_keeps_as_many_rows_as_the_one_with_most_signal():
    # process 0 has 3 informative rows, process 1 has 1, process 2 none: all keep 3 (4 when splitting in 2s)
    informative = torch.tensor([True, True, True, False,  False, False, True, False,  False, False, False, False])
    assert equal_shares(informative, 3, 1).tolist() == [[True, True, True, False], [True, True, True, False],
                                                        [True, True, True, False]]
    assert equal_shares(informative, 3, 2).sum(1).tolist() == [4, 4, 4]
    assert equal_shares(informative, 3, 2)[1].tolist() == [True, True, True, True]  # its informative row kept
    assert equal_shares(torch.tensor([True, False, False, True]), 2, 1).tolist() == [[True, False], [False, True]]


def _flat_or_spread(prompts, completions, **_):
    """Every completion of a 'flat' prompt scores 1; the others score their position (always spread)."""
    text = [p[-1]["content"] if isinstance(p, list) else p for p in prompts]
    return [1.0 if "flat" in t else float(i) for i, t in enumerate(text)]


@pytest.mark.parametrize("algo,skip", [("grpo", True), ("grpo", False), ("rloo", True)])
def test_zero_variance_groups_never_reach_the_loss(compose_cfg, tiny_model, tmp_path, algo, skip):
    from core.cli import discover

    model, tokenizer = tiny_model
    cfg = compose_cfg([f"algo={algo}", "experiment=debug", f"algo.num_generations={GROUP}", "algo.max_steps=2",
                       f"algo.skip_zero_variance_groups={skip}"]).algo
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": "Say something flat."}],
                                         [{"role": "user", "content": "Say something varied."}]]})
    inputs = TrainInputs(model=deepcopy(model), tokenizer=tokenizer, train_dataset=data,
                         reward_funcs=[CheckedReward("flat_or_spread", _flat_or_spread, 1.0)], reward_weights=[1.0],
                         output_dir=str(tmp_path), seed=0, callbacks=[], report_to=["none"])
    trainer = discover().algorithms.get(algo)(cfg).build_trainer(inputs)
    seen = []
    compute_loss = trainer.compute_loss

    def spy(model, batch, *args, **kwargs):
        seen.append({k: v.clone() for k, v in batch.items() if isinstance(v, torch.Tensor)})
        return compute_loss(model, batch, *args, **kwargs)

    trainer.compute_loss = spy
    trainer.train()
    flat_token = tokenizer(" flat", add_special_tokens=False).input_ids[-1]
    assert len(seen) == 2
    for batch in seen:
        has_flat = (batch["prompt_ids"] == flat_token).any(dim=1)
        if skip:
            assert batch["advantages"].size(0) == GROUP and not has_flat.any(), "a zero-variance group was trained on"
            assert batch["prompt_mask"][:, 0].any(), "padding left by dropped rows is trimmed"
        else:
            assert batch["advantages"].size(0) == 2 * GROUP and has_flat.sum() == GROUP
    logged = [log["dynamic_sampling/skipped"] for log in trainer.state.log_history if "dynamic_sampling/skipped" in log]
    assert logged == ([0.5, 0.5] if skip else [])
