"""QA data loaders: SQuAD v1.1/v2 JSON, JSONL and Hugging Face datasets (Hub id or local files).

Every loader returns rows ``{id, context, question, answers, where}`` where ``answers`` is a
list of gold strings (``[]`` for an unanswerable question) and ``where`` names the file and
row for error messages. Malformed rows raise :class:`core.DataError`; nothing is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core import ConfigError, DataError
from core.data import load_hf, load_jsonl

__all__ = ["load_squad", "load_table", "as_answers", "get_path", "UNANSWERABLE_MODES", "apply_unanswerable"]

UNANSWERABLE_MODES = ("empty", "error")


def as_answers(value: Any) -> list[str] | None:
    """Gold answers from the shapes datasets use; None if the shape is not understood.

    >>> as_answers({"text": ["Kelsbury", "Kelsbury town"], "answer_start": [3, 3]})
    ['Kelsbury', 'Kelsbury town']
    >>> as_answers([{"text": "1962", "answer_start": 9}])
    ['1962']
    >>> as_answers("")
    []
    >>> as_answers(1962)
    ['1962']
    >>> as_answers({"start": 3}) is None
    True
    """
    if isinstance(value, dict):
        value = value.get("text")
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            item = item.get("text") if isinstance(item, dict) else item
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                return None
            if item.strip() and item.strip() not in out:
                out.append(item.strip())
        return out
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    return None


def get_path(row: dict[str, Any], path: str) -> Any:
    """``row[a][b]`` for ``path='a.b'`` (a column mapping may point inside a nested column).

    >>> get_path({"answers": {"text": ["x"]}}, "answers.text")
    ['x']
    >>> get_path({"a": 1}, "b") is None
    True
    """
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _squad_error(where: str, problem: str) -> DataError:
    return DataError(f"{where}: {problem}")


def load_squad(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Read a SQuAD v1.1 or v2.0 JSON file (``{"data": [{"paragraphs": [{"context", "qas"}]}]}``).

    v2 questions marked ``is_impossible`` (or with no answers) get ``answers=[]``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        hint = " - one object per line is JSONL: use task.data.source=jsonl" if exc.msg == "Extra data" else ""
        raise DataError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg}){hint}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{path}: not SQuAD JSON (expected an object with a 'data' list of articles)")
    rows: list[dict[str, Any]] = []
    for a, article in enumerate(doc["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise _squad_error(f"{path}: data[{a}]", "article has no 'paragraphs' list")
        for p, para in enumerate(paragraphs):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            context = para.get("context") if isinstance(para, dict) else None
            if not isinstance(context, str) or not context.strip() or not isinstance(para.get("qas"), list):
                raise _squad_error(where, "paragraph needs a non-empty 'context' string and a 'qas' list")
            for q, qa in enumerate(para["qas"]):
                qid = qa.get("id", f"{a}-{p}-{q}") if isinstance(qa, dict) else None
                here = f"{where}.qas[{q}] (id {qid!r})"
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or not qa["question"].strip():
                    raise _squad_error(here, "question needs a non-empty 'question' string")
                answers = as_answers(qa.get("answers", []))
                if answers is None:
                    raise _squad_error(here, "'answers' must be a list of {text, answer_start} objects")
                if qa.get("is_impossible") and answers:
                    raise _squad_error(here, "is_impossible is true but 'answers' is not empty")
                rows.append({"id": str(qid), "context": context, "question": qa["question"].strip(),
                             "answers": answers, "where": here})
                if limit and len(rows) >= limit:
                    return rows
    return rows


def load_table(source: str, path: str | None, columns: dict[str, str], *, split: str = "train",
               name: str | None = None, revision: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows from a JSONL file (``source='jsonl'``) or a Hugging Face dataset (``'hf'``: Hub id,
    local dataset directory or data file). ``columns`` maps task columns (context, question,
    answers) to source columns, dotted paths allowed (``answers: answers.text``). Answers may be
    a string, a list of strings, or SQuAD's ``{"text": [...], "answer_start": [...]}``."""
    if not path:
        raise ConfigError(f"task.data.source={source!r} needs task.data.path")
    if source == "jsonl":
        raw, label = load_jsonl(path, limit=limit), str(Path(path).expanduser())
        row_word = "line"
    elif source == "hf":
        raw = load_hf(path, split=split, name=name, revision=revision, limit=limit)
        label, row_word = f"dataset {path!r} (split {split!r})", "row"
    else:
        raise ConfigError(f"task.data.source={source!r} is not one of: builtin, squad, jsonl, hf")
    mapping = {"context": "context", "question": "question", "answers": "answers", "id": "id", **dict(columns)}
    rows = []
    for i, row in enumerate(raw, start=1):
        where = f"{label}: {row_word} {i}"
        out = {key: get_path(row, src) for key, src in mapping.items()}
        if out["answers"] is None and "answers" not in columns and "answer" in row:
            out["answers"] = row["answer"]
        for key in ("context", "question", "answers"):
            if out[key] is None or (key != "answers" and not str(out[key]).strip()):
                raise DataError(f"{where}: missing or empty field {mapping[key]!r} (fields: "
                                f"{', '.join(sorted(row))}); map columns with task.data.columns")
            if key != "answers" and not isinstance(out[key], str):
                raise DataError(f"{where}: field {mapping[key]!r} must be a string, got {type(out[key]).__name__}")
        answers = as_answers(out["answers"])
        if answers is None:
            raise DataError(f"{where}: field {mapping['answers']!r} must be a string, a list of strings or "
                            f"{{text: [...]}}, got {type(out['answers']).__name__}")
        rows.append({"id": str(out["id"] if out["id"] is not None else i), "context": out["context"].strip(),
                     "question": out["question"].strip(), "answers": answers, "where": where})
    return rows


def apply_unanswerable(rows: list[dict[str, Any]], mode: str) -> int:
    """Apply ``task.unanswerable`` to rows with no gold answer and return how many there are.

    ``empty``: keep them with ``answers=[]`` (the SQuAD v2 convention: only abstaining scores);
    ``error``: refuse, naming the first one.
    """
    if mode not in UNANSWERABLE_MODES:
        raise ConfigError(f"task.unanswerable={mode!r} is not one of: {', '.join(UNANSWERABLE_MODES)}")
    empty = [r for r in rows if not r["answers"]]
    if empty and mode == "error":
        raise DataError(f"{empty[0]['where']}: unanswerable question (no gold answer; {len(empty)} such rows); "
                        f"set task.unanswerable=empty to keep them (the model should reply the no-answer phrase)")
    return len(empty)
