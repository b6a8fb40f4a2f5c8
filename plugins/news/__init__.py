"""The ``news`` task plugin: news briefs from structured facts (data-to-text) or from headlines."""

from core import hookimpl
from plugins.news.rewards import bleu, chrf, fact_coverage, news_metrics, number_contradiction, rouge
from plugins.news.task import NewsConfig, NewsTask

__all__ = ["NewsTask", "NewsConfig", "rouge", "bleu", "chrf", "fact_coverage", "number_contradiction",
           "news_metrics"]


@hookimpl
def rlft_tasks():
    """The news task."""
    return [NewsTask]


@hookimpl
def rlft_rewards():
    """News rewards: reference overlap (ROUGE, BLEU, chrF) and facts (coverage, contradicted numbers)."""
    return [rouge, bleu, chrf, fact_coverage, number_contradiction]


@hookimpl
def rlft_evaluators():
    """The news evaluator."""
    return [news_metrics]
