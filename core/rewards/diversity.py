"""Diversity rewards: distinct-n within a GRPO group, self-BLEU within a group, repetition inside one text.

Words are :func:`core.rewards.text.words` tokens (lower-cased words and punctuation marks).
Completions of the same prompt form a group (:func:`core.rewards.text.group_indices`).
A reward that scored the whole group with one number would give every member the same value and
so no GRPO advantage; the group rewards below therefore score each completion's *contribution*.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any

from core.evaluators import Corpus, evaluator
from core.rewards.spec import completion_text, reward
from core.rewards.text import group_indices, ngrams, words

__all__ = ["distinct", "repetition_rate", "distinct_n", "self_bleu_diversity", "repetition_penalty",
           "diversity_stats"]


def distinct(texts: Sequence[str], n: int) -> float:
    """Corpus distinct-n: unique word ``n``-grams over all ``n``-grams of ``texts`` (0 if there are none).

    >>> distinct(["a b a b", "a b c"], 2)  # ab, ba, ab, ab, bc -> 3 unique of 5
    0.6
    >>> distinct(["", "x"], 2)
    0.0
    """
    grams = [g for t in texts for g in ngrams(words(t), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(text: str, n: int = 3) -> float:
    """Share of the word ``n``-grams of ``text`` that repeat an earlier one (0 if there are none).

    >>> repetition_rate("a b c a b c", 3)  # abc bca cab abc -> 1 repeat of 4
    0.25
    >>> repetition_rate("short", 3)
    0.0
    """
    grams = ngrams(words(text), n)
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


@reward("distinct_n")
def distinct_n(prompts: Sequence[Any], completions: Sequence[Any], *, n: int = 2, **_: Any) -> list[float]:
    """Share of a completion's word n-grams that are distinct and unused by the rest of its group, in [0, 1].

    ``value = |set(ngrams(c)) - ngrams(siblings)| / len(ngrams(c))``: repeating itself or echoing a
    sibling both lower it; a completion with fewer than ``n`` words scores 0.

    >>> distinct_n(["p", "p"], ["a b c", "a b d"], n=2)  # only 'b c' / 'b d' are new
    [0.5, 0.5]
    >>> distinct_n(["p"], ["a a a a"], n=1)
    [0.25]
    """
    texts = [completion_text(c) for c in completions]
    grams = [ngrams(words(t), n) for t in texts]
    out = [0.0] * len(texts)
    for group in group_indices(prompts):
        counts = Counter(g for i in group for g in set(grams[i]))
        for i in group:
            if grams[i]:
                own = set(grams[i])
                novel = sum(1 for g in own if counts[g] == 1)
                out[i] = novel / len(grams[i])
    return out


@functools.lru_cache(maxsize=4)
def _bleu(tokenize: str) -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True, tokenize=tokenize)


@reward("self_bleu_diversity")
def self_bleu_diversity(prompts: Sequence[Any], completions: Sequence[Any], *, tokenize: str = "13a",
                        **_: Any) -> list[float]:
    """1 - self-BLEU/100 of each completion against the others of its group (sacrebleu), in [0, 1].

    Higher means less like its siblings. An empty completion scores 0; a completion with no
    non-empty sibling scores 1. ``tokenize`` is sacrebleu's tokenizer (13a, intl, char, ...).

    >>> self_bleu_diversity(["p", "p", "p"], ["the cat sat on the mat", "the cat sat on the mat", ""])
    [0.0, 0.0, 0.0]
    >>> self_bleu_diversity(["p", "p"], ["red green blue", "one two three"])
    [1.0, 1.0]
    """
    texts = [completion_text(c).strip() for c in completions]
    bleu = _bleu(tokenize)
    out = [0.0] * len(texts)
    for group in group_indices(prompts):
        for i in group:
            if not texts[i]:
                continue
            refs = [texts[j] for j in group if j != i and texts[j]]
            score = bleu.sentence_score(texts[i], refs).score / 100 if refs else 0.0
            out[i] = 1.0 - min(max(score, 0.0), 1.0)
    return out


@reward("repetition_penalty")
def repetition_penalty(prompts: Sequence[Any], completions: Sequence[Any], *, n: int = 3,
                       **_: Any) -> list[float]:
    """Minus the share of a completion's word n-grams that repeat an earlier one, in [-1, 0].

    >>> repetition_penalty(["p", "p"], ["a b c a b c", "all different words here"])
    [-0.25, 0.0]
    """
    return [0.0 - repetition_rate(completion_text(c), n) for c in completions]


@evaluator("diversity", lower_is_better=("repetition_rate",))
def diversity_stats(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> dict[str, Any]:
    """Corpus distinct-1 and distinct-2 over all completions, and each completion's repeated-3-gram rate."""
    texts = [completion_text(c) for c in completions]
    return {
        "distinct_1": Corpus(texts, functools.partial(distinct, n=1), jackknife=True),
        "distinct_2": Corpus(texts, functools.partial(distinct, n=2), jackknife=True),
        "repetition_rate": [repetition_rate(t, 3) for t in texts],
    }
