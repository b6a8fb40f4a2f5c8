"""VADER sentiment reward and evaluator."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from core import completion_text, evaluator, reward

__all__ = ["vader_compound", "vader_sentiment", "sentiment_stats", "POSITIVE_THRESHOLD"]

POSITIVE_THRESHOLD = 0.05  # VADER's documented cut-off between neutral and positive/negative


@functools.lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound score of ``text`` in [-1, 1] (0 for empty text).

    >>> vader_compound("I love this wonderful day!") > 0.5
    True
    >>> vader_compound("")
    0.0
    """
    return float(_analyzer().polarity_scores(text)["compound"]) if text.strip() else 0.0


def _sign(polarity: str | None) -> float:
    if polarity in (None, "positive"):
        return 1.0
    if polarity == "negative":
        return -1.0
    raise ValueError(f"polarity must be 'positive' or 'negative', got {polarity!r}")


@reward("vader_sentiment", columns=("polarity",))
def vader_sentiment(prompts: Sequence[Any], completions: Sequence[Any], polarity: Sequence[str] | None = None,
                    **_: Any) -> list[float]:
    """VADER compound score signed towards each row's target polarity, in [-1, 1].

    >>> vader_sentiment(["p", "p"], ["What a great day!", "What a great day!"], polarity=["positive", "negative"])
    [0.6588, -0.6588]
    """
    targets = polarity or ["positive"] * len(completions)
    return [_sign(t) * vader_compound(completion_text(c)) for c, t in zip(completions, targets)]


@evaluator("sentiment")
def sentiment_stats(prompts: Sequence[Any], completions: Sequence[Any], polarity: Sequence[str] | None = None,
                    **_: Any) -> dict[str, float]:
    """Mean VADER compound, positive/negative fractions, and the fraction on the target polarity."""
    targets = polarity or ["positive"] * len(completions)
    scores = [vader_compound(completion_text(c)) for c in completions]
    n = max(len(scores), 1)
    on_target = [s * _sign(t) >= POSITIVE_THRESHOLD for s, t in zip(scores, targets)]
    return {
        "mean_compound": sum(scores) / n,
        "positive_fraction": sum(s >= POSITIVE_THRESHOLD for s in scores) / n,
        "negative_fraction": sum(s <= -POSITIVE_THRESHOLD for s in scores) / n,
        "on_target_fraction": sum(on_target) / n,
    }
