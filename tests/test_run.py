"""The core loop end to end on the tiny model: outputs, algorithms, LoRA, and failures that stop it."""

from __future__ import annotations

import json
import math

import pytest
import torch

from core.callbacks import NonFiniteGuard
from core.config import EvalConfig
from core.errors import ConfigError, RewardError, RlftError
from core.evaluate import evaluate
from core.generation import generate
from core.rewards.spec import reward
from core.run import run

DEBUG = ["experiment=debug", "report_to=[tensorboard]"]


def test_grpo_run_writes_every_output(compose_cfg, tmp_path):
    cfg = compose_cfg([*DEBUG, "save_model=true"], tmp_path)
    metrics = run(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    for stage in ("before", "after"):
        assert {"reward/vader_sentiment", "reward/total", "sentiment/positive_fraction"} <= set(saved[stage])
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    stages = {r["stage"] for r in rows}
    assert stages == {"before", "train", "after"}
    train = [r for r in rows if r["stage"] == "train"]
    assert len(train) == cfg.algo.max_steps * cfg.algo.prompts_per_step * cfg.algo.num_generations
    assert all(set(r["rewards"]["vader_sentiment"]) == {"raw", "weighted"} for r in rows)
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert list((tmp_path / "runs").rglob("events.out.tfevents.*")), "TensorBoard logs"


@pytest.mark.parametrize("overrides", [["algo=rloo"], ["model.peft=lora", "model.lora.r=4"]], ids=["rloo", "lora"])
def test_other_algorithms_and_lora_train(compose_cfg, tmp_path, overrides):
    cfg = compose_cfg([*DEBUG, *overrides, "save_model=true", "eval.enabled=false"], tmp_path)
    run(cfg)
    saved = {p.name for p in (tmp_path / "model").iterdir()}
    assert ("adapter_model.safetensors" in saved) == ("model.peft=lora" in overrides)


def test_empty_dataset_is_refused_before_anything_is_written(compose_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"task.max_prompts=0: must be null \(all\) or an integer >= 1"):
        run(compose_cfg([*DEBUG, "task.max_prompts=0"], tmp_path / "run"))
    assert not (tmp_path / "run").exists()


@reward("nan_after_first_call")
def _nan_reward(prompts, completions, **_):
    return [math.nan] * len(completions)


def test_nan_reward_stops_training_before_the_optimizer(compose_cfg, plugins, tmp_path):
    if "nan_after_first_call" not in plugins.rewards:
        plugins.rewards.add("nan_after_first_call", _nan_reward.reward_spec, "tests")
    cfg = compose_cfg([*DEBUG, "eval.enabled=false", "save_model=true",
                       "task.rewards=[{name: nan_after_first_call, weight: 1.0}]"], tmp_path)
    with pytest.raises(RewardError, match="reward 'nan_after_first_call' returned nan for completion 0"):
        run(cfg)
    assert not (tmp_path / "model").exists()


def test_non_finite_gradient_never_reaches_the_optimizer(tiny_model):
    model, _ = tiny_model
    param = next(model.parameters())
    param.grad = torch.full_like(param, math.nan)
    state = type("State", (), {"global_step": 4})()
    try:
        with pytest.raises(RlftError, match="non-finite gradient at step 5"):
            NonFiniteGuard().on_pre_optimizer_step(None, state, None, model=model)
    finally:
        param.grad = None


def test_evaluation_ignores_train_mode_and_gradient_checkpointing(compose_cfg, plugins, tmp_path):
    """The trap: a model left in train mode with checkpointing on must evaluate exactly as in eval mode."""
    from core.models import load_model

    model, tokenizer = load_model("embedded:tiny")
    prompts = [[{"role": "user", "content": f"Tell me about topic {i}."}] for i in range(6)]
    expected = generate(model.eval(), tokenizer, prompts, max_new_tokens=12, batch_size=4)
    model.train()
    model.gradient_checkpointing_enable()
    model.config.use_cache = False
    assert generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=4) == expected
    assert model.training, "the caller's mode is restored"
    assert len(set(expected)) > 1 and all(expected), "the tiny model gives prompt-dependent text"


def test_before_and_after_agree_for_an_untrained_model(compose_cfg, plugins, tmp_path):
    from core.context import RunContext
    from core.models import load_model
    from core.run import build_rewards

    cfg = compose_cfg(["experiment=debug", "task.eval_prompts=6"], tmp_path)
    ctx = RunContext(cfg=cfg, output_dir=tmp_path, plugins=plugins)
    ctx.task = plugins.tasks.get("sentiment")(cfg.task)
    test = ctx.task.splits()["test"]
    rewards = build_rewards(cfg.task.rewards, ctx, test.column_names)
    evaluators = [plugins.evaluators.get("sentiment")]
    model, tokenizer = load_model("embedded:tiny")
    eval_cfg = EvalConfig(max_new_tokens=16)
    before = evaluate(model, tokenizer, test, eval_cfg, rewards, evaluators)
    model.train()
    model.gradient_checkpointing_enable()
    after = evaluate(model, tokenizer, test, eval_cfg, rewards, evaluators)
    assert after.completions == before.completions
    assert {n: after.value(n) for n in after.metrics} == {n: before.value(n) for n in before.metrics}


def test_a_seeded_run_is_reproducible(debug_run, compose_cfg, tmp_path):
    from core.run import run

    first_dir, first = debug_run
    again = run(compose_cfg(["experiment=debug", "algo.max_steps=3", "eval.every=2"], tmp_path))
    assert (tmp_path / "samples.jsonl").read_text() == (first_dir / "samples.jsonl").read_text()
    assert again["after"] == first["after"]


@pytest.mark.parametrize("trim", [False, True])
def test_algo_trim_heap_trims_after_every_micro_batch(compose_cfg, tmp_path, monkeypatch, trim):
    import core.callbacks

    calls = []
    monkeypatch.setattr(core.callbacks, "trim_heap", lambda: calls.append(1) or True)
    run(compose_cfg([*DEBUG, "eval.enabled=false", "algo.max_steps=2", "algo.gradient_accumulation_steps=2",
                     f"algo.trim_heap={trim}"], tmp_path))
    assert len(calls) == (2 * 2 if trim else 0)
