"""Confidence intervals and before -> after verdicts by bootstrap over prompts.

Held-out prompts are the unit of resampling: a prompt's samples (``eval.num_samples`` x
``eval.seeds``) move together, and a before -> after comparison resamples the *same* prompts on
both sides (a paired bootstrap), so the prompt-to-prompt spread that both runs share cancels.

Two kinds of statistic are supported, both through :func:`scipy.stats.bootstrap`:

* per-prompt values (the mean of a list): vectorised, thousands of resamples in milliseconds;
* any function of a set of prompt indices (corpus BLEU, macro-F1...): called once per
  resample.

Statistics that count distinct items (corpus distinct-n) cannot be bootstrapped: a resample
draws prompts with replacement, its duplicated completions add n-grams but no new ones, so every
resample scores lower than the data and the interval sits below the estimate. They take a
delete-one-prompt jackknife interval instead (``method="jackknife"``, :func:`jackknife_interval`).

>>> est = mean_interval([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0], resamples=2000, seed=0)
>>> round(est.value, 3), est.low < est.value < est.high
(0.625, True)
>>> verdict(Estimate(0.1, 0.02, 0.2), "higher"), verdict(Estimate(0.1, -0.02, 0.2), "higher")
('improved', 'no detectable change')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Estimate", "DIRECTIONS", "METHODS", "mean_interval", "index_interval", "jackknife_interval",
           "paired_mean_delta", "paired_index_delta", "verdict"]

#: How a metric's change is judged: ``higher`` / ``lower`` is better, or ``neutral`` (no better side).
DIRECTIONS = ("higher", "lower", "neutral")
#: How :func:`index_interval` gets an interval: bootstrap over prompts, or the delete-one jackknife.
METHODS = ("bootstrap", "jackknife")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval ``[low, high]`` (equal to the value when degenerate).

    :param n: number of prompts it rests on.
    """

    value: float
    low: float
    high: float
    n: int = 0

    def as_dict(self) -> dict[str, object]:
        """``{"value": v, "ci": [low, high], "n": n}`` for JSON."""
        return {"value": self.value, "ci": [self.low, self.high], "n": self.n}

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.low:.4g}, {self.high:.4g}]"


def _interval(data: tuple[np.ndarray, ...], statistic: Callable[..., float], *, confidence: float, resamples: int,
              seed: int, vectorized: bool) -> tuple[float, float]:
    """BCa interval of ``statistic`` (percentile when BCa is undefined, a point when the data are constant)."""
    point = float(statistic(*data))
    kwargs = dict(confidence_level=confidence, n_resamples=resamples, vectorized=vectorized,
                  random_state=np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples are handled below
        for method in ("BCa", "percentile"):
            result = stats.bootstrap(data, statistic, method=method, **kwargs)
            low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
            if math.isfinite(low) and math.isfinite(high):
                return min(low, point), max(high, point)
    return point, point


def _clean(values: Sequence[float | None]) -> np.ndarray:
    array = np.asarray([math.nan if v is None else float(v) for v in values], dtype=float)
    return array[np.isfinite(array)]


def mean_interval(values: Sequence[float | None], *, confidence: float = 0.95, resamples: int = 2000,
                  seed: int = 0) -> Estimate:
    """Mean of per-prompt values (``None``/NaN skipped) with a bootstrap interval."""
    data = _clean(values)
    if data.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(data.mean())
    if data.size == 1 or np.ptp(data) == 0:
        return Estimate(mean, mean, mean, int(data.size))
    low, high = _interval((data,), lambda x, axis=-1: np.mean(x, axis=axis), confidence=confidence,
                          resamples=resamples, seed=seed, vectorized=True)
    return Estimate(mean, low, high, int(data.size))


def index_interval(n: int, statistic: Callable[[np.ndarray], float], *, confidence: float = 0.95,
                   resamples: int = 1000, seed: int = 0, method: str = "bootstrap") -> Estimate:
    """``statistic(prompt_indices)`` on all ``n`` prompts, with an interval from resampled index sets
    (``method="bootstrap"``) or from the ``n`` leave-one-out sets (``method="jackknife"``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    if method == "jackknife":
        return jackknife_interval(n, statistic, confidence=confidence)
    indices = np.arange(n)
    point = float(statistic(indices))
    if n == 1:
        return Estimate(point, point, point, 1)
    low, high = _interval((indices,), statistic, confidence=confidence, resamples=resamples, seed=seed,
                          vectorized=False)
    return Estimate(point, low, high, n)


def jackknife_interval(n: int, statistic: Callable[[np.ndarray], float], *, confidence: float = 0.95) -> Estimate:
    """``statistic`` on all ``n`` prompts with a delete-one jackknife interval: ``value +- z * se``, where
    ``se**2 = (n-1)/n * sum((theta_(i) - mean theta_(.))**2)`` over the ``n`` statistics that leave prompt
    ``i`` out (Efron & Tibshirani, *An Introduction to the Bootstrap*, ch. 11).

    Leaving a prompt out never duplicates one, so a statistic of distinct items (distinct-n) is not biased
    by it the way a bootstrap resample biases it; the interval is centred on the estimate. On synthetic
    corpora of 32-64 completions its 95% intervals covered the expected distinct-1/2 93-96% of the time
    (``tests/test_stats.py``), where the bootstrap's covered 0-4%.
    """
    indices = np.arange(n)
    point = float(statistic(indices))
    if n < 2:
        return Estimate(point, point, point, n)
    loo = np.asarray([statistic(np.delete(indices, i)) for i in range(n)], dtype=float)
    if not np.isfinite(loo).all():
        return Estimate(point, point, point, n)
    se = math.sqrt((n - 1) / n * float(((loo - loo.mean()) ** 2).sum()))
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * se
    return Estimate(point, point - half, point + half, n)


def paired_mean_delta(before: Sequence[float | None], after: Sequence[float | None], *, confidence: float = 0.95,
                      resamples: int = 2000, seed: int = 0) -> Estimate:
    """Mean of ``after - before`` over the prompts defined on both sides, with a paired bootstrap interval."""
    if len(before) != len(after):
        raise ValueError(f"paired values need equal lengths, got {len(before)} and {len(after)}")
    pairs = [(b, a) for b, a in zip(before, after) if b is not None and a is not None
             and math.isfinite(b) and math.isfinite(a)]
    return mean_interval([a - b for b, a in pairs], confidence=confidence, resamples=resamples, seed=seed)


def paired_index_delta(n: int, before: Callable[[np.ndarray], float], after: Callable[[np.ndarray], float], *,
                       confidence: float = 0.95, resamples: int = 1000, seed: int = 0,
                       method: str = "bootstrap") -> Estimate:
    """``after(idx) - before(idx)`` for corpus statistics, resampling (or leaving out) the same prompt indices
    on both sides."""
    return index_interval(n, lambda idx: after(idx) - before(idx), confidence=confidence, resamples=resamples,
                          seed=seed, method=method)


def verdict(delta: Estimate, direction: str = "higher") -> str:
    """``improved`` / ``worse`` / ``no detectable change`` from a delta's interval
    (``increased`` / ``decreased`` for neutral metrics)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if not (math.isfinite(delta.low) and math.isfinite(delta.high)):
        return "no data"
    sign = 1 if delta.low > 0 else -1 if delta.high < 0 else 0
    if sign == 0:
        return "no detectable change"
    if direction == "neutral":
        return "increased" if sign > 0 else "decreased"
    return "improved" if sign == (1 if direction == "higher" else -1) else "worse"
