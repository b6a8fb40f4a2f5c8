"""The learning curve (held-out headline metric during training) and the sample-efficiency summary.

With ``eval.every=N`` the :class:`LearningCurve` callback evaluates the policy on the held-out split
every N optimizer steps. Each point records the step, the completions (samples) generated so far,
the wall time and the headline estimate with its interval (in a multi-task run, every task's headline);
points are appended to ``curve.jsonl`` as they come, so a crashed run keeps its curve and a resumed one
continues it.

:func:`sample_efficiency` reads a curve: how many completions it took to reach 50% and 90% of the
final gain (linearly interpolated between evaluations), the mission's measure of sample efficiency.

>>> points = [{"step": 0, "completions": 0, "value": 0.2}, {"step": 4, "completions": 64, "value": 0.5},
...           {"step": 8, "completions": 128, "value": 0.6}]
>>> sample_efficiency(points)["completions_to_50%"], sample_efficiency(points)["completions_to_90%"]
(42.7, 102.4)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from core.outputs import JsonlWriter

__all__ = ["LearningCurve", "series", "sample_efficiency"]


class LearningCurve(TrainerCallback):
    """Evaluate every ``every`` steps with ``evaluate(model, step) -> {metric: Estimate}`` and record the curve.

    The first metric leads (a point's ``value`` and ``ci``); with several (a multi-task run's headlines,
    ``<task>:<metric>``) every point also carries each one's ``{"value", "ci"}`` under ``metrics``.

    :param completions_per_step: completions generated per optimizer step (all processes).
    :param points: the points the run already has (a resumed run's, read back from ``curve.jsonl``): kept,
        not written again; the wall clock continues from the last one's ``wall_s``.
    """

    def __init__(self, every: int, evaluate: Callable[[Any, int], dict[str, Any]], completions_per_step: int,
                 writer: JsonlWriter, points: list[dict[str, Any]] | None = None) -> None:
        self.every, self.evaluate, self.per_step, self.writer = every, evaluate, completions_per_step, writer
        self.points: list[dict[str, Any]] = list(points or [])
        self.started = time.perf_counter() - (self.points[-1].get("wall_s", 0.0) if self.points else 0.0)

    def add(self, point: dict[str, Any]) -> None:
        """Record one point and append it to the curve file."""
        self.points.append(point)
        self.writer.write([point])

    def point(self, step: int, estimates: dict[str, Any]) -> dict[str, Any]:
        """A curve point at ``step`` for ``{metric: Estimate}`` (:class:`core.stats.Estimate`, the lead first)."""
        lead = next(iter(estimates.values()))
        point = {"step": step, "completions": step * self.per_step,
                 "wall_s": round(time.perf_counter() - self.started, 2), "value": lead.value, "ci": [lead.low, lead.high]}
        if len(estimates) > 1:
            point["metrics"] = {name: {"value": e.value, "ci": [e.low, e.high]} for name, e in estimates.items()}
        return point

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        step = state.global_step
        if self.every > 0 and step % self.every == 0 and step < state.max_steps:
            self.add(self.point(step, self.evaluate(model, step)))


def series(points: list[dict[str, Any]], metric: str | None = None) -> list[dict[str, Any]]:
    """The curve of one metric of a multi-metric curve (its ``value`` and ``ci`` in every point); the
    lead's for None or a curve without per-metric values."""
    return [{**p, **p["metrics"][metric]} if metric is not None and metric in p.get("metrics", {}) else p
            for p in points]


def _crossing(points: list[dict[str, Any]], target: float) -> float | None:
    """Completions at which the curve first reaches ``target`` (interpolated), or None."""
    for prev, cur in zip(points, points[1:]):
        if cur["value"] >= target:
            span = cur["value"] - prev["value"]
            frac = 1.0 if span <= 0 or prev["value"] >= target else (target - prev["value"]) / span
            return round(prev["completions"] + frac * (cur["completions"] - prev["completions"]), 1)
    return None


def sample_efficiency(points: list[dict[str, Any]], direction: str = "higher") -> dict[str, Any]:
    """Completions needed to reach 50% and 90% of the final gain (None where there is no gain).

    Needs a point between the first and the last (``eval.every``); otherwise returns ``{}``.
    """
    if len(points) < 3:
        return {}
    sign = -1.0 if direction == "lower" else 1.0
    oriented = [{**p, "value": sign * p["value"]} for p in points]
    first, final = oriented[0]["value"], oriented[-1]["value"]
    gain = final - first
    summary: dict[str, Any] = {"final_gain": sign * gain, "completions": points[-1]["completions"]}
    for share in (0.5, 0.9):
        key = f"completions_to_{share:.0%}"
        summary[key] = _crossing(oriented, first + share * gain) if gain > 0 else None
    return summary
