"""Sentiment classification mode: parse the model's label, reward correctness, report accuracy and macro-F1."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core import Corpus, completion_text, evaluator, reward

__all__ = ["LABELS", "parse_label", "sentiment_label", "classification_metrics", "sentiment_classify"]

LABELS = ("negative", "positive")
_LABEL = re.compile(r"\b(positive|negative)\b", re.I)


def parse_label(text: str) -> str | None:
    """The first of the words ``positive`` / ``negative`` in ``text`` (any case), else None.

    >>> parse_label("Sentiment: Positive."), parse_label("It is negative, not positive"), parse_label("neutral")
    ('positive', 'negative', None)
    """
    found = _LABEL.search(text)
    return found.group(1).lower() if found else None


@reward("sentiment_label", columns=("label",))
def sentiment_label(prompts: Sequence[Any], completions: Sequence[Any], label: Sequence[str], **_: Any) -> list[float]:
    """1.0 when the completion's first label word (positive/negative) is the gold label, else 0.0.

    >>> sentiment_label(["p"] * 3, ["Positive", "negative!", "I am not sure"], label=["positive"] * 3)
    [1.0, 0.0, 0.0]
    """
    return [float(parse_label(completion_text(c)) == gold) for c, gold in zip(completions, label)]


def classification_metrics(predicted: Sequence[str | None], gold: Sequence[str]) -> dict[str, float]:
    """Accuracy, macro-F1 over the gold classes, per-class F1, and the fraction answered with a
    label at all. An unanswered sample counts as wrong (a false negative of its gold class).

    >>> m = classification_metrics(["positive", "positive", None, "negative"],
    ...                            ["positive", "negative", "negative", "negative"])
    >>> m["accuracy"], round(m["f1_positive"], 4), m["f1_negative"], round(m["macro_f1"], 4), m["answered"]
    (0.5, 0.6667, 0.5, 0.5833, 0.75)
    """
    n = max(len(gold), 1)
    out = {"accuracy": sum(p == g for p, g in zip(predicted, gold)) / n,
           "answered": sum(p is not None for p in predicted) / n}
    f1s = []
    for cls in LABELS:
        tp = sum(p == cls and g == cls for p, g in zip(predicted, gold))
        fp = sum(p == cls and g != cls for p, g in zip(predicted, gold))
        fn = sum(p != cls and g == cls for p, g in zip(predicted, gold))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        out[f"f1_{cls}"] = f1
        if cls in gold:
            f1s.append(f1)
    out["macro_f1"] = sum(f1s) / len(f1s) if f1s else 0.0
    return out


@evaluator("sentiment_classify")
def sentiment_classify(prompts: Sequence[Any], completions: Sequence[Any], label: Sequence[str],
                       **_: Any) -> dict[str, Any]:
    """Accuracy and answered fraction (per completion), macro-F1 and per-class F1 (corpus)."""
    pairs = [(parse_label(completion_text(c)), gold) for c, gold in zip(completions, label)]

    def metric(key: str) -> Corpus:
        return Corpus(pairs, lambda items: classification_metrics([p for p, _ in items], [g for _, g in items])[key])

    return {"accuracy": [float(p == g) for p, g in pairs], "answered": [float(p is not None) for p, _ in pairs],
            "macro_f1": metric("macro_f1"), **{f"f1_{cls}": metric(f"f1_{cls}") for cls in LABELS}}
