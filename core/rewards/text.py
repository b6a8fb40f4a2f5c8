"""Text helpers shared by the generic rewards: word tokens, n-grams, GRPO groups, prompt text.

Every function here is pure and cheap; rewards that need a model live in their own modules.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["words", "ngrams", "ngram_counts", "group_indices", "prompt_key", "conversation_text"]

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def words(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into word and punctuation tokens (Unicode-aware; lower-cased by default).

    This is the "word" unit of every text-based reward: runs of letters/digits, and each
    punctuation mark on its own.

    >>> words("Hello, wörld! 42x")
    ['hello', ',', 'wörld', '!', '42x']
    >>> words("")
    []
    """
    return _WORD.findall(text.lower() if lower else text)


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """The ``n``-grams of ``tokens`` in order (empty when there are fewer than ``n`` tokens).

    >>> ngrams(["a", "b", "c"], 2)
    [('a', 'b'), ('b', 'c')]
    >>> ngrams(["a"], 2)
    []
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def ngram_counts(text: str, n: int) -> Counter:
    """Counts of the word ``n``-grams of ``text``.

    >>> sorted(ngram_counts("a b a b", 2).items())
    [(('a', 'b'), 2), (('b', 'a'), 1)]
    """
    return Counter(ngrams(words(text), n))


def prompt_key(prompt: Any) -> str:
    """A hashable identity of a prompt (string or list of messages), used to find GRPO groups.

    >>> prompt_key("hi") == prompt_key("hi"), prompt_key([{"role": "user", "content": "hi"}]) == prompt_key("hi")
    (True, False)
    """
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)


def group_indices(prompts: Sequence[Any]) -> list[list[int]]:
    """Indices of completions grouped by identical prompt (a GRPO group), in first-seen order.

    >>> group_indices(["p", "p", "q", "q", "p"])
    [[0, 1, 4], [2, 3]]
    """
    groups: dict[str, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(prompt_key(prompt), []).append(i)
    return list(groups.values())


def conversation_text(prompt: Any, turns: int | None = 1) -> str:
    """The prompt as plain text: a string as is, or the last ``turns`` non-system messages of a
    conversation joined by newlines (``turns`` None or 0: every non-system message).

    >>> chat = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"},
    ...         {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Tea?"}]
    >>> conversation_text(chat)
    'Tea?'
    >>> conversation_text(chat, turns=None)
    'Hi\\nHello!\\nTea?'
    >>> conversation_text("plain", turns=3)
    'plain'
    """
    if isinstance(prompt, str):
        return prompt
    messages = [m.get("content") or "" for m in prompt if m.get("role") != "system"]
    if turns:
        messages = messages[-turns:]
    return "\n".join(messages)
