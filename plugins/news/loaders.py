"""News data loaders: JSONL, Hugging Face datasets (Hub id or local files) and E2E NLG CSV.

Every loader returns rows ``{id, kind, facts, references, headline}``: ``facts`` in the
canonical list form (see :func:`plugins.news.facts.normalize_facts`), ``references`` a
non-empty list of texts. A malformed row raises :class:`core.DataError` naming the file and
row; nothing is skipped.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from core import ConfigError, DataError
from core.data import load_hf, load_jsonl
from plugins.news.facts import normalize_facts

__all__ = ["load_table", "load_e2e", "as_references"]


def as_references(value: Any) -> list[str] | None:
    """References as a list of texts (a string or a list of strings); None if malformed.

    >>> as_references("One text.")
    ['One text.']
    >>> as_references(["A.", " ", "B."])
    ['A.', 'B.']
    >>> as_references(3) is None
    True
    """
    if isinstance(value, str):
        return [value.strip()] if value.strip() else None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()] or None
    return None


def _row(raw: dict[str, Any], where: str, need_facts: bool, need_headline: bool, index: int) -> dict[str, Any]:
    refs_value = raw.get("references", raw.get("reference"))
    references = as_references(refs_value)
    if references is None:
        raise DataError(f"{where}: field 'references' (or 'reference') must be a non-empty text or list of "
                        f"texts, got {refs_value!r:.60}; map columns with task.data.columns "
                        f"(fields: {', '.join(sorted(raw))})")
    facts: list[dict[str, str]] = []
    if raw.get("facts") not in (None, "", [], {}) or need_facts:
        try:
            facts = normalize_facts(raw.get("facts"))
        except ValueError as exc:
            raise DataError(f"{where}: field 'facts': {exc} (fields: {', '.join(sorted(raw))})") from None
    headline = raw.get("headline")
    if need_headline and (not isinstance(headline, str) or not headline.strip()):
        raise DataError(f"{where}: headline mode needs a non-empty 'headline' text (fields: {', '.join(sorted(raw))})")
    row_id = raw.get("id") if raw.get("id") is not None else index
    return {"id": str(row_id), "kind": str(raw.get("kind") or "external"), "facts": facts, "references": references,
            "headline": str(headline or "").strip()}


def load_table(source: str, path: str | None, columns: dict[str, str], *, need_facts: bool, need_headline: bool,
               split: str = "train", name: str | None = None, revision: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Rows from JSONL (``source='jsonl'``) or a Hugging Face dataset (``'hf'``); ``columns`` maps
    task columns (facts, references, headline, kind, id) to source columns."""
    if not path:
        raise ConfigError(f"task.data.source={source!r} needs task.data.path")
    if source == "jsonl":
        raw_rows, label, unit = load_jsonl(path, columns=columns, limit=limit), str(Path(path).expanduser()), "line"
    elif source == "hf":
        raw_rows = load_hf(path, split=split, name=name, revision=revision, columns=columns, limit=limit)
        label, unit = f"dataset {path!r} (split {split!r})", "row"
    else:
        raise ConfigError(f"task.data.source={source!r} is not one of: builtin, e2e, jsonl, hf")
    return [_row(raw, f"{label}: {unit} {i}", need_facts, need_headline, i) for i, raw in enumerate(raw_rows, start=1)]


def load_e2e(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Read an E2E NLG challenge CSV (columns ``mr`` and ``ref``); rows with the same meaning
    representation become one item with several references."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    items: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"mr", "ref"} <= set(reader.fieldnames):
            found = ", ".join(reader.fieldnames or [])
            raise DataError(f"{path}: E2E CSV needs the columns 'mr' and 'ref' (found: {found})")
        for i, raw in enumerate(reader, start=2):  # line 1 is the header
            where = f"{path}: line {i}"
            mr, ref = (raw.get("mr") or "").strip(), (raw.get("ref") or "").strip()
            if not mr or not ref:
                raise DataError(f"{where}: empty 'mr' or 'ref'")
            if mr not in items:
                if limit and len(items) >= limit:
                    break
                try:
                    facts = normalize_facts(mr)
                except ValueError as exc:
                    raise DataError(f"{where}: field 'mr': {exc}") from None
                items[mr] = {"id": f"e2e-{len(items)}", "kind": "e2e", "facts": facts, "references": [],
                             "headline": ""}
            items[mr]["references"].append(ref)
    return list(items.values())
