"""Learning curve points and the sample-efficiency summary."""

from __future__ import annotations

import json

import pytest

from core.curve import sample_efficiency


def curve(values, per_step=16, every=4):
    return [{"step": i * every, "completions": i * every * per_step, "value": v} for i, v in enumerate(values)]


def test_completions_to_half_and_most_of_the_gain_are_interpolated():
    summary = sample_efficiency(curve([0.0, 0.8, 1.0]))  # completions 0, 64, 128
    assert summary["final_gain"] == pytest.approx(1.0)
    assert summary["completions_to_50%"] == pytest.approx(40.0)   # 0.5 of the way from 0 to 0.8
    assert summary["completions_to_90%"] == pytest.approx(96.0)   # halfway from 0.8 to 1.0


def test_a_lower_is_better_metric_counts_its_decrease_as_gain():
    summary = sample_efficiency(curve([10.0, 6.0, 5.0]), direction="lower")
    assert summary["final_gain"] == pytest.approx(-5.0) and summary["completions_to_50%"] == pytest.approx(40.0)


def test_no_gain_and_too_few_points_give_no_efficiency():
    assert sample_efficiency(curve([0.5, 0.4, 0.3]))["completions_to_50%"] is None
    assert sample_efficiency(curve([0.0, 1.0])) == {}


def test_a_run_with_eval_every_records_its_curve(debug_run):
    out, metrics = debug_run
    steps = [p["step"] for p in metrics["curve"]]
    assert steps == [0, 2, 3]
    assert [p["completions"] for p in metrics["curve"]] == [0, 8, 12]  # 2 prompts x 2 completions per step
    on_disk = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines()]
    assert on_disk == metrics["curve"]
    assert metrics["curve"][0]["value"] == metrics["before"][metrics["headline"]]["value"]
    assert metrics["curve"][-1]["value"] == metrics["after"][metrics["headline"]]["value"]
    assert set(metrics["sample_efficiency"]) >= {"final_gain", "completions_to_50%", "completions_to_90%"}
