"""Evaluations with intervals, paired comparisons, hacking flags and the metrics.json document."""

from __future__ import annotations

import io
import math

import pytest

from core.errors import ConfigError
from core.evaluate import Evaluation, Metric, compare, score
from core.evaluators import Corpus, evaluator, as_evaluator_spec
from core.language import language_metrics, perplexity
from core.results import check_headline, conclude, print_table


def evaluation(hits: list[float], ppl_items: list[tuple[float, int]], per_prompt: int = 2) -> Evaluation:
    n = len(hits) // per_prompt
    groups = [list(range(p * per_prompt, (p + 1) * per_prompt)) for p in range(n)]
    metrics = {"task/hit": Metric("higher", values=hits),
               "quality/perplexity": Metric("lower", corpus=Corpus(ppl_items, perplexity))}
    return Evaluation([f"p{p}" for p in range(n)], ["c"] * len(hits), groups, metrics, resamples=500)


def test_estimates_average_within_prompts_then_over_prompts():
    ev = evaluation([1, 1, 1, 0, 0, 0, None, None], [(1.0, 1)] * 8)
    assert ev.per_prompt("task/hit") == [1.0, 0.5, 0.0, None]
    est = ev.estimate("task/hit")
    assert est.value == pytest.approx(0.5) and est.n == 3 and est.low <= 0.5 <= est.high
    assert ev.value("quality/perplexity") == pytest.approx(math.e)


def test_comparing_an_evaluation_with_itself_detects_no_change():
    ev = evaluation([1, 0] * 20, [(float(i % 3), 2) for i in range(40)])
    for c in compare(ev, ev).values():
        assert c.delta.value == 0 and c.verdict == "no detectable change"


def test_compare_refuses_different_prompts():
    with pytest.raises(ValueError, match="same held-out prompts"):
        compare(evaluation([1, 0] * 4, [(1.0, 1)] * 8), evaluation([1, 0] * 5, [(1.0, 1)] * 10))


def test_conclude_flags_a_gain_bought_with_base_model_perplexity():
    before = evaluation([0.0, 0.0] * 30, [(1.0, 1)] * 60)
    after = evaluation([1.0, 1.0] * 30, [(1.5, 1)] * 60)  # perplexity e -> e^1.5: +65%
    doc = conclude("task/hit", before, after, max_perplexity_increase=0.2)
    assert doc["delta"]["task/hit"]["verdict"] == "improved"
    assert doc["delta"]["quality/perplexity"]["verdict"] == "worse"
    assert doc["flags"] == ["possible reward hacking: task/hit improved while quality/perplexity rose 65% (> 20%)"]
    assert conclude("task/hit", before, after, max_perplexity_increase=1.0)["flags"] == []
    out = io.StringIO()
    print_table(doc, out)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("* task/hit") and "improved" in lines[1]
    assert lines[-1].startswith("WARNING: possible reward hacking")


def test_conclude_without_a_before_evaluation_reports_only_after():
    doc = conclude("task/hit", None, evaluation([1, 0] * 4, [(1.0, 1)] * 8))
    assert doc["before"] == {} and doc["delta"] == {} and doc["after"]["task/hit"]["value"] == 0.5


def test_check_headline_suggests_the_closest_metric():
    with pytest.raises(ConfigError, match=r"task.metric='task/hits'.*did you mean 'task/hit'"):
        check_headline("task/hits", evaluation([1, 0], [(1.0, 1)] * 2))


def test_score_accepts_lists_corpora_and_plain_numbers():
    @evaluator("demo", lower_is_better=("misses",))
    def demo(prompts, completions, **_):
        hits = [float("x" in c) for c in completions]
        return {"hits": hits, "misses": Corpus([1 - h for h in hits], lambda items: sum(items)),
                "share": sum(hits) / len(hits)}

    prompts, completions = ["a", "a", "b", "b"], ["x", "y", "x", "x"]
    metrics = score(prompts, completions, {}, [], [as_evaluator_spec(demo)])
    ev = Evaluation(["a", "b"], completions, [[0, 1], [2, 3]], metrics)
    assert ev.value("demo/hits") == 0.75 and ev.value("demo/misses") == 1.0 and ev.value("demo/share") == 0.75
    assert metrics["demo/misses"].direction == "lower"
    assert ev.statistic("demo/share")([1, 1]) == 1.0  # re-run on prompt b twice


def test_language_metrics_with_a_base_model_scorer():
    seen = []

    def scorer(prompts, completions):
        seen.append(len(completions))
        return [(2.0 * len(c.split()), len(c.split())) for c in completions]

    metrics = language_metrics(["p", "p"], ["a b a b a b", "c d"], scorer)
    assert seen == [2]
    assert metrics["quality/perplexity"].value() == pytest.approx(math.exp(2.0))
    assert metrics["quality/distinct_1"].value() == pytest.approx(4 / 8)
    assert metrics["quality/repetition"][0] > 0 and metrics["quality/words"] == [6.0, 2.0]
    assert "quality/perplexity" not in language_metrics(["p"], ["a"], None)
