"""The task contract as a public helper, for third-party task authors' own tests.

    # tests/test_my_task.py in your package
    from core.testing import check_task

    def test_contract():
        check_task("keyword")          # raises AssertionError listing every broken rule

It checks, in seconds and without loading any model: the task is discovered and its config and
YAML compose (``task=<name>``), both splits are non-empty with chat or text prompts, no held-out
prompt is in training, every reward returns one finite float (or None) per completion for the
dataset's columns (prompts and columns repeated once per completion, as TRL passes them), and
every evaluator returns named, finite metrics.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["check_task", "task_problems"]

PROBE_TEXTS = ("", "The answer is 42.", "héllo wörld ✓ " * 40)


def _splits_problems(task: Any) -> tuple[list[str], Any]:
    problems = []
    splits = task.splits()
    for split in ("train", "test"):
        for prompt in splits[split]["prompt"][:20]:
            if not (isinstance(prompt, str) or (prompt and prompt[-1].get("role") == "user")):
                problems.append(f"{split} split: prompt is neither text nor a chat ending in a user turn: {prompt!r}")
                break
    full = task.build_splits()
    train = {json.dumps(p, sort_keys=True) for p in full["train"]["prompt"]}
    leaked = sum(json.dumps(p, sort_keys=True) in train for p in full["test"]["prompt"])
    if leaked:
        problems.append(f"{leaked} held-out prompts also appear in the train split")
    return problems, splits


def _reward_problems(ctx: Any, ds: Any) -> list[str]:
    from core.generation import as_completion
    from core.run import build_rewards

    prompts = [p for p in ds["prompt"] for _ in PROBE_TEXTS]
    completions = [as_completion(p, t) for p in ds["prompt"] for t in PROBE_TEXTS]
    columns = {c: [v for v in ds[c] for _ in PROBE_TEXTS] for c in ds.column_names if c != "prompt"}
    problems = []
    for fn in build_rewards(ctx.cfg.task.rewards, ctx, ds.column_names):
        values = fn(prompts, completions, **columns)
        if len(values) != len(completions):
            problems.append(f"reward {fn.__name__}: {len(values)} values for {len(completions)} completions")
        elif not all(v is None or (isinstance(v, float) and math.isfinite(v)) for v in values):
            problems.append(f"reward {fn.__name__}: values must be finite floats or None, got {values[:6]}")
    return problems


def _evaluator_problems(ctx: Any, ds: Any) -> list[str]:
    from core.evaluators import point_values, run_evaluator
    from core.generation import as_completion

    completions = [as_completion(p, "I think it is a good answer.") for p in ds["prompt"]]
    columns = {c: list(ds[c]) for c in ds.column_names if c != "prompt"}
    problems = []
    for name in ctx.cfg.task.evaluators:
        metrics = point_values(run_evaluator(ctx.plugins.evaluators.get(name), list(ds["prompt"]), completions,
                                             columns))
        if not metrics or not all(isinstance(k, str) and not math.isinf(v) for k, v in metrics.items()):
            problems.append(f"evaluator {name}: metrics must be a non-empty name -> finite value map, got {metrics}")
        elif not any(math.isfinite(v) for v in metrics.values()):
            problems.append(f"evaluator {name}: every metric is NaN")
    return problems


def task_problems(name: str, overrides: Sequence[str] = ()) -> list[str]:
    """Every contract rule task ``name`` breaks, one line each (empty when it passes).

    :param overrides: extra config overrides, e.g. ``["task.data.limit=50"]``.
    """
    from core.cli import discover, preflight
    from core.context import RunContext
    from core.errors import RlftError

    plugins = discover()
    for failure in plugins.failures:
        if failure.plugin == name or name in failure.package:
            return [str(failure)]
    with tempfile.TemporaryDirectory() as out:
        try:
            cfg = preflight([f"task={name}", "model=tiny", f"output_dir={Path(out) / 'run'}", *overrides], plugins)
            if not cfg.task.rewards:
                return [f"task {name!r} ships no default rewards (task.rewards is empty)"]
            ctx = RunContext(cfg=cfg, output_dir=Path(out), plugins=plugins)
            ctx.task = plugins.tasks.get(name)(cfg.task)
            problems, splits = _splits_problems(ctx.task)
            train = splits["train"].select(range(min(3, len(splits["train"]))))
            test = splits["test"].select(range(min(4, len(splits["test"]))))
            return problems + _reward_problems(ctx, train) + _evaluator_problems(ctx, test)
        except RlftError as exc:
            return [f"{type(exc).__name__}: {exc}"]


def check_task(name: str, overrides: Sequence[str] = ()) -> None:
    """Assert that task ``name`` passes rlft's task contract; the AssertionError lists every problem."""
    problems = task_problems(name, overrides)
    assert not problems, f"task {name!r} breaks the rlft task contract:\n  " + "\n  ".join(problems)
