"""The contract every discovered task passes: built-in and third-party alike."""

from __future__ import annotations

import json
import math

import pytest

from core.cli import discover
from core.context import RunContext
from core.evaluators import point_values, run_evaluator
from core.generation import as_completion
from core.rewards.spec import prompt_text
from core.run import build_rewards

TASKS = discover().tasks.names()


@pytest.fixture(scope="module", params=TASKS)
def task_run(request, compose_cfg, plugins, tmp_path_factory):
    """A composed config, the task instance and its splits, for each discovered task."""
    cfg = compose_cfg([f"task={request.param}", "model=tiny"], tmp_path_factory.mktemp(request.param))
    ctx = RunContext(cfg=cfg, output_dir=tmp_path_factory.getbasetemp(), plugins=plugins)
    ctx.task = plugins.tasks.get(request.param)(cfg.task)
    return ctx, ctx.task.splits()


def _key(prompt) -> str:
    return json.dumps(prompt, sort_keys=True)


def test_config_composes_with_the_task_name(task_run):
    ctx, _ = task_run
    assert ctx.cfg.task.name == ctx.task.name
    assert ctx.cfg.task.rewards, "a task ships a default reward list"


def test_splits_have_prompts_in_chat_or_text_form(task_run):
    _, splits = task_run
    for split in ("train", "test"):
        ds = splits[split]
        assert len(ds) > 0 and "prompt" in ds.column_names
        for prompt in ds["prompt"][:20]:
            assert isinstance(prompt, str) or (prompt and prompt[-1]["role"] == "user"), prompt
            assert prompt_text(prompt).strip()


def test_held_out_prompts_never_reach_training(task_run):
    ctx, _ = task_run
    full = ctx.task.build_splits()  # uncapped, so the whole train split is compared
    train = {_key(p) for p in full["train"]["prompt"]}
    leaked = [p for p in full["test"]["prompt"] if _key(p) in train]
    assert not leaked, f"{len(leaked)} held-out prompts also appear in training"


def test_rewards_return_one_finite_float_per_completion(task_run):
    ctx, splits = task_run
    ds = splits["train"].select(range(min(3, len(splits["train"]))))
    texts = ["", "The answer is 42.", "héllo wörld ✓ " * 40]
    prompts = [p for p in ds["prompt"] for _ in texts]
    completions = [as_completion(p, t) for p in ds["prompt"] for t in texts]
    columns = {c: [v for v in ds[c] for _ in texts] for c in ds.column_names if c != "prompt"}
    for fn in build_rewards(ctx.cfg.task.rewards, ctx, ds.column_names):
        values = fn(prompts, completions, **columns)
        assert len(values) == len(completions), fn.__name__
        assert all(v is None or (isinstance(v, float) and math.isfinite(v)) for v in values), (fn.__name__, values)


def test_evaluators_return_named_finite_metrics(task_run, plugins):
    ctx, splits = task_run
    ds = splits["test"].select(range(min(4, len(splits["test"]))))
    completions = [as_completion(p, "I think it is a good answer.") for p in ds["prompt"]]
    columns = {c: list(ds[c]) for c in ds.column_names if c != "prompt"}
    for name in ctx.cfg.task.evaluators:
        metrics = point_values(run_evaluator(plugins.evaluators.get(name), list(ds["prompt"]), completions, columns))
        # NaN only where no completion had a value (e.g. has_ans without answerable questions)
        assert metrics and all(isinstance(k, str) and not math.isinf(v) for k, v in metrics.items())
        assert any(math.isfinite(v) for v in metrics.values())
