"""Named held-out evaluators: the ``@evaluator`` decorator, :class:`EvaluatorSpec` and :class:`Corpus`.

An evaluator is ``fn(prompts, completions, **columns) -> {metric: value}``. Prompts and dataset
columns are repeated once per completion, and the completions of one prompt are contiguous
(``eval.num_samples`` x ``len(eval.seeds)`` of them). A metric's value is one of:

* a list with one number (or ``None``: not applicable) per completion: the metric is their mean,
  and rlft gives it a confidence interval by resampling prompts (the preferred form);
* a :class:`Corpus`: per-completion items plus the function that aggregates any subset of them
  (corpus BLEU, macro-F1, distinct-n), resampled the same way;
* a plain number: rlft then re-runs the evaluator on resampled prompt sets for the interval
  (fine for cheap evaluators, slow for expensive ones).

>>> @evaluator("hits", lower_is_better=("misses",))
... def hits(prompts, completions, **_):
...     return {"hits": [float("x" in c) for c in completions], "misses": [float("x" not in c) for c in completions]}
>>> spec = as_evaluator_spec(hits)
>>> spec.direction("hits"), spec.direction("misses"), run_evaluator(spec, ["p", "p"], ["x", "y"], {})["hits"]
('higher', 'lower', [1.0, 0.0])
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import RlftError

__all__ = ["EvaluatorSpec", "Corpus", "MetricValue", "evaluator", "as_evaluator_spec", "run_evaluator", "point_value",
           "point_values"]

EvalFunc = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Corpus:
    """A corpus-level metric: one item per completion and ``aggregate(items) -> float`` for any subset.

    Set ``jackknife=True`` for a statistic that counts distinct items (distinct-n): the duplicates of a
    bootstrap resample bias it low, so its interval comes from leaving one prompt out at a time
    (:func:`core.stats.jackknife_interval`).

    >>> c = Corpus([1, 0, 1, 1], lambda items: sum(items) / len(items))
    >>> c.value(), c.aggregate([c.items[i] for i in (1, 1)])
    (0.75, 0.0)
    """

    items: Sequence[Any]
    aggregate: Callable[[list[Any]], float]
    jackknife: bool = False

    def value(self) -> float:
        """The metric on every item."""
        return float(self.aggregate(list(self.items)))


MetricValue = list[float | None] | Corpus | float
"""A normalised metric: per-completion values, a :class:`Corpus`, or a single number."""


@dataclass(frozen=True)
class EvaluatorSpec:
    """An evaluator and the direction of its metrics (higher is better unless listed otherwise).

    A metric ``m[group]`` (a per-group breakdown) takes the direction of ``m``.
    """

    name: str
    fn: EvalFunc
    description: str = ""
    lower_is_better: tuple[str, ...] = ()
    neutral: tuple[str, ...] = ()

    def direction(self, metric: str) -> str:
        """``higher``, ``lower`` or ``neutral`` for one of this evaluator's metrics."""
        base = metric.split("[", 1)[0]
        return "lower" if base in self.lower_is_better else "neutral" if base in self.neutral else "higher"


def evaluator(name: str | None = None, *, description: str | None = None, lower_is_better: Sequence[str] = (),
              neutral: Sequence[str] = ()) -> Callable[[EvalFunc], EvalFunc]:
    """Mark a function as an rlft evaluator; it is returned unchanged with ``.evaluator_spec``.

    :param lower_is_better: metrics whose decrease is an improvement (error rates, perplexity).
    :param neutral: metrics with no better direction (lengths); their change is reported, not judged.
    """

    def mark(fn: EvalFunc) -> EvalFunc:
        doc = (inspect.getdoc(fn) or "").strip().splitlines()
        fn.evaluator_spec = EvaluatorSpec(name or fn.__name__, fn, description or (doc[0] if doc else ""),  # type: ignore[attr-defined]
                                          tuple(lower_is_better), tuple(neutral))
        return fn

    return mark


def as_evaluator_spec(obj: Any) -> EvaluatorSpec:
    """Accept an :class:`EvaluatorSpec` or an ``@evaluator``-marked (or plain) function."""
    if isinstance(obj, EvaluatorSpec):
        return obj
    spec = getattr(obj, "evaluator_spec", None)
    return spec if isinstance(spec, EvaluatorSpec) else evaluator()(obj).evaluator_spec


def _normalise(spec: EvaluatorSpec, key: str, value: Any, n: int) -> MetricValue:
    where = f"evaluator {spec.name!r} metric {key!r}"
    if isinstance(value, Corpus):
        if len(value.items) != n:
            raise RlftError(f"{where}: Corpus has {len(value.items)} items for {n} completions")
        return value
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise RlftError(f"{where}: {len(value)} values for {n} completions; return one per completion")
        out: list[float | None] = []
        for i, v in enumerate(value):
            if v is not None and not math.isfinite(float(v)):
                raise RlftError(f"{where}: non-finite value {v!r} for completion {i}")
            out.append(None if v is None else float(v))
        return out
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RlftError(f"{where}: {type(value).__name__} is not a number, a list or a Corpus") from None
    if not math.isfinite(number):
        raise RlftError(f"{where}: non-finite value {number!r}")
    return number


def run_evaluator(spec: EvaluatorSpec, prompts: Sequence[Any], completions: Sequence[Any],
                  columns: dict[str, list[Any]]) -> dict[str, MetricValue]:
    """Call an evaluator and check its metrics: lists of one finite value (or None) per completion,
    :class:`Corpus` objects with one item per completion, or finite numbers."""
    try:
        metrics = spec.fn(prompts, completions, **columns)
    except RlftError:
        raise
    except Exception as exc:
        raise RlftError(f"evaluator {spec.name!r} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(metrics, dict) or not metrics:
        raise RlftError(f"evaluator {spec.name!r} must return a non-empty dict of metric -> values")
    return {str(k): _normalise(spec, str(k), v, len(completions)) for k, v in metrics.items()}


def point_value(value: Any) -> float:
    """A metric value as one number: the mean of a list's non-None values (NaN if none), a
    :class:`Corpus` aggregated over all its items, or the number itself.

    >>> point_value([1.0, None, 0.0]), point_value(Corpus(["a", "b"], len)), point_value(3)
    (0.5, 2.0, 3.0)
    """
    if isinstance(value, Corpus):
        return value.value()
    if isinstance(value, (list, tuple)):
        present = [float(v) for v in value if v is not None]
        return sum(present) / len(present) if present else math.nan
    return float(value)


def point_values(metrics: dict[str, Any]) -> dict[str, float]:
    """:func:`point_value` of every metric an evaluator returned."""
    return {name: point_value(value) for name, value in metrics.items()}
