"""Data loading shared by tasks: JSONL files and Hugging Face datasets (Hub id or local files),
with column mapping, row validation that names the file and row, and seeded splits."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from core.errors import ConfigError, DataError

__all__ = ["DataConfig", "load_jsonl", "load_hf", "load_external", "validate_rows", "split_rows", "to_splits"]


@dataclass
class DataConfig:
    """Where a task's data comes from (``task.data.*``)."""

    source: str = field(default="builtin", metadata={
        "help": "builtin (the task's offline data), jsonl, hf (Hub id or local dataset dir/files), "
                "or a task-specific format such as squad."})
    path: str | None = field(default=None, metadata={"help": "File path (jsonl, squad) or dataset id/path (hf)."})
    name: str | None = field(default=None, metadata={"help": "hf: dataset configuration name."})
    split: str = field(default="train", metadata={"help": "hf: which split to read before rlft's own split."})
    revision: str | None = field(default=None, metadata={"help": "hf: dataset revision."})
    columns: dict[str, str] = field(default_factory=dict, metadata={
        "help": "Column mapping task_column -> source_column, e.g. {question: query}."})
    test_fraction: float = field(default=0.2, metadata={"help": "Fraction held out for evaluation."})
    limit: int | None = field(default=None, metadata={"help": "Read at most this many rows (None: all)."})


def _rename(row: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    out = dict(row)
    for target, source in columns.items():
        if source in row:
            out[target] = row[source]
    return out


def validate_rows(rows: Sequence[dict[str, Any]], required: Sequence[str], where: str,
                  check: Callable[[dict[str, Any]], str | None] | None = None) -> None:
    """Raise :class:`DataError` naming ``where`` and the row for the first row lacking a required
    field or failing ``check`` (which returns a problem description or None). Never skips rows."""
    for i, row in enumerate(rows, start=1):
        missing = [c for c in required if row.get(c) in (None, "")]
        problem = f"missing or empty field {missing[0]!r}" if missing else (check(row) if check else None)
        if problem:
            raise DataError(f"{where}: row {i}: {problem} (fields: {', '.join(sorted(row)) or 'none'})")


def load_jsonl(path: str | Path, required: Sequence[str] = (), columns: dict[str, str] | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Read a JSONL file (``.gz`` too) of objects; a malformed line is an error naming the file and line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    _check_limit(limit)
    rows: list[dict[str, Any]] = []
    lineno = 0
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                row = _parse_line(raw, path, lineno)
                if row is None:
                    continue
                rows.append(_rename(row, columns or {}))
                if limit is not None and len(rows) >= limit:
                    break
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: truncated or corrupt gzip file after line {lineno} ({exc})") from None
    validate_rows(rows, required, str(path))
    return rows


def _check_limit(limit: int | None) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"task.data.limit={limit!r}: must be null (all rows) or an integer >= 1")


def _parse_line(raw: bytes, path: Path, lineno: int) -> dict[str, Any] | None:
    """One JSONL line as a dict (None for a blank line); bad bytes or JSON name the file and line."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: line {lineno}: not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                        ) from None
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}: line {lineno}: expected a JSON object, got {type(row).__name__}")
    return row


def load_hf(name_or_path: str, *, split: str = "train", name: str | None = None, revision: str | None = None,
            required: Sequence[str] = (), columns: dict[str, str] | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    """Load a dataset with ``datasets.load_dataset``: a Hub id (needs internet) or a local
    directory / data file (json, jsonl, csv, parquet)."""
    from datasets import load_dataset

    _check_limit(limit)
    local = Path(name_or_path).expanduser()
    if local.is_file() and local.name.endswith((".jsonl", ".jsonl.gz")):  # our reader names the exact line of a bad row
        return load_jsonl(local, required, columns, limit)
    try:
        if local.is_file():
            kind = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}.get(local.suffix)
            if kind is None:
                raise ConfigError(f"task.data.path={name_or_path!r}: unsupported file type {local.suffix!r}")
            ds = load_dataset(kind, data_files=str(local), split="train")
        else:
            ds = load_dataset(str(local) if local.is_dir() else name_or_path, name, split=split, revision=revision)
    except (ConfigError, DataError):
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"dataset {name_or_path!r} (split {split!r}) could not be loaded: {first}") from exc
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    rows = [_rename(row, columns or {}) for row in ds]
    validate_rows(rows, required, f"dataset {name_or_path!r}")
    return rows


def load_external(cfg: DataConfig, required: Sequence[str]) -> list[dict[str, Any]]:
    """Rows from ``task.data`` when its source is ``jsonl`` or ``hf``."""
    if not cfg.path:
        raise ConfigError(f"task.data.source={cfg.source!r} needs task.data.path")
    columns = dict(cfg.columns or {})
    if cfg.source == "jsonl":
        return load_jsonl(cfg.path, required, columns, cfg.limit)
    if cfg.source == "hf":
        return load_hf(cfg.path, split=cfg.split, name=cfg.name, revision=cfg.revision, required=required,
                       columns=columns, limit=cfg.limit)
    raise ConfigError(f"task.data.source={cfg.source!r} is not one of: builtin, jsonl, hf")


def split_rows(rows: Sequence[dict[str, Any]], test_fraction: float, seed: int,
               group: Callable[[dict[str, Any]], Any] | None = None) -> tuple[list[dict], list[dict]]:
    """Seeded train/held-out split. With ``group``, rows sharing a group key (e.g. the same
    passage) land on the same side, so nothing of the held-out split leaks into training."""
    if not 0 < test_fraction < 1:
        raise ConfigError(f"task.data.test_fraction={test_fraction} must be between 0 and 1")
    keys = list(dict.fromkeys(group(r) if group else i for i, r in enumerate(rows)))
    if len(keys) < 2:
        what = "group (rows sharing e.g. one passage or topic are held out together)" if group else "row"
        raise DataError(f"only {len(keys)} distinct {what} among {len(rows)} rows: nothing is left to train on "
                        f"after holding out task.data.test_fraction={test_fraction}; the data needs at least 2")
    random.Random(seed).shuffle(keys)
    n_test = min(max(1, round(len(keys) * test_fraction)), len(keys) - 1)
    test_keys = set(keys[:n_test])
    train, test = [], []
    for i, row in enumerate(rows):
        (test if (group(row) if group else i) in test_keys else train).append(row)
    return train, test


def to_splits(train: list[dict[str, Any]], test: list[dict[str, Any]]) -> DatasetDict:
    """Build the ``DatasetDict`` a task returns from two lists of rows."""
    return DatasetDict({"train": Dataset.from_list(train), "test": Dataset.from_list(test)})
