"""Named held-out evaluators: the ``@evaluator`` decorator and :class:`EvaluatorSpec`."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import RlftError

__all__ = ["EvaluatorSpec", "evaluator", "as_evaluator_spec", "run_evaluator"]

EvalFunc = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class EvaluatorSpec:
    """An evaluator: ``fn(prompts, completions, **columns) -> {metric: value}``.

    Completions of the same prompt are contiguous (``eval.num_samples`` of them).
    """

    name: str
    fn: EvalFunc
    description: str = ""


def evaluator(name: str | None = None, *, description: str | None = None) -> Callable[[EvalFunc], EvalFunc]:
    """Mark a function as an rlft evaluator; it is returned unchanged with ``.evaluator_spec``."""

    def mark(fn: EvalFunc) -> EvalFunc:
        doc = (inspect.getdoc(fn) or "").strip().splitlines()
        fn.evaluator_spec = EvaluatorSpec(name or fn.__name__, fn, description or (doc[0] if doc else ""))  # type: ignore[attr-defined]
        return fn

    return mark


def as_evaluator_spec(obj: Any) -> EvaluatorSpec:
    """Accept an :class:`EvaluatorSpec` or an ``@evaluator``-marked (or plain) function."""
    if isinstance(obj, EvaluatorSpec):
        return obj
    spec = getattr(obj, "evaluator_spec", None)
    return spec if isinstance(spec, EvaluatorSpec) else evaluator()(obj).evaluator_spec


def run_evaluator(spec: EvaluatorSpec, prompts: Sequence[Any], completions: Sequence[Any],
                  columns: dict[str, list[Any]]) -> dict[str, float]:
    """Call an evaluator and check it returned named finite numbers."""
    try:
        metrics = spec.fn(prompts, completions, **columns)
    except RlftError:
        raise
    except Exception as exc:
        raise RlftError(f"evaluator {spec.name!r} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(metrics, dict) or not metrics:
        raise RlftError(f"evaluator {spec.name!r} must return a non-empty dict of metric -> number")
    out = {}
    for key, value in metrics.items():
        number = float(value)
        if not math.isfinite(number):
            raise RlftError(f"evaluator {spec.name!r} returned a non-finite value for metric {key!r}")
        out[str(key)] = number
    return out
