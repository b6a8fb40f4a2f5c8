"""Conversations from JSONL files or Hugging Face datasets, in two shapes.

A row holds either

* ``messages``: a list of ``{role, content}`` (roles system, user, assistant), or
* ``utterances``: a list of strings, alternating user / assistant starting with the user.

If the conversation ends with an assistant turn, that turn becomes the row's ``reference`` reply
and the prompt is everything before it, which must then end with a user turn. A ``reference``
column, when present, is used for conversations that end with the user. Map other column names
with ``task.data.columns``, e.g. ``{messages: conversation}`` or ``{utterances: dialog}``.
"""

from __future__ import annotations

import json
from typing import Any

from core import DataError
from core.data import DataConfig, load_external, validate_rows

__all__ = ["ROLES", "parse_conversation", "load_conversations"]

ROLES = ("system", "user", "assistant")


def _messages(row: dict[str, Any]) -> list[dict[str, str]]:
    if row.get("messages") not in (None, "", []):
        raw = row["messages"]
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ValueError("'messages' is a string that is not a JSON list of messages") from None
        if not isinstance(raw, list):
            raise ValueError(f"'messages' must be a list of {{role, content}}, got {type(raw).__name__}")
        out = []
        for i, m in enumerate(raw, start=1):
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise ValueError(f"message {i} must be {{role: system|user|assistant, content: text}}, got {m!r:.80}")
            out.append({"role": m["role"], "content": m["content"]})
        return out
    if row.get("utterances") not in (None, "", []):
        raw = row["utterances"]
        if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
            raise ValueError("'utterances' must be a list of strings")
        return [{"role": "user" if i % 2 == 0 else "assistant", "content": u} for i, u in enumerate(raw)]
    raise ValueError("no 'messages' or 'utterances' (map your column with task.data.columns)")


def parse_conversation(row: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    """``(prompt messages ending with a user turn, reference reply or "")`` for one row.

    >>> parse_conversation({"utterances": ["Hi!", "Hello, how can I help?", "Tell me a joke.", "Why did..."]})
    ([{'role': 'user', 'content': 'Hi!'}, {'role': 'assistant', 'content': 'Hello, how can I help?'}, \
{'role': 'user', 'content': 'Tell me a joke.'}], 'Why did...')
    """
    messages = _messages(row)
    reference = row.get("reference") or ""
    if messages and messages[-1]["role"] == "assistant":
        reference = messages.pop()["content"]
    if not messages or messages[-1]["role"] != "user":
        raise ValueError("the conversation must end with a user turn (optionally followed by one assistant reply)")
    if not messages[-1]["content"].strip():
        raise ValueError("the last user turn is empty")
    if not isinstance(reference, str):
        raise ValueError(f"'reference' must be text, got {type(reference).__name__}")
    return messages, reference


def _problem(row: dict[str, Any]) -> str | None:
    try:
        parse_conversation(row)
    except ValueError as exc:
        return str(exc)
    return None


def load_conversations(data: DataConfig) -> list[dict[str, Any]]:
    """Rows ``{messages, reference, topic, turns}`` from ``task.data`` (source jsonl or hf).

    A malformed row is an error naming the file (or dataset) and the row; none is skipped.
    ``topic`` (the split group) is the row's ``topic`` column if any (map a conversation id to it
    with ``task.data.columns={topic: dialogue_id}``), else the conversation's opening exchange
    (first user turn and the reply to it, which may be the reference), so the rows a dataset cut
    from one conversation at different depths land on the same side of the split.
    """
    rows = load_external(data, required=())
    where = f"{data.path}" if data.source == "jsonl" else f"dataset {data.path!r}"
    validate_rows(rows, (), where, check=_problem)
    out = []
    for row in rows:
        messages, reference = parse_conversation(row)
        turns = [m["content"] for m in messages if m["role"] != "system"] + [reference]
        opening = json.dumps(turns[:2], ensure_ascii=False)
        out.append({"messages": messages, "reference": reference, "scenario": str(row.get("scenario") or ""),
                    "topic": str(row.get("topic") or opening),
                    "turns": sum(m["role"] == "user" for m in messages)})
    if not out:
        raise DataError(f"{where}: no conversations")
    return out
