"""SQuAD answer scoring: normalization, token F1 and exact match, max over gold answers.

The normalization is the one of the official SQuAD evaluation script: lowercase, drop
punctuation, drop the articles a/an/the, collapse whitespace. An empty gold list, or a gold
answer that normalizes to nothing, means *unanswerable* (SQuAD v2): only an empty prediction
scores there.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

__all__ = ["normalize_answer", "answer_tokens", "token_f1", "exact_match", "best_over_gold", "extract_answer"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lowercase, no punctuation, no articles, single spaces.

    >>> normalize_answer("The  Lorn River!")
    'lorn river'
    >>> normalize_answer("12,400")
    '12400'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    """The normalized tokens of an answer.

    >>> answer_tokens("An old mill, by the river.")
    ['old', 'mill', 'by', 'river']
    """
    return normalize_answer(text).split()


def token_f1(prediction: str, gold: str) -> float:
    """Token-level F1 between a prediction and one gold answer (bag of normalized tokens).

    If either side has no tokens, the score is 1.0 when both are empty and 0.0 otherwise.

    >>> token_f1("in Kelsbury town", "Kelsbury")
    0.5
    >>> token_f1("", "")
    1.0
    >>> token_f1("Kelsbury", "")
    0.0
    """
    pred, ref = answer_tokens(prediction), answer_tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if prediction and gold are equal after normalization, else 0.0.

    >>> exact_match("the Lorn River.", "Lorn river")
    1.0
    >>> exact_match("Lorn", "Lorn River")
    0.0
    """
    return float(normalize_answer(prediction) == normalize_answer(gold))


def best_over_gold(metric: Callable[[str, str], float], prediction: str, golds: Sequence[str]) -> float:
    """The best ``metric(prediction, gold)`` over the gold answers (``[]`` means unanswerable).

    >>> best_over_gold(token_f1, "three", ["3", "three"])
    1.0
    >>> best_over_gold(exact_match, "", [])
    1.0
    """
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(metric(prediction, g) for g in golds)


def extract_answer(text: str, first_line: bool = True, no_answer_text: str | None = None) -> str:
    """The answer part of a completion: its first non-empty line (if ``first_line``), and
    ``""`` when it says ``no_answer_text`` (the abstention phrase of unanswerable questions).

    >>> extract_answer("Kelsbury.\\nIt is a town.")
    'Kelsbury.'
    >>> extract_answer("Unanswerable.", no_answer_text="unanswerable")
    ''
    """
    if first_line:
        text = next((line for line in text.splitlines() if line.strip()), "")
    text = text.strip()
    if no_answer_text and normalize_answer(text) == normalize_answer(no_answer_text):
        return ""
    return text
