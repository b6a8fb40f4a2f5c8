"""rlft rewards inside TRL: a plain GRPOTrainer takes them as reward_funcs, and an rlft run logs
each component to TensorBoard and to samples.jsonl."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from datasets import Dataset

from core.rewards.diversity import distinct_n
from core.rewards.form import length_target
from core.rewards.quality import fluency


def test_rlft_rewards_as_reward_funcs_of_a_plain_trl_grpo_trainer(tiny_model, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = tiny_model
    policy = copy.deepcopy(model)  # the session fixture must stay untrained
    prompts = [[{"role": "user", "content": f"Say something about {t}."}] for t in ("tea", "rain", "cats", "maps")]
    calls = []

    def spy(prompts, completions, **kwargs):
        calls.append(kwargs)
        return [0.0] * len(completions)

    args = GRPOConfig(output_dir=str(tmp_path), bf16=False, gradient_checkpointing=False, max_steps=1,
                      per_device_train_batch_size=4, num_generations=2, max_completion_length=8, report_to="none",
                      use_cpu=True, logging_steps=1, save_strategy="no", seed=0)
    trainer = GRPOTrainer(model=policy, processing_class=tokenizer, args=args,
                          train_dataset=Dataset.from_dict({"prompt": prompts}),
                          reward_funcs=[distinct_n, length_target(min_len=1, max_len=4, unit="tokens"),
                                        fluency(model=(model, tokenizer), max_tokens=8), spy])
    trainer.train()
    assert trainer.state.global_step == 1
    logged = {k: v for row in trainer.state.log_history for k, v in row.items()}
    for name in ("distinct_n", "length_target", "fluency"):
        assert math.isfinite(logged[f"rewards/{name}/mean"]), name
    assert 0.0 < logged["rewards/fluency/mean"] < 1.0
    assert "completion_ids" in calls[0]  # what length_target(unit=tokens) reads


@pytest.fixture(scope="module")
def debug_run(compose_cfg, tmp_path_factory):
    """A 2-step rlft GRPO run on the tiny model composing a task reward with a generic one."""
    from core.run import run

    out = tmp_path_factory.mktemp("run")
    cfg = compose_cfg(["experiment=debug", "task=sentiment", "report_to=[tensorboard]",
                       "task.rewards=[{name: vader_sentiment, weight: 1.0}, {name: distinct_n, weight: 0.5}]"], out)
    metrics = run(cfg)
    return out, metrics


def test_a_short_grpo_run_writes_reward_components_to_tensorboard(debug_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = debug_run
    event_dirs = {p.parent for p in Path(out).rglob("events.out.tfevents.*")}
    assert event_dirs, f"no TensorBoard event file under {out}"
    tags = set()
    for d in event_dirs:
        acc = EventAccumulator(str(d))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
        for tag in acc.Tags()["scalars"]:
            assert all(math.isfinite(e.value) for e in acc.Scalars(tag)), tag
    for name in ("vader_sentiment", "distinct_n"):
        assert {f"train/rewards/{name}/mean", f"train/rewards/{name}/std"} <= tags, sorted(tags)


def test_samples_jsonl_explains_each_reward(debug_run):
    out, metrics = debug_run
    rows = [json.loads(line) for line in (Path(out) / "samples.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["stage"] == "train"]
    assert train and {r["stage"] for r in rows} == {"before", "train", "after"}
    for row in train:
        parts = row["rewards"]
        assert set(parts) == {"vader_sentiment", "distinct_n"}
        assert parts["distinct_n"]["weighted"] == pytest.approx(0.5 * parts["distinct_n"]["raw"])
        assert row["total"] == pytest.approx(sum(p["weighted"] for p in parts.values()))
    assert "reward/distinct_n" in metrics["after"]
