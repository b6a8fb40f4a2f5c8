"""QA rewards (token F1, exact match) and the SQuAD-style evaluator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import completion_text, evaluator, reward
from plugins.qa.scoring import best_over_gold, exact_match, extract_answer, normalize_answer, token_f1

__all__ = ["qa_f1", "qa_exact_match", "qa_metrics"]


def _predictions(completions: Sequence[Any], no_answer: Sequence[str] | None, first_line: bool) -> list[str]:
    phrases = no_answer or [None] * len(completions)
    return [extract_answer(completion_text(c), first_line, p) for c, p in zip(completions, phrases)]


def _scores(metric: Any, completions: Sequence[Any], answers: Sequence[Sequence[str]],
            no_answer: Sequence[str] | None, first_line: bool) -> list[float]:
    if answers is None:
        raise ValueError("needs the 'answers' column (a list of gold answers per row)")
    preds = _predictions(completions, no_answer, first_line)
    return [best_over_gold(metric, p, list(golds or [])) for p, golds in zip(preds, answers)]


@reward("qa_f1", columns=("answers",))
def qa_f1(prompts: Sequence[Any], completions: Sequence[Any], answers: Sequence[Sequence[str]] | None = None,
          no_answer: Sequence[str] | None = None, *, first_line: bool = True, **_: Any) -> list[float]:
    """SQuAD token F1 of the answer against the best gold answer, in [0, 1].

    The answer is the completion's first non-empty line (``first_line=False``: all of it).
    Rows of unanswerable questions carry ``answers=[]`` and a ``no_answer`` phrase; replying
    that phrase scores 1 there.

    >>> qa_f1(["q", "q"], ["Kelsbury", "in Kelsbury town"], answers=[["Kelsbury"], ["Kelsbury"]])
    [1.0, 0.5]
    """
    return _scores(token_f1, completions, answers, no_answer, first_line)


@reward("qa_exact_match", columns=("answers",))
def qa_exact_match(prompts: Sequence[Any], completions: Sequence[Any],
                   answers: Sequence[Sequence[str]] | None = None, no_answer: Sequence[str] | None = None, *,
                   first_line: bool = True, **_: Any) -> list[float]:
    """1.0 if the normalized answer equals a normalized gold answer, else 0.0.

    >>> qa_exact_match(["q", "q"], ["The Lorn River.", "Lorn"], answers=[["Lorn River"], ["Lorn River"]])
    [1.0, 0.0]
    """
    return _scores(exact_match, completions, answers, no_answer, first_line)


@evaluator("qa", neutral=("answer_words", "no_answer_rate"))
def qa_metrics(prompts: Sequence[Any], completions: Sequence[Any], answers: Sequence[Sequence[str]] | None = None,
               no_answer: Sequence[str] | None = None, **_: Any) -> dict[str, list[float | None]]:
    """SQuAD metrics on a 0-100 scale, one value per completion: exact_match, f1 (and HasAns/NoAns
    splits when some questions are unanswerable), plus the answer length in words.

    >>> m = qa_metrics(["q", "q"], ["Kelsbury", "in Kelsbury town"], answers=[["Kelsbury"], ["Kelsbury"]])
    >>> m["exact_match"], m["f1"]
    ([100.0, 0.0], [100.0, 50.0])
    """
    preds = _predictions(completions, no_answer, True)
    golds = [list(g or []) for g in answers or []]
    em = [100.0 * best_over_gold(exact_match, p, g) for p, g in zip(preds, golds)]
    f1 = [100.0 * best_over_gold(token_f1, p, g) for p, g in zip(preds, golds)]
    metrics: dict[str, list[float | None]] = {"exact_match": em, "f1": f1,
                                              "answer_words": [float(len(p.split())) for p in preds]}
    unanswerable = [not any(normalize_answer(a) for a in g) for g in golds]
    if any(unanswerable):
        for label, keep in (("has_ans", False), ("no_ans", True)):
            if keep in unanswerable:
                metrics[f"{label}_exact_match"] = [e if u == keep else None for e, u in zip(em, unanswerable)]
                metrics[f"{label}_f1"] = [f if u == keep else None for f, u in zip(f1, unanswerable)]
        metrics["no_answer_rate"] = [100.0 * (p == "") for p in preds]
    return metrics
