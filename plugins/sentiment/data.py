"""Sentiment data sources: JSONL and Hugging Face datasets (with column mapping), GLUE/SST-2 style TSV
files and IMDB's ``pos/`` + ``neg/`` folders, all giving rows ``{text, label}``."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core import ConfigError, DataError
from core.data import DataConfig, load_external

__all__ = ["normalise_label", "load_texts", "read_tsv", "read_imdb_dir", "SOURCES"]

SOURCES = ("builtin", "jsonl", "hf", "tsv", "imdb")
_BUILTIN_LABELS = {"1": "positive", "pos": "positive", "positive": "positive", "true": "positive",
                   "0": "negative", "neg": "negative", "negative": "negative", "false": "negative"}


def normalise_label(value: Any, label_map: Mapping[str, str] | None = None) -> str | None:
    """``positive`` / ``negative`` for a raw label (1/0, pos/neg, positive/negative, any case, or a
    ``label_map`` entry keyed by the raw value as text); None when it is none of these.

    >>> normalise_label(1), normalise_label("NEG"), normalise_label("LABEL_1", {"LABEL_1": "positive"})
    ('positive', 'negative', 'positive')
    >>> normalise_label("neutral") is None
    True
    """
    key = str(value).strip()
    if label_map and key in label_map:
        mapped = str(label_map[key]).lower()
        return mapped if mapped in ("positive", "negative") else None
    return _BUILTIN_LABELS.get(key.lower())


def read_tsv(path: str | Path, columns: Mapping[str, str] | None = None, limit: int | None = None) -> list[dict]:
    """Rows of a tab-separated file with a header (GLUE SST-2: ``sentence<TAB>label``); ``sentence``
    is read as ``text`` unless ``columns`` maps ``text`` elsewhere. A short row names file and line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    columns = {"text": "sentence", **dict(columns or {})}
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: empty file (expected a header row such as 'sentence<TAB>label')")
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise DataError(f"{path}: line {reader.line_num}: {len(record)} fields, the header has "
                                f"{len(header)} ({', '.join(header)})")
            row = dict(zip(header, record))
            for target, source in columns.items():
                if source in row:
                    row[target] = row[source]
            rows.append(row)
            if limit and len(rows) >= limit:
                break
    return rows


def read_imdb_dir(path: str | Path, split: str = "train", limit: int | None = None) -> list[dict]:
    """Reviews from IMDB's layout (aclImdb): ``<path>/pos/*.txt`` and ``<path>/neg/*.txt``, or the same
    under ``<path>/<split>/``. Files are read in name order, positive and negative alternating."""
    root = Path(path).expanduser()
    if not (root / "pos").is_dir() and (root / split / "pos").is_dir():
        root = root / split
    if not (root / "pos").is_dir() or not (root / "neg").is_dir():
        raise DataError(f"{path}: expected the folders pos/ and neg/ (or {split}/pos and {split}/neg) of .txt reviews")
    files = {label: sorted((root / label[:3]).glob("*.txt")) for label in ("positive", "negative")}
    rows = []
    for pair in zip(files["positive"], files["negative"]):
        for file, label in zip(pair, ("positive", "negative")):
            text = file.read_text(encoding="utf-8", errors="replace").replace("<br />", " ").strip()
            if not text:
                raise DataError(f"{file}: empty review")
            rows.append({"text": text, "label": label})
        if limit and len(rows) >= limit:
            break
    return rows[:limit] if limit else rows


def load_texts(data: DataConfig, need_label: bool, label_map: Mapping[str, str] | None = None) -> list[dict]:
    """Rows ``{text, label}`` (label ``positive``/``negative``, or None when not needed) from ``task.data``;
    a missing text or an unknown label is an error naming the source and the row."""
    required = ("text", "label") if need_label else ("text",)
    where = data.path or ""
    if data.source in ("jsonl", "hf"):
        rows = load_external(data, required)
        where = data.path if data.source == "jsonl" else f"dataset {data.path!r}"
    elif data.source in ("tsv", "imdb"):
        if not data.path:
            raise ConfigError(f"task.data.source={data.source} needs task.data.path")
        rows = (read_tsv(data.path, data.columns, data.limit) if data.source == "tsv"
                else read_imdb_dir(data.path, data.split, data.limit))
    else:
        raise ConfigError(f"task.data.source={data.source!r} is not one of: {', '.join(SOURCES)}")
    out = []
    for i, row in enumerate(rows, start=1):
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: row {i}: missing or empty field 'text' (fields: {', '.join(sorted(row))})")
        label = None
        if need_label:
            label = normalise_label(row.get("label"), label_map)
            if label is None:
                raise DataError(f"{where}: row {i}: label {row.get('label')!r} is not positive/negative "
                                f"(1/0, pos/neg); map other values with task.label_map")
        out.append({"text": text.strip(), "label": label})
    if not out:
        raise DataError(f"{where}: no rows")
    return out
