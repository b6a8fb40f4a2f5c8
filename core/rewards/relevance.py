"""Semantic relevance: cosine similarity of sentence embeddings (all-MiniLM-L6-v2 by default).

The reward compares each completion with its prompt (for a conversation, its last ``turns``
messages) or with a dataset column (``reference: <column>``, e.g. a gold answer). The encoder is
loaded once per process (:func:`core.embeddings.encoder`) and runs in batches; a prompt shared by a
whole GRPO group is encoded once. Typical MiniLM cosines: about 0.6-0.9 for an on-topic reply,
0-0.2 for an unrelated one; blank text scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.embeddings import cosine_pairs, encoder
from core.errors import ConfigError, DataError
from core.evaluators import evaluator
from core.rewards.spec import completion_text, reward
from core.rewards.text import conversation_text

__all__ = ["relevance", "relevance_stats"]


@reward("relevance", factory=True)
def relevance(model: str | None = None, reference: str | None = None, turns: int | None = 1,
              batch_size: int = 8) -> Any:
    """Cosine similarity between the completion and its prompt (or a reference column), in [-1, 1].

    :param model: sentence-transformers model name or directory (default: packaged all-MiniLM-L6-v2).
    :param reference: a dataset column to compare with instead of the prompt.
    :param turns: for conversational prompts, how many trailing non-system messages form the
        prompt text (null: the whole conversation).
    :param batch_size: texts per encoder batch (8 measured fastest on CPU in bench/rewards.py).
    """
    if turns is not None and turns < 0:
        raise ConfigError(f"reward 'relevance': turns={turns} must be >= 0 (or null for the whole conversation)")
    if batch_size < 1:
        raise ConfigError(f"reward 'relevance': batch_size={batch_size} must be >= 1")
    loaded: list[Any] = []

    def relevance(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float]:
        if reference is None:
            left = [conversation_text(p, turns) for p in prompts]
        elif reference in columns:
            left = ["" if v is None else str(v) for v in columns[reference]]
        else:
            raise DataError(f"reward 'relevance' compares with dataset column {reference!r} (args.reference), "
                            f"which the dataset lacks")
        if not loaded:
            loaded.append(encoder(model))
        return cosine_pairs(left, [completion_text(c) for c in completions], loaded[0], batch_size)

    return relevance


@evaluator("relevance")
def relevance_stats(prompts: Sequence[Any], completions: Sequence[Any], reference: Sequence[Any] | None = None,
                    **_: Any) -> dict[str, list[float]]:
    """MiniLM cosine of each completion with the last user turn, the conversation and any reference.

    Metrics: ``last_turn``, ``conversation`` and, when the dataset has a ``reference`` column,
    ``reference``.
    """
    texts = [completion_text(c) for c in completions]
    metrics = {
        "last_turn": list(cosine_pairs([conversation_text(p, 1) for p in prompts], texts)),
        "conversation": list(cosine_pairs([conversation_text(p, None) for p in prompts], texts)),
    }
    if reference is not None:
        metrics["reference"] = list(cosine_pairs(["" if r is None else str(r) for r in reference], texts))
    return metrics
