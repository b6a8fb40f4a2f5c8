"""Run outputs: JSON documents (``metrics.json``) and ``samples.jsonl`` (one row per sample)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["JsonlWriter", "write_json"]


class JsonlWriter:
    """Append rows to a JSONL file, flushing after every batch so a crash loses nothing written.

    The file is created on the first write, so a run that fails early leaves no empty file behind."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: Any = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as JSON lines."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        for row in rows:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (if anything was written)."""
        if self._file is not None:
            self._file.close()


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` as indented JSON, atomically (a temporary file, then a rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
