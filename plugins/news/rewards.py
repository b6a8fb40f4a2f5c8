"""News rewards (ROUGE, BLEU, chrF, fact coverage, number contradictions) and the news evaluator."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from core import Corpus, RewardError, completion_text, evaluator, reward
from plugins.news.facts import contradictions, coverage

__all__ = ["rouge", "bleu", "chrf", "fact_coverage", "number_contradiction", "news_metrics", "ROUGE_VARIANTS",
           "require"]

ROUGE_VARIANTS = ("rouge1", "rouge2", "rougeL")


def require(module: str, package: str, user: str) -> Any:
    """Import ``module`` or raise a one-line error telling which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RewardError(f"{user} needs the package {package!r}: pip install {package}") from None


@functools.lru_cache(maxsize=4)
def _rouge_scorer(stemmer: bool) -> Any:
    scoring = require("rouge_score.rouge_scorer", "rouge-score", "reward 'rouge'")
    return scoring.RougeScorer(list(ROUGE_VARIANTS), use_stemmer=stemmer)


def _refs(value: Any) -> list[str]:
    refs = [value] if isinstance(value, str) else [r for r in (value or []) if isinstance(r, str)]
    if not refs:
        raise ValueError(f"each row needs at least one reference text, got {value!r}")
    return refs


def rouge_f(text: str, references: Sequence[str], stemmer: bool = True) -> dict[str, float]:
    """ROUGE-1/2/L F-measures (rouge-score), the best over the references, in [0, 1].

    >>> {k: round(v, 3) for k, v in rouge_f("the cat sat", ["the cat sat on the mat"]).items()}
    {'rouge1': 0.667, 'rouge2': 0.571, 'rougeL': 0.667}
    """
    scores = _rouge_scorer(stemmer).score_multi(list(references), text)
    return {k: float(scores[k].fmeasure) for k in ROUGE_VARIANTS}


@reward("rouge", columns=("references",))
def rouge(prompts: Sequence[Any], completions: Sequence[Any], references: Sequence[Any] | None = None, *,
          variant: str = "rougeL", stemmer: bool = True, **_: Any) -> list[float]:
    """ROUGE F-measure (``variant``: rouge1, rouge2 or rougeL) against the best reference, in [0, 1].

    >>> rouge(["p"], ["the cat sat"], references=[["the cat sat on the mat"]], variant="rouge1")
    [0.6666666666666666]
    """
    if variant not in ROUGE_VARIANTS:
        raise RewardError(f"reward 'rouge': variant={variant!r} is not one of {', '.join(ROUGE_VARIANTS)}")
    return [rouge_f(completion_text(c), _refs(r), stemmer)[variant] for c, r in zip(completions, references)]


@reward("bleu", columns=("references",))
def bleu(prompts: Sequence[Any], completions: Sequence[Any], references: Sequence[Any] | None = None,
         **_: Any) -> list[float]:
    """Sentence BLEU (sacrebleu, exponential smoothing) against the references, in [0, 1].

    >>> bleu(["p", "p"], ["the cat sat on the mat", "dogs"], references=[["the cat sat on the mat"]] * 2)
    [1.0, 0.0]
    """
    sacrebleu = require("sacrebleu", "sacrebleu", "reward 'bleu'")
    return [min(1.0, sacrebleu.sentence_bleu(completion_text(c), _refs(r)).score / 100)
            for c, r in zip(completions, references)]


@reward("chrf", columns=("references",))
def chrf(prompts: Sequence[Any], completions: Sequence[Any], references: Sequence[Any] | None = None,
         **_: Any) -> list[float]:
    """Sentence chrF (sacrebleu, character n-gram F-score) against the best reference, in [0, 1].

    >>> chrf(["p", "p"], ["the cat sat", "xyz"], references=[["the cat sat"], ["the cat sat"]])
    [1.0, 0.0]
    """
    sacrebleu = require("sacrebleu", "sacrebleu", "reward 'chrf'")
    return [min(1.0, sacrebleu.sentence_chrf(completion_text(c), _refs(r)).score / 100)
            for c, r in zip(completions, references)]


@reward("fact_coverage", columns=("facts",))
def fact_coverage(prompts: Sequence[Any], completions: Sequence[Any], facts: Sequence[Any] | None = None,
                  **_: Any) -> list[float]:
    """Fraction of the row's facts whose value the text states, in [0, 1] (numbers matched by
    kind and rounding, e.g. ``24°C`` ~ ``24 degrees``; names as whole words, any case).

    >>> f = [{"name": "home team", "value": "Kelsbury Rovers", "kind": ""},
    ...      {"name": "high", "value": "24°C", "kind": "temperature"}]
    >>> fact_coverage(["p", "p"], ["Kelsbury Rovers won at 24 degrees.", "Rovers won."], facts=[f, f])
    [1.0, 0.0]
    """
    return [coverage(list(f or []), completion_text(c)) for c, f in zip(completions, facts)]


@reward("number_contradiction", columns=("facts",))
def number_contradiction(prompts: Sequence[Any], completions: Sequence[Any], facts: Sequence[Any] | None = None,
                         **_: Any) -> list[float]:
    """Penalty in [-1, 0]: minus the fraction of the text's checkable numbers (units of a kind
    the facts state: score, °C, %, money, km/h, votes, fans) that match no fact of that kind.

    >>> f = [{"name": "home score", "value": "3", "kind": "score"},
    ...      {"name": "away score", "value": "1", "kind": "score"},
    ...      {"name": "high", "value": "24°C", "kind": "temperature"}]
    >>> number_contradiction(["p"] * 3, ["Won 3-1 at 24°C.", "Won 3-2 at 24°C.", "Won easily."], facts=[f] * 3)
    [0.0, -0.5, 0.0]
    """
    out = []
    for c, f in zip(completions, facts):
        bad, checked = contradictions(list(f or []), completion_text(c))
        out.append(-bad / checked if checked else 0.0)
    return out


def _corpus_metric(kind: str, pairs: Sequence[tuple[str, list[str]]]) -> Corpus:
    """Corpus BLEU or chrF (sacrebleu) of ``(text, references)`` pairs, references padded by repetition, kept as
    each sentence's match counts: any subset's score is one sum and one formula, as in sacrebleu's own paired
    bootstrap (``sacrebleu.significance``), so resampling never re-tokenises the corpus."""
    sacrebleu = require("sacrebleu", "sacrebleu", "evaluator 'news'")
    metric = sacrebleu.BLEU() if kind == "bleu" else sacrebleu.CHRF()
    rows = []
    if pairs:
        width = max(len(r) for _, r in pairs)
        streams = [[r[min(i, len(r) - 1)] for _, r in pairs] for i in range(width)]
        rows = [np.asarray(s) for s in metric._extract_corpus_statistics([t for t, _ in pairs], streams)]
    return Corpus(rows, functools.partial(_score_from_stats, metric))


def _score_from_stats(metric: Any, rows: Sequence[np.ndarray]) -> float:
    return float(metric._compute_score_from_stats(np.sum(rows, axis=0)).score) if len(rows) else 0.0


def _contradicted_share(counts: Sequence[tuple[int, int]]) -> float:
    checked = sum(c for _, c in counts)
    return 100 * sum(b for b, _ in counts) / checked if checked else 0.0


@evaluator("news", lower_is_better=("contradiction_rate", "contradicted_numbers"), neutral=("words",))
def news_metrics(prompts: Sequence[Any], completions: Sequence[Any], references: Sequence[Any] | None = None,
                 facts: Sequence[Any] | None = None, **_: Any) -> dict[str, Any]:
    """ROUGE-1/2/L F, fact coverage, contradiction rate and length per completion; corpus BLEU,
    chrF (sacrebleu) and the share of contradicted numbers. All but ``words`` on a 0-100 scale."""
    texts = [completion_text(c) for c in completions]
    refs = [_refs(r) for r in references or []]
    rouges = [rouge_f(t, r) for t, r in zip(texts, refs)]
    pairs = list(zip(texts, refs))
    metrics: dict[str, Any] = {k: [100 * s[k] for s in rouges] for k in ROUGE_VARIANTS}
    metrics["bleu"] = _corpus_metric("bleu", pairs)
    metrics["chrf"] = _corpus_metric("chrf", pairs)
    if facts is not None:
        counts = [contradictions(list(f or []), t) for t, f in zip(texts, facts)]
        metrics["fact_coverage"] = [100 * coverage(list(f or []), t) for t, f in zip(texts, facts)]
        metrics["contradiction_rate"] = [100.0 * (bad > 0) for bad, _ in counts]
        metrics["contradicted_numbers"] = Corpus(counts, _contradicted_share)
    metrics["words"] = [float(len(t.split())) for t in texts]
    return metrics
