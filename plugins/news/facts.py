"""Facts and the numbers in a text: kinds, coverage and contradictions.

A fact is ``{"name", "value", "kind"}`` with string fields, e.g. ``{"name": "high",
"value": "24°C", "kind": "temperature"}``. The numbers of a text are found with their *kind*
from the surrounding unit (``°C`` -> temperature, ``%`` -> percent, ``$ ... million`` -> money,
``3-1`` -> score...). A number in a text *contradicts* the facts when the facts hold values
of the same kind and the number matches none of them, allowing for the rounding its written
precision implies (``54%`` agrees with ``54.2%``; ``54.25%`` does not). Coverage is stricter:
a fact is covered only by its value at the fact's own precision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Quantity", "quantities", "fact_quantities", "normalize_facts", "parse_mr", "covered",
           "coverage", "contradictions", "KINDS"]

_NUM = r"\d[\d,]*(?:\.\d+)?"
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9}
_CURRENCY = r"(?:dollars?|euros?|pounds?|usd|eur|gbp)"
_SCALE = r"(?P<scale>thousand|million|billion|bn|mn|m|k|b)"
_SPEED = r"(?:km/h|kph|mph|kilomet(?:re|er)s?\s+per\s+hour|miles\s+per\s+hour)"
_FREE = r"(?<![\w.])"  # a number not glued to a word or a decimal point
# (kind, pattern) in priority order: a span taken by an earlier kind is not read again.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("money", re.compile(rf"[$€£]\s?(?P<num>{_NUM})(?:\s?{_SCALE}\b)?", re.I)),
    ("money", re.compile(rf"{_FREE}(?P<num>{_NUM})\s?(?:{_SCALE}\s+)?{_CURRENCY}\b", re.I)),
    ("temperature", re.compile(rf"{_FREE}(?P<sign>[-−]|minus\s+)?(?P<num>{_NUM})\s?(?:°\s?[cf]?|degrees?\b)", re.I)),
    ("percent", re.compile(rf"{_FREE}(?P<num>{_NUM})\s?(?:%|percent\b|per\s+cent\b)", re.I)),
    ("speed", re.compile(rf"{_FREE}(?P<num>{_NUM})\s?{_SPEED}", re.I)),
    ("votes", re.compile(rf"{_FREE}(?P<num>{_NUM})\s+votes\b", re.I)),
    ("attendance", re.compile(rf"{_FREE}(?P<num>{_NUM})\s+(?:fans|spectators|supporters)\b", re.I)),
    ("score", re.compile(r"(?<![\w.,:/-])(?P<a>\d{1,2})\s?[-–]\s?(?P<b>\d{1,2})(?![\w.,:/-]*\d|\s?(?:°|%))")),
]
KINDS = tuple(dict.fromkeys(k for k, _ in _PATTERNS))
"""Number kinds recognized in text: money, temperature, percent, speed, votes, attendance, score."""
_NAME_KINDS = (("score", "score"), ("goals", "score"), ("temp", "temperature"), ("percent", "percent"),
               ("share", "percent"), ("turnout", "percent"), ("chance", "percent"), ("votes", "votes"),
               ("attendance", "attendance"), ("crowd", "attendance"), ("wind", "speed"))


@dataclass(frozen=True)
class Quantity:
    """A number of some kind with the tolerance its written precision implies (half a unit
    of its last digit). Scores are pairs: ``value`` is the sorted pair."""

    kind: str
    value: Any
    tolerance: float = 0.0

    def agrees(self, other: Quantity) -> bool:
        """Same kind and equal within this quantity's tolerance.

        >>> Quantity("percent", 54.0, 0.5).agrees(Quantity("percent", 54.2))
        True
        >>> Quantity("percent", 54.25, 0.005).agrees(Quantity("percent", 54.2))
        False
        """
        if self.kind != other.kind:
            return False
        if self.kind == "score":
            return self.value == other.value
        return abs(self.value - other.value) <= self.tolerance + 1e-9 * max(1.0, abs(self.value))


def _number(text: str, scale: float = 1.0, negative: bool = False) -> tuple[float, float]:
    """Value and tolerance of a written number: half a unit of its last digit; an integer of
    1,000 or more may be rounded to its trailing zeros (``12,000`` stands for 11,500-12,500)."""
    digits = text.replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value = float(digits) * scale * (-1 if negative else 1)
    step = 10.0 ** -decimals
    if not decimals and int(digits) >= 1000:
        step = 10.0 ** (len(digits) - len(digits.rstrip("0")))
    return value, 0.5 * step * scale


def _scan(text: str) -> list[tuple[int, int, Quantity]]:
    found: list[tuple[int, int, Quantity]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end, _ in found):
                continue
            if kind == "score":
                q = Quantity("score", tuple(sorted((int(m["a"]), int(m["b"])))))
            else:
                scale = _SCALES.get((m.groupdict().get("scale") or "").lower(), 1.0)
                value, tol = _number(m["num"], scale, bool(m.groupdict().get("sign")))
                q = Quantity(kind, value, tol)
            found.append((m.start(), m.end(), q))
    return sorted(found, key=lambda f: f[0])


def quantities(text: str) -> list[Quantity]:
    """The numbers of known kinds in ``text``, in reading order.

    >>> [(q.kind, q.value) for q in quantities("Rovers won 3-1; high of 24°C, revenue $4.2 million, up 12%.")]
    [('score', (1, 3)), ('temperature', 24.0), ('money', 4200000.0), ('percent', 12.0)]
    >>> [(q.kind, q.value) for q in quantities("A low of minus 3 degrees and 20 km/h winds in 2024-25.")]
    [('temperature', -3.0), ('speed', 20.0)]
    """
    return [q for _, _, q in _scan(text)]


def _bare_numbers(text: str) -> list[tuple[float, float]]:
    return [_number(m.group(0)) for m in re.finditer(rf"(?<![\w.]){_NUM}(?![\w])", text)]


def fact_quantities(fact: dict[str, Any]) -> list[Quantity]:
    """The quantities a fact states: those found in its value, or for a bare number, the
    number with the fact's ``kind`` (or a kind guessed from its name, e.g. ``home_score``).

    >>> fact_quantities({"name": "home_score", "value": "3", "kind": "score"})
    [Quantity(kind='score', value=3.0, tolerance=0.5)]
    >>> fact_quantities({"name": "revenue", "value": "$4.2 million", "kind": ""})
    [Quantity(kind='money', value=4200000.0, tolerance=50000.0)]
    """
    value = str(fact.get("value", ""))
    found = quantities(value)
    if found:
        return found
    kind = fact.get("kind") or next((k for key, k in _NAME_KINDS if key in str(fact.get("name", "")).lower()), "")
    numbers = _bare_numbers(value)
    if kind in KINDS and len(numbers) == 1 and value.strip().replace(",", "").lstrip("-").replace(".", "", 1).isdigit():
        return [Quantity(kind, numbers[0][0], numbers[0][1])]
    return []


def parse_mr(text: str) -> list[dict[str, str]]:
    """Facts from an E2E-style meaning representation ``name[value], name[value]``.

    >>> parse_mr("name[The Eagle], food[Fast food, Italian]")
    [{'name': 'name', 'value': 'The Eagle', 'kind': ''}, {'name': 'food', 'value': 'Fast food, Italian', 'kind': ''}]
    """
    item = r"\s*([^,\[\]]+?)\s*\[([^\]]*)\]\s*"
    if not re.fullmatch(rf"(?:{item},)*{item}", text):
        raise ValueError(f"not a meaning representation of the form name[value], ...: {text[:60]!r}")
    return [{"name": k.strip(), "value": v.strip(), "kind": ""} for k, v in re.findall(item, text)]


def normalize_facts(value: Any) -> list[dict[str, str]]:
    """Facts in the canonical list form, from a list of ``{name, value[, kind]}``, a mapping
    ``name -> value`` or an E2E meaning-representation string. Raises ValueError if malformed.

    >>> normalize_facts({"home_score": 3, "city": "Kelsbury"})
    [{'name': 'home_score', 'value': '3', 'kind': ''}, {'name': 'city', 'value': 'Kelsbury', 'kind': ''}]
    """
    if isinstance(value, str):
        return parse_mr(value)
    if isinstance(value, dict):
        value = [{"name": k, "value": v} for k, v in value.items()]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("facts must be a non-empty list of {name, value} objects, a mapping or 'name[value], ...'")
    out = []
    for i, fact in enumerate(value):
        if not isinstance(fact, dict) or "value" not in fact or fact["value"] in (None, "") \
                or isinstance(fact["value"], (dict, list)):
            raise ValueError(f"fact {i + 1} must be an object with a non-empty scalar 'value'")
        out.append({"name": str(fact.get("name") or f"fact {i + 1}"), "value": str(fact["value"]),
                    "kind": str(fact.get("kind") or "")})
    return out


def _norm_words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^\w%°$€£.]+|(?<!\d)\.|\.(?!\d)", " ", text.lower()).split()) + " "


def covered(fact: dict[str, Any], text: str) -> bool:
    """Whether the text states the fact's value: every number it holds appears at the fact's
    precision (same kind, or as the bare number: ``54%`` does not state ``54.2%``), and a value
    without numbers appears as whole words, in any case.

    >>> covered({"name": "high", "value": "24°C", "kind": "temperature"}, "A high of 24 degrees.")
    True
    >>> covered({"name": "home_team", "value": "Kelsbury Rovers", "kind": ""}, "kelsbury rovers won")
    True
    >>> covered({"name": "home_team", "value": "Kelsbury Rovers", "kind": ""}, "Kelsbury won")
    False
    """
    wanted = fact_quantities(fact)
    if not wanted:
        return _norm_words(str(fact.get("value", ""))) in _norm_words(text)
    found = quantities(text)
    bare = _bare_numbers(text)
    for want in wanted:
        if isinstance(want.value, tuple):  # a fact holding a whole score, e.g. "3-1"
            ok = any(want.agrees(q) for q in found)
        else:
            if want.kind == "score":  # one side of an a-b score in the text
                ok = any(q.kind == "score" and want.value in q.value for q in found)
            else:
                ok = any(want.agrees(q) for q in found)
            # the bare number also counts as stating it
            ok = ok or any(abs(v - want.value) <= want.tolerance + 1e-9 for v, _ in bare)
        if not ok:
            return False
    return True


def coverage(facts: list[dict[str, Any]], text: str) -> float:
    """Fraction of facts :func:`covered` by the text (1.0 when there are no facts).

    >>> coverage([{"name": "a", "value": "3", "kind": "score"}, {"name": "b", "value": "Rovers"}], "Rovers 2-0")
    0.5
    """
    return sum(covered(f, text) for f in facts) / len(facts) if facts else 1.0


def contradictions(facts: list[dict[str, Any]], text: str) -> tuple[int, int]:
    """``(contradicted, checked)``: numbers in the text whose kind the facts also state
    (checked), and those matching no fact value of that kind (contradicted). A score ``a-b``
    is checked against the pair of score facts, in either order.

    >>> facts = [{"name": "home_score", "value": "3", "kind": "score"},
    ...          {"name": "away_score", "value": "1", "kind": "score"},
    ...          {"name": "high", "value": "24°C", "kind": "temperature"}]
    >>> contradictions(facts, "Rovers won 3-1 at 24°C.")
    (0, 2)
    >>> contradictions(facts, "Rovers won 3-2 at 25°C with 40% rain.")
    (2, 2)
    """
    stated: dict[str, list[Quantity]] = {}
    for fact in facts:
        for q in fact_quantities(fact):
            stated.setdefault(q.kind, []).append(q)
    pairs = [q.value for q in stated.get("score", []) if isinstance(q.value, tuple)]
    singles = [int(q.value) for q in stated.get("score", []) if not isinstance(q.value, tuple)]
    if not pairs and len(singles) == 2:  # home and away score: the text's a-b must be that pair
        pairs, singles = [tuple(sorted(singles))], []
    checked = contradicted = 0
    for q in quantities(text):
        if q.kind == "score":
            if not pairs and not singles:
                continue
            ok = q.value in pairs or bool(singles and set(q.value) <= set(singles))
        elif stated.get(q.kind):
            ok = any(q.agrees(s) for s in stated[q.kind])
        else:
            continue
        checked += 1
        contradicted += not ok
    return contradicted, checked
