"""``python -m core.eval``: held-out metrics of any models on a task, side by side, with intervals.

    python -m core.eval task=qa                                              # the default model
    python -m core.eval task=qa model.name_or_path=outputs/qa/run1/model     # a trained model
    python -m core.eval task=qa model.name_or_path=embedded:smollm2-135m outputs/qa/run1/model outputs/qa/run2/model
    python -m core.eval 'task=[qa,sentiment]' model.name_or_path=outputs/qa+sentiment/run1/model   # several tasks

Every model answers the same held-out prompts with the task's ``eval`` settings. Each metric gets
its 95% interval; every model after the first also gets the paired-bootstrap change against the
first (the base line) and a verdict. Perplexity is measured under the first model. The first model's
completions and their perplexity come from the eval cache when a run or an earlier evaluation made them
with the same settings (``eval.cache``, :mod:`core.eval_cache`: a run's base model is the usual first
model), and are kept there otherwise. The table is
printed and ``eval.json`` written to ``output_dir`` (default ``outputs/eval/<task>/<time>``). With a
task list each task is evaluated on its own held-out split, as ``core.run`` does (:mod:`core.mixture`):
metrics are named ``<task>:<metric>`` and ``headlines`` gives each task's headline.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from core.cli import discover, exit_with_help, preflight, report_errors
from core.context import RunContext
from core.eval_cache import BeforeCache, open_before_cache
from core.evaluate import Evaluation, compare, evaluate
from core.language import BaseModelScorer
from core.memory import prepare_memory
from core.mixture import build_parts, prefixed
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
    """Evaluate each model on the held-out split of the task (of every task of a task list); return the
    ``eval.json`` document."""
    plugins = discover()
    ctx = RunContext(cfg=cfg, output_dir=Path(cfg.output_dir), plugins=plugins)
    parts = build_parts(cfg, ctx, lambda rows: None)  # no samples file: the rewards' rows go nowhere
    ctx.task = parts[0].task
    base: tuple[Any, Any] | None = None
    first_cache: BeforeCache | None = None  # the first model's entry in the eval cache
    results: list[tuple[str, list[Evaluation]]] = []
    for name in models or [cfg.model.name_or_path]:
        model_cfg = OmegaConf.merge(cfg.model, {"name_or_path": name})
        model, tokenizer = load_model(model_cfg)
        cache = None if base else open_before_cache(model, tokenizer, {p.key: list(p.splits["test"]["prompt"])
                                                                          for p in parts}, cfg.eval)
        first_cache = first_cache or cache
        cached = cache.load() if cache is not None else None  # the first model scores itself, as a run's base
        base = base or (model, tokenizer)
        evaluations = []
        for part in parts:
            scorer = BaseModelScorer(model, tokenizer, lambda: base)
            evaluation = evaluate(model, tokenizer, part.splits["test"], cfg.eval, part.rewards, part.evaluators,
                                  perplexity=cache.scorer(part.key, scorer) if cache is not None else scorer,
                                  texts=(cached or {}).get(part.key),
                                  desc=f"eval {name}{' ' + part.key if part.prefix else ''}")
            check_headline(part.headline, evaluation)
            log.info("rlft: %s: %s = %s", name, part.prefix + part.headline, evaluation.estimate(part.headline))
            evaluations.append(prefixed(evaluation, part.prefix))
        if cache is not None and cached is None:
            cache.store({p.key: ev.completions for p, ev in zip(parts, evaluations)})
        results.append((name, evaluations))
    first = results[0][1]
    doc: dict[str, Any] = {"task": cfg.task.name, "headline": parts[0].prefix + parts[0].headline, "models": []}
    if parts[0].prefix:
        doc["headlines"] = {p.key: p.prefix + p.headline for p in parts}
    if first_cache is not None:
        doc["cache"] = first_cache.summary()
    for name, evaluations in results:
        entry: dict[str, Any] = {"model": name, "metrics": {m: v for ev in evaluations for m, v in summarise(ev).items()}}
        if evaluations is not first:
            entry["delta"] = {m: {**c.delta.as_dict(), "verdict": c.verdict}
                              for before, after in zip(first, evaluations) for m, c in compare(before, after).items()}
        doc["models"].append(entry)
    return doc


def _cell(entry: dict[str, Any] | None, delta: dict[str, Any] | None) -> str:
    return format_ci(entry) + (f" {delta['value']:+.3g} {delta['verdict']}" if entry and delta else "")


def print_side_by_side(doc: dict[str, Any], file: Any = None) -> None:
    """One row per metric, one column per model (value [95% CI], then change vs the first and verdict); the
    headline (each task's, with several) first."""
    models = doc["models"]
    heads = set((doc.get("headlines") or {}).values()) or {doc["headline"]}
    names = sorted({n for m in models for n in m["metrics"]}, key=lambda n: (n not in heads, n))
    rows = [["metric", *[m["model"] for m in models]]]
    rows += [[("* " if n in heads else "  ") + n,
              *[_cell(m["metrics"].get(n), m.get("delta", {}).get(n)) for m in models]] for n in names]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    file = file or sys.stdout
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=file)


@report_errors
def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point of ``python -m core.eval``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    exit_with_help(argv, __doc__)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides, models = split_argv(argv)
    prepare_memory()  # before any model loads
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
