"""Intervals and verdicts (core.stats): hand cases, coverage on synthetic data, pairing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.stats import Estimate, index_interval, mean_interval, paired_index_delta, paired_mean_delta, verdict


def test_constant_and_empty_data_give_degenerate_intervals():
    assert mean_interval([0.5, 0.5, 0.5]) == Estimate(0.5, 0.5, 0.5, 3)
    assert mean_interval([2.0]) == Estimate(2.0, 2.0, 2.0, 1)
    assert math.isnan(mean_interval([None, float("nan")]).value)


def test_none_values_are_skipped_not_counted_as_zero():
    est = mean_interval([1.0, None, 0.0, None, 1.0, 1.0])
    assert est.value == pytest.approx(0.75) and est.n == 4


def test_mean_interval_matches_the_normal_approximation_on_a_large_sample():
    rng = np.random.default_rng(1)
    values = rng.normal(10.0, 2.0, size=400)
    est = mean_interval(values.tolist(), resamples=4000)
    half = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert est.low == pytest.approx(values.mean() - half, abs=0.25 * half)
    assert est.high == pytest.approx(values.mean() + half, abs=0.25 * half)


def test_95_percent_intervals_cover_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    trials, covered = 300, 0
    for seed in range(trials):
        sample = (rng.random(60) < 0.3).astype(float)  # Bernoulli(0.3), 60 prompts
        est = mean_interval(sample.tolist(), resamples=999, seed=seed)
        covered += est.low <= 0.3 <= est.high
    assert 0.89 <= covered / trials <= 0.99


def test_pairing_removes_the_prompt_to_prompt_spread():
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0, 1.0, size=64)  # shared by before and after
    before = difficulty + rng.normal(0, 0.05, size=64)
    after = difficulty + 0.1 + rng.normal(0, 0.05, size=64)
    b, a = mean_interval(before.tolist()), mean_interval(after.tolist())
    assert a.low < b.high  # unpaired intervals overlap: no conclusion possible from them
    delta = paired_mean_delta(before.tolist(), after.tolist())
    assert delta.low > 0 and verdict(delta, "higher") == "improved"
    assert delta.value == pytest.approx(float((after - before).mean()))


def test_paired_delta_uses_only_prompts_defined_on_both_sides():
    delta = paired_mean_delta([1.0, None, 0.0, 2.0], [2.0, 5.0, None, 3.0])
    assert delta.value == pytest.approx(1.0) and delta.n == 2
    with pytest.raises(ValueError, match="equal lengths"):
        paired_mean_delta([1.0], [1.0, 2.0])


def test_index_interval_of_a_corpus_statistic():
    hits = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 4, dtype=float)
    est = index_interval(len(hits), lambda idx: float(hits[idx].mean()), resamples=500)
    assert est.value == pytest.approx(0.7) and est.low < 0.7 < est.high and est.n == 40
    same = paired_index_delta(len(hits), lambda idx: float(hits[idx].mean()), lambda idx: float(hits[idx].mean()))
    assert same.value == same.low == same.high == 0.0


@pytest.mark.parametrize("delta, direction, expected", [
    (Estimate(0.1, 0.02, 0.2), "higher", "improved"),
    (Estimate(-0.1, -0.2, -0.02), "higher", "worse"),
    (Estimate(-0.1, -0.2, -0.02), "lower", "improved"),
    (Estimate(0.1, 0.02, 0.2), "lower", "worse"),
    (Estimate(0.1, -0.02, 0.2), "higher", "no detectable change"),
    (Estimate(0.1, 0.02, 0.2), "neutral", "increased"),
    (Estimate(-0.1, -0.2, -0.02), "neutral", "decreased"),
    (Estimate(math.nan, math.nan, math.nan), "higher", "no data"),
])
def test_verdicts(delta, direction, expected):
    assert verdict(delta, direction) == expected


def test_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="direction"):
        verdict(Estimate(0, 0, 0), "up")


_ZIPF = np.cumsum(1 / np.arange(1, 501) ** 1.1)


def _zipf_corpus(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` texts of 8-29 words drawn from a Zipf(1.1) vocabulary of 500 words."""
    words = np.searchsorted(_ZIPF, rng.random(n * 29) * _ZIPF[-1])
    return [" ".join(f"w{w}" for w in words[i * 29:i * 29 + rng.integers(8, 30)]) for i in range(n)]


def test_corpus_distinct_n_interval_is_centred_on_the_estimate():
    from core.evaluate import Evaluation, Metric, compare
    from core.language import language_metrics

    texts = _zipf_corpus(np.random.default_rng(0), 40)
    metrics = {name: Metric("higher", corpus=value) for name, value in language_metrics(texts, texts, None).items()
               if name.startswith("quality/distinct")}
    ev = Evaluation(list(range(40)), texts, [[i] for i in range(40)], metrics)
    for name in metrics:
        est = ev.estimate(name)
        assert est.low < est.value < est.high, (name, est)
        # the bootstrap's duplicated completions put every resample below the estimate: what jackknife fixes
        boot = index_interval(40, ev.statistic(name), resamples=200)
        assert boot.high == boot.value
    same = compare(ev, ev)["quality/distinct_2"].delta
    assert same.value == same.low == same.high == 0.0


def test_jackknife_distinct_n_intervals_cover_the_expected_value_near_the_nominal_rate():
    def distinct_2(bigrams: list[list[str]]) -> float:  # core.rewards.diversity.distinct on pre-split texts
        flat = [g for b in bigrams for g in b]
        return len(set(flat)) / len(flat)

    def corpus(n: int) -> list[list[str]]:
        return [list(zip(t.split(), t.split()[1:])) for t in _zipf_corpus(rng, n)]

    rng = np.random.default_rng(11)
    n = 32
    truth = float(np.mean([distinct_2(corpus(n)) for _ in range(2000)]))  # E[distinct-2] of 32 texts
    trials, covered = 300, 0
    for _ in range(trials):
        texts = corpus(n)
        est = index_interval(n, lambda idx: distinct_2([texts[i] for i in idx]), method="jackknife")
        covered += est.low <= truth <= est.high
    assert 0.89 <= covered / trials <= 0.99  # nominal 0.95 (0.943 measured); the bootstrap percentile covered 0%


def test_unknown_interval_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        index_interval(3, lambda idx: 0.0, method="bayes")
