"""The ``sentiment`` task plugin: steer generated text towards a target polarity, or classify sentiment."""

from omegaconf import OmegaConf

from core import hookimpl
from plugins.sentiment.classify import sentiment_classify, sentiment_label
from plugins.sentiment.rewards import classifier_sentiment, sentiment_stats, steer_reward_name, vader_sentiment
from plugins.sentiment.task import SentimentConfig, SentimentTask

__all__ = ["SentimentTask", "SentimentConfig", "vader_sentiment", "classifier_sentiment", "sentiment_label",
           "sentiment_stats", "sentiment_classify"]

# sentiment.yaml picks the steer reward from task.classifier: vader_sentiment or classifier_sentiment.
if not OmegaConf.has_resolver("sentiment_steer_reward"):
    OmegaConf.register_new_resolver("sentiment_steer_reward", steer_reward_name)


@hookimpl
def rlft_tasks():
    """The sentiment task."""
    return [SentimentTask]


@hookimpl
def rlft_rewards():
    """Sentiment rewards: VADER or a classifier towards a target polarity, classification correctness."""
    return [vader_sentiment, classifier_sentiment, sentiment_label]


@hookimpl
def rlft_evaluators():
    """Sentiment evaluators: steering statistics and classification accuracy / macro-F1."""
    return [sentiment_stats, sentiment_classify]
