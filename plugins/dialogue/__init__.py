"""The ``dialogue`` task plugin: reply to multi-turn conversations.

It contributes only the task; its rewards (``relevance``, ``length_target``, ``distinct_n``) and
evaluators (``relevance``, ``diversity``, ``length``) are rlft's generic ones, chosen in ``dialogue.yaml``.
"""

from core import hookimpl
from plugins.dialogue.task import DialogueConfig, DialogueTask

__all__ = ["DialogueTask", "DialogueConfig"]


@hookimpl
def rlft_tasks():
    """The dialogue task."""
    return [DialogueTask]
