"""Run outputs: ``metrics.json`` (before/after per metric) and ``samples.jsonl`` (one row per sample)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["JsonlWriter", "write_metrics"]


class JsonlWriter:
    """Append rows to a JSONL file, flushing after every batch so a crash loses nothing written."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as JSON lines."""
        for row in rows:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def write_metrics(path: Path, before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Write ``{"before": ..., "after": ..., "delta": ...}`` and return it."""
    delta = {k: after[k] - before[k] for k in after if k in before}
    metrics = {"before": before, "after": after, "delta": delta}
    Path(path).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return metrics
