"""The learning curve (held-out headline metric during training) and the sample-efficiency summary.

With ``eval.every=N`` the :class:`LearningCurve` callback evaluates the policy on the held-out split
every N optimizer steps. Each point records the step, the completions (samples) generated so far,
the wall time and the headline estimate with its interval; points are appended to ``curve.jsonl``
as they come, so a crashed run keeps its curve.

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

__all__ = ["LearningCurve", "sample_efficiency"]


class LearningCurve(TrainerCallback):
    """Evaluate every ``every`` steps with ``evaluate(model, step) -> Estimate`` and record the curve.

    :param completions_per_step: completions generated per optimizer step (all processes).
    :param start: the point measured before training (step 0), if any.
    """

    def __init__(self, every: int, evaluate: Callable[[Any, int], Any], completions_per_step: int,
                 writer: JsonlWriter, start: dict[str, Any] | None = None) -> None:
        self.every, self.evaluate, self.per_step, self.writer = every, evaluate, completions_per_step, writer
        self.points: list[dict[str, Any]] = []
        self.started = time.perf_counter()
        if start is not None:
            self.add(start)

    def add(self, point: dict[str, Any]) -> None:
        """Record one point and append it to the curve file."""
        self.points.append(point)
        self.writer.write([point])

    def point(self, step: int, estimate: Any) -> dict[str, Any]:
        """A curve point for ``estimate`` (an :class:`core.stats.Estimate`) at ``step``."""
        return {"step": step, "completions": step * self.per_step, "wall_s": round(time.perf_counter() - self.started, 2),
                "value": estimate.value, "ci": [estimate.low, estimate.high]}

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        step = state.global_step
        if self.every > 0 and step % self.every == 0 and step < state.max_steps:
            self.add(self.point(step, self.evaluate(model, step)))


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
