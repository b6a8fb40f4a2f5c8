"""The ``qa`` task plugin: answer a question from a context passage (SQuAD-style F1 / exact match)."""

from core import hookimpl
from plugins.qa.rewards import qa_exact_match, qa_f1, qa_metrics
from plugins.qa.task import QAConfig, QATask

__all__ = ["QATask", "QAConfig", "qa_f1", "qa_exact_match", "qa_metrics"]


@hookimpl
def rlft_tasks():
    """The qa task."""
    return [QATask]


@hookimpl
def rlft_rewards():
    """QA rewards: token F1 and exact match."""
    return [qa_f1, qa_exact_match]


@hookimpl
def rlft_evaluators():
    """The SQuAD-style QA evaluator."""
    return [qa_metrics]
