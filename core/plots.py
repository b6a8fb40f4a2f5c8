"""The figures of a run report, as PNG bytes (matplotlib, headless)."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

__all__ = ["reward_curves", "learning_curve"]


def _figure(width: float = 6.0, height: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def reward_curves(train_log: list[dict[str, Any]]) -> bytes | None:
    """Mean training reward per component (``rewards/<name>/mean``) and in total, against step; a step
    where a component scored nothing (null: a multi-task batch without that task's rows) is skipped."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in train_log:
        for key, value in row.items():
            if value is not None and (key == "reward" or (key.startswith("rewards/") and key.endswith("/mean"))):
                series["total" if key == "reward" else key[len("rewards/"):-len("/mean")]].append(
                    (row["step"], float(value)))
    if not series:
        return None
    fig, ax = _figure()
    for name, points in sorted(series.items()):
        ax.plot(*zip(*points), label=name, linewidth=2.2 if name == "total" else 1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("mean training reward")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def learning_curve(curve: list[dict[str, Any]], metric: str) -> bytes | None:
    """Held-out headline metric with its 95% interval against completions generated."""
    if len(curve) < 2:
        return None
    fig, ax = _figure()
    x = [p["completions"] for p in curve]
    ax.plot(x, [p["value"] for p in curve], marker="o", color="#2f6fb0")
    ax.fill_between(x, [p["ci"][0] for p in curve], [p["ci"][1] for p in curve], alpha=0.2, color="#2f6fb0")
    top = ax.secondary_xaxis("top", functions=(lambda c: c, lambda c: c))
    top.set_xticks(x, [str(p["step"]) for p in curve], fontsize=7)
    top.set_xlabel("step", fontsize=8)
    ax.set_xlabel("completions generated")
    ax.set_ylabel(f"held-out {metric}")
    ax.grid(alpha=0.3)
    return _png(fig)
