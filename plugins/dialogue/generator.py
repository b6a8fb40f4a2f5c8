"""The dialogue task's built-in data: seeded multi-turn conversations from scenario templates.

``scenarios.yaml`` (beside this file) holds ten everyday scenarios (travel, cooking, tech support,
...), each with ten topics. A conversation opens with a user question about one topic, gets an
assistant reply, continues with zero or more follow-up exchanges and ends with a user question;
the template answer to that last question is kept as the row's ``reference`` reply.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import yaml

__all__ = ["SCENARIO_FILE", "load_scenarios", "generate_conversations"]

SCENARIO_FILE = Path(__file__).resolve().parent / "scenarios.yaml"
_FIELDS = ("topics", "details", "openers", "replies", "followups")


@functools.lru_cache(maxsize=4)
def _read(path: str) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for name, scenario in data.items():
        missing = [f for f in _FIELDS if not scenario.get(f)]
        if missing:
            raise ValueError(f"{path}: scenario {name!r} lacks {missing[0]!r}")
    return data


def load_scenarios(path: str | Path = SCENARIO_FILE) -> dict[str, Any]:
    """The scenario templates: name -> {topics, details, openers, replies, followups}."""
    return _read(str(path))


def _fill(template: str, topic: str, detail: str) -> str:
    text = template.format(topic=topic, detail=detail)
    return text[:1].upper() + text[1:]


def generate_conversations(n: int, seed: int, max_user_turns: int = 3,
                           scenarios: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """``n`` distinct conversations (fewer only if the templates run out), each a dict with
    ``messages`` (ending with a user turn), ``reference`` (a template reply to it), ``scenario``,
    ``topic`` (``scenario/topic``, the unit of the held-out split) and ``turns`` (user turns).

    >>> rows = generate_conversations(3, seed=0)
    >>> [r["messages"][-1]["role"] for r in rows], rows == generate_conversations(3, seed=0)
    (['user', 'user', 'user'], True)
    """
    scenarios = scenarios or load_scenarios()
    longest = min(len(s["followups"]) for s in scenarios.values()) + 1
    if not 1 <= max_user_turns <= longest:
        raise ValueError(f"max_user_turns must be between 1 and {longest}, got {max_user_turns}")
    rng = random.Random(seed)
    names = sorted(scenarios)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(n * 20):
        if len(rows) >= n:
            break
        name = rng.choice(names)
        sc = scenarios[name]
        topic, detail = rng.choice(sc["topics"]), rng.choice(sc["details"])
        turns = rng.randint(1, max_user_turns)
        messages = [{"role": "user", "content": _fill(rng.choice(sc["openers"]), topic, detail)}]
        reply = _fill(rng.choice(sc["replies"]), topic, detail)
        if turns == 1:
            reference = reply
        else:
            exchanges = rng.sample(sc["followups"], turns - 1)
            messages.append({"role": "assistant", "content": reply})
            for question, answer in exchanges[:-1]:
                messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            messages.append({"role": "user", "content": exchanges[-1][0]})
            reference = exchanges[-1][1]
        key = json.dumps(messages)
        if key in seen:
            continue
        seen.add(key)
        rows.append({"messages": messages, "reference": reference, "scenario": name, "topic": f"{name}/{topic}",
                     "turns": turns})
    return rows
