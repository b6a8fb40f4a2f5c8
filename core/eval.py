"""``python -m core.eval``: held-out metrics of any models on a task, side by side, with intervals.

    python -m core.eval task=qa                                              # the default model
    python -m core.eval task=qa model.name_or_path=outputs/qa/run1/model     # a trained model
    python -m core.eval task=qa model.name_or_path=embedded:smollm2-135m outputs/qa/run1/model outputs/qa/run2/model

Every model answers the same held-out prompts with the task's ``eval`` settings. Each metric gets
its 95% interval; every model after the first also gets the paired-bootstrap change against the
first (the base line) and a verdict. Perplexity is measured under the first model. The table is
printed and ``eval.json`` written to ``output_dir`` (default ``outputs/eval/<task>/<time>``).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from core.cli import discover, preflight, report_errors
from core.context import RunContext
from core.evaluate import Evaluation, compare, evaluate
from core.language import base_model_scorer
from core.models import load_model
from core.outputs import write_json
from core.results import check_headline, format_ci, summarise

__all__ = ["main", "evaluate_models", "split_argv"]

log = logging.getLogger("rlft")


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """Hydra overrides and the model paths: ``model.name_or_path=<a>`` plus any bare arguments after it."""
    overrides, models = [], []
    for arg in argv:
        if arg.startswith("model.name_or_path="):
            models.append(arg.split("=", 1)[1])
        elif "=" not in arg and not arg.startswith("-"):
            models.append(arg)
        else:
            overrides.append(arg)
    return overrides, models


def evaluate_models(cfg: Any, models: list[str]) -> dict[str, Any]:
    """Evaluate each model on the task's held-out split; return the ``eval.json`` document."""
    from core.run import build_rewards

    plugins = discover()
    ctx = RunContext(cfg=cfg, output_dir=Path(cfg.output_dir), plugins=plugins)
    ctx.task = plugins.tasks.get(cfg.task.name)(cfg.task)
    test = ctx.task.splits()["test"]
    rewards = build_rewards(cfg.task.rewards, ctx, test.column_names)
    evaluators = [plugins.evaluators.get(name) for name in cfg.task.evaluators]
    headline = cfg.task.metric or "reward/total"
    base: tuple[Any, Any] | None = None
    results: list[tuple[str, Evaluation]] = []
    for name in models or [cfg.model.name_or_path]:
        model_cfg = OmegaConf.merge(cfg.model, {"name_or_path": name})
        model, tokenizer = load_model(model_cfg)
        base = base or (model, tokenizer)
        evaluation = evaluate(model, tokenizer, test, cfg.eval, rewards, evaluators,
                              perplexity=base_model_scorer(model, tokenizer, lambda: base), desc=f"eval {name}")
        check_headline(headline, evaluation)
        log.info("rlft: %s: %s = %s", name, headline, evaluation.estimate(headline))
        results.append((name, evaluation))
    first = results[0][1]
    doc: dict[str, Any] = {"task": cfg.task.name, "headline": headline, "models": []}
    for name, evaluation in results:
        entry: dict[str, Any] = {"model": name, "metrics": summarise(evaluation)}
        if evaluation is not first:
            entry["delta"] = {m: {**c.delta.as_dict(), "verdict": c.verdict} for m, c in compare(first, evaluation).items()}
        doc["models"].append(entry)
    return doc


def _cell(entry: dict[str, Any] | None, delta: dict[str, Any] | None) -> str:
    return format_ci(entry) + (f" {delta['value']:+.3g} {delta['verdict']}" if entry and delta else "")


def print_side_by_side(doc: dict[str, Any], file: Any = None) -> None:
    """One row per metric, one column per model (value [95% CI], then change vs the first and verdict)."""
    models = doc["models"]
    names = sorted({n for m in models for n in m["metrics"]}, key=lambda n: (n != doc["headline"], n))
    rows = [["metric", *[m["model"] for m in models]]]
    rows += [[("* " if n == doc["headline"] else "  ") + n,
              *[_cell(m["metrics"].get(n), m.get("delta", {}).get(n)) for m in models]] for n in names]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    file = file or sys.stdout
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=file)


@report_errors
def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point of ``python -m core.eval``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides, models = split_argv(list(sys.argv[1:] if argv is None else argv))
    cfg = preflight(overrides, discover())
    if not any(o.startswith("output_dir=") for o in overrides):
        cfg.output_dir = f"outputs/eval/{cfg.task.name}/{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    doc = evaluate_models(cfg, models)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "eval.json", doc)
    print_side_by_side(doc)
    log.info("rlft: wrote %s", out / "eval.json")
    return doc


if __name__ == "__main__":
    main()
