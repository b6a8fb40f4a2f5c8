"""VADER sentiment reward and evaluator."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from core import ConfigError, completion_text, evaluator, reward

__all__ = ["vader_compound", "vader_sentiment", "sentiment_stats", "classifier_sentiment", "steer_reward_name",
           "POSITIVE_THRESHOLD"]

POSITIVE_THRESHOLD = 0.05  # VADER's documented cut-off between neutral and positive/negative


@functools.lru_cache(maxsize=1)
def _analyzer() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise ConfigError("VADER sentiment needs the package vaderSentiment: pip install vaderSentiment") from None

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


@evaluator("sentiment", neutral=("mean_compound", "positive_fraction", "negative_fraction"))
def sentiment_stats(prompts: Sequence[Any], completions: Sequence[Any], polarity: Sequence[str] | None = None,
                    **_: Any) -> dict[str, list[float]]:
    """VADER compound (raw, and signed towards the target polarity), positive/negative fractions,
    and the fraction on the target polarity; one value per completion.

    >>> m = sentiment_stats(["p", "p"], ["What a great day!", "Awful."], polarity=["negative", "negative"])
    >>> m["target_compound"], m["on_target_fraction"]
    ([-0.6588, 0.4588], [0.0, 1.0])
    """
    targets = polarity or ["positive"] * len(completions)
    scores = [vader_compound(completion_text(c)) for c in completions]
    return {
        "target_compound": [s * _sign(t) for s, t in zip(scores, targets)],
        "mean_compound": scores,
        "positive_fraction": [float(s >= POSITIVE_THRESHOLD) for s in scores],
        "negative_fraction": [float(s <= -POSITIVE_THRESHOLD) for s in scores],
        "on_target_fraction": [float(s * _sign(t) >= POSITIVE_THRESHOLD) for s, t in zip(scores, targets)],
    }


def _task_setting(context: Any, key: str, default: Any = None) -> Any:
    task = getattr(getattr(context, "cfg", None), "task", None)
    value = getattr(task, key, default) if task is not None else default
    return default if value is None else value


@reward("classifier_sentiment", columns=("polarity",), factory=True)
def classifier_sentiment(model: str | None = None, context: Any = None) -> Any:
    """P(positive) - P(negative) from a Hugging Face sequence-classification model, signed towards
    each row's target polarity, in [-1, 1]. The model is ``model`` or ``task.classifier`` (Hub id or
    local path), loaded once per run; labels are mapped by name (see ``task.classifier_labels``).
    """
    from omegaconf import OmegaConf

    from plugins.sentiment.classifier import HFSentimentClassifier

    name = model or _task_setting(context, "classifier", "vader")
    if name == "vader":
        raise ConfigError("reward 'classifier_sentiment' needs a model: set task.classifier=<Hugging Face "
                          "model id or path> (or the reward's args: {model: ...})")
    labels = _task_setting(context, "classifier_labels", {})
    labels = OmegaConf.to_container(labels, resolve=True) if OmegaConf.is_config(labels) else dict(labels)

    def build() -> HFSentimentClassifier:
        return HFSentimentClassifier(name, labels or None)

    scorer = context.shared(f"sentiment.classifier:{name}", build) if context is not None else build()

    def classifier_sentiment(prompts: Sequence[Any], completions: Sequence[Any],
                             polarity: Sequence[str] | None = None, **_: Any) -> list[float]:
        targets = polarity or ["positive"] * len(completions)
        scores = scorer.scores([completion_text(c) for c in completions])
        return [_sign(t) * s for s, t in zip(scores, targets)]

    return classifier_sentiment


def steer_reward_name(classifier: str) -> str:
    """The steer-mode reward for ``task.classifier`` (the ``sentiment_steer_reward`` config resolver).

    >>> steer_reward_name("vader"), steer_reward_name("distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    ('vader_sentiment', 'classifier_sentiment')
    """
    return "vader_sentiment" if str(classifier) == "vader" else "classifier_sentiment"
