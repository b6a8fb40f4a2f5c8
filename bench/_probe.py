"""A plugin the benchmarks load into a child ``python -m core.run`` (``RLFT_PLUGINS=_probe`` with ``bench/`` on
``PYTHONPATH``): after every held-out evaluation (before, every ``eval.every`` steps, after) it appends to
``<output_dir>/probe.jsonl`` one row with

- ``stage`` and ``step`` (0 before training, the final step after it);
- ``train_s``: training seconds up to that evaluation (generation, rewards, updates), held-out evaluations
  excluded; ``wall_s``: seconds since the run started, everything included;
- ``metrics``: for each metric named in ``RLFT_PROBE_METRICS`` (comma-separated; unset: every metric with
  per-sample values) its value, 95% interval and, for a per-sample metric, its per-prompt values (for paired
  comparisons between runs).

The curve ``core.run`` writes (``curve.jsonl``) holds only the headline metric and a wall time that includes
the periodic evaluations; this records any metric, and the time spent training.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from core import hookimpl

METRICS_ENV = "RLFT_PROBE_METRICS"
FILE = "probe.jsonl"


class TrainClock(TrainerCallback):
    """Training time with held-out evaluations taken out.

    A periodic evaluation runs in ``LearningCurve.on_step_end``, after the step's last optimizer step (and,
    in rlft's own loop, its log). The time from the last training event seen (step begin, optimizer step,
    log) to the end of an evaluation is evaluation time and is excluded.
    """

    def __init__(self) -> None:
        self.begin: float | None = None
        self.end: float | None = None
        self.mark = 0.0
        self.excluded = 0.0
        self.final_step = 0

    def _tick(self, *_: Any, **__: Any) -> None:
        self.mark = time.perf_counter()

    on_step_begin = on_optimizer_step = on_log = _tick

    def on_train_begin(self, *_: Any, **__: Any) -> None:
        self.begin = self.mark = time.perf_counter()

    def on_train_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        self.end, self.final_step = time.perf_counter(), state.global_step

    def evaluated(self) -> float:
        """Training seconds up to the evaluation that just ended (whose own time is then excluded)."""
        if self.begin is None:
            return 0.0
        if self.end is not None:
            return self.end - self.begin - self.excluded
        trained = self.mark - self.begin - self.excluded
        self.excluded += time.perf_counter() - self.mark
        return trained


CLOCK = TrainClock()
STARTED = time.perf_counter()


@hookimpl
def rlft_trainer_callbacks(run: Any) -> list[TrainerCallback]:
    return [CLOCK]


@hookimpl
def rlft_evaluated(run: Any, stage: str, metrics: dict[str, float], evaluation: Any) -> None:
    train_s = CLOCK.evaluated()
    if os.environ.get("RANK", "0") != "0":
        return
    wanted = [m for m in os.environ.get(METRICS_ENV, "").split(",") if m]
    missing = [m for m in wanted if m not in evaluation.metrics]
    if missing:
        raise ValueError(f"{METRICS_ENV}: no held-out metric {missing}; this run has {sorted(evaluation.metrics)}")
    names = wanted or [n for n, m in evaluation.metrics.items() if m.values is not None]
    step = 0 if stage == "before" else CLOCK.final_step if stage == "after" else int(stage.removeprefix("step-"))
    row = {"stage": stage, "step": step, "train_s": round(train_s, 2),
           "wall_s": round(time.perf_counter() - STARTED, 2), "metrics": {}}
    for name in names:
        estimate = evaluation.estimate(name)
        row["metrics"][name] = {"value": estimate.value, "ci": [estimate.low, estimate.high]}
        if evaluation.metrics[name].values is not None:
            row["metrics"][name]["per_prompt"] = evaluation.per_prompt(name)
    with open(Path(run.output_dir) / FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
