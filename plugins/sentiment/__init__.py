"""The ``sentiment`` task plugin: steer generated text towards a target polarity."""

from core import hookimpl
from plugins.sentiment.rewards import sentiment_stats, vader_sentiment
from plugins.sentiment.task import SentimentConfig, SentimentTask

__all__ = ["SentimentTask", "SentimentConfig", "vader_sentiment", "sentiment_stats"]


@hookimpl
def rlft_tasks():
    """The sentiment task."""
    return [SentimentTask]


@hookimpl
def rlft_rewards():
    """Sentiment rewards."""
    return [vader_sentiment]


@hookimpl
def rlft_evaluators():
    """Sentiment evaluators."""
    return [sentiment_stats]
