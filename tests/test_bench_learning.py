"""bench/learning.py: re-running a task's row keeps its earlier ``--against-trl`` comparison and ``--seeds`` spread
unless they are measured again (each is a set of runs of its own, with its own deltas and wall times); the gain
ratio and the spread across seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import learning  # noqa: E402  (bench/learning.py)


def fake_run(task: str, overrides: list[str], runs: Path) -> dict:
    """A finished run's record: its held-out delta is its seed's number (0 without one) over 100."""
    seed = next((int(o.removeprefix("seed=")) for o in overrides if o.startswith("seed=")), 0)
    delta = {"value": seed / 100, "ci": [seed / 100 - 0.01, seed / 100 + 0.01], "verdict": "improved" if seed else "-"}
    return {"task": task, "wall_s": 120.0, "peak_rss_gb": 3 + seed / 10, "runs": runs.name, "overrides": overrides,
            "metrics": {"headline": "m", "delta": {"m": delta}}}


def rerun(monkeypatch, out: Path, *flags: str) -> dict:
    """``learning.main`` for sentiment with the runs themselves (and the comparison) replaced by fixed records."""
    monkeypatch.setattr(learning, "run_task", fake_run)
    monkeypatch.setattr(learning, "against_trl", lambda task, result, runs, overrides: {"trl": "new"})
    monkeypatch.setattr(learning, "machine_line", lambda: "machine: test")
    monkeypatch.setattr(learning, "write_summary", lambda out: "")
    monkeypatch.setattr(sys, "argv", ["learning.py", "--task", "sentiment", "--out", str(out), *flags])
    learning.main()
    return json.loads((out / "learning-sentiment.json").read_text(encoding="utf-8"))


def test_a_plain_rerun_keeps_the_earlier_comparison_and_a_new_one_replaces_it(monkeypatch, tmp_path):
    (tmp_path / "learning-sentiment.json").write_text(json.dumps({"wall_s": 1.0, "against_trl": {"trl": "old"}}))
    plain = rerun(monkeypatch, tmp_path)
    assert plain["wall_s"] == 120.0 and plain["against_trl"] == {"trl": "old"}
    assert rerun(monkeypatch, tmp_path, "--against-trl")["against_trl"] == {"trl": "new"}


def test_a_first_run_has_no_comparison_and_no_spread(monkeypatch, tmp_path):
    first = rerun(monkeypatch, tmp_path)
    assert "against_trl" not in first and "seeds" not in first


def test_seeds_run_once_each_the_row_is_the_first_and_a_plain_rerun_keeps_the_spread(monkeypatch, tmp_path):
    seeded = rerun(monkeypatch, tmp_path, "--seeds", "7", "3")
    assert seeded["runs"] == "sentiment" and seeded["overrides"] == ["seed=7"]
    assert [(s["seed"], s["delta"]["value"], s["peak_rss_gb"]) for s in seeded["seeds"]] == [(7, 0.07, 3.7),
                                                                                               (3, 0.03, 3.3)]
    plain = rerun(monkeypatch, tmp_path)
    assert plain["overrides"] == [] and plain["seeds"] == seeded["seeds"]


def test_a_seed_given_twice_is_refused_before_anything_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(learning, "run_task", lambda *args: pytest.fail("a run started"))
    monkeypatch.setattr(sys, "argv", ["learning.py", "--task", "qa", "--seeds", "1", "2", "1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        learning.main()
    assert "--seeds 1 2 1: a seed given twice" in capsys.readouterr().err


def test_the_spread_across_seeds_is_a_student_t_interval_and_needs_two_seeds():
    mean, (low, high) = learning.seed_spread([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.2 - 4.302653 * 0.1 / 3 ** 0.5, 0.2 + 4.302653 * 0.1 / 3 ** 0.5))
    with pytest.raises(ValueError, match="at least two runs, got 1"):
        learning.seed_spread([0.1])


def test_the_seeds_table_counts_the_seeds_that_improved_and_shows_the_highest_peak():
    def record(seed: int) -> dict:
        run = fake_run("qa", [f"seed={seed}"], Path("r"))
        return {"seed": seed, "delta": run["metrics"]["delta"]["m"], "wall_s": run["wall_s"],
                "peak_rss_gb": run["peak_rss_gb"]}

    row = learning.seeds_table([{"task": "qa", "metrics": {"headline": "m"}, "seeds": [record(0), record(4)]}])
    row = row.splitlines()[-1]
    assert row.startswith("| qa | m | 0: 0 [-0.01, 0.01], -; 4: 0.04 [0.03, 0.05], improved | 0.02 [")
    assert row.endswith("| 1 of 2 | 2.0, 2.0 min | 3.40 GiB |")
    assert learning.seeds_table([{"task": "qa", "metrics": {"headline": "m"}}]) == ""


def test_seed_records_from_before_peaks_were_kept_say_how_many_runs_the_peak_covers():
    assert learning.highest_peak([{"peak_rss_gb": 3.83}, {}, {"peak_rss_gb": None}]) == "3.83 GiB (1 of 3 runs)"
    assert learning.highest_peak([{}, {}]) == "not recorded"


def test_each_run_samples_its_own_before_completions_unless_the_command_line_says_otherwise(monkeypatch, tmp_path):
    commands = []

    def child(cmd: list[str], out: Path, what: str) -> tuple[float, float]:
        commands.append(cmd)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text("{}")
        return 60.0, 3.0

    monkeypatch.setattr(learning, "run_child", child)
    learning.run_task("qa", [], tmp_path / "qa")
    learning.run_task("qa", ["eval.cache=true"], tmp_path / "qa-cached")
    assert "eval.cache=false" in commands[0] and not any(a.startswith("eval.cache") and a != "eval.cache=false"
                                                         for a in commands[0])
    assert commands[1].index("eval.cache=false") < commands[1].index("eval.cache=true")  # Hydra: the last one wins


def versus(rlft: tuple[float, float, float], trl: tuple[float, float, float], minutes: float = 10.0) -> dict:
    """An ``--against-trl`` record: each side's delta (value, 95% low, 95% high) over the same minutes."""
    return {name: {"delta": {"value": value, "ci": [low, high]}, "wall_s": minutes * 60}
            for name, (value, low, high) in (("rlft", rlft), ("trl", trl))}


def test_the_gain_ratio_is_conservative_only_when_rlfts_interval_excludes_zero():
    assert learning.gain_ratio(versus((0.4, 0.3, 0.5), (0.1, 0.0, 0.15))).startswith("**2.0x** conservatively")
    assert "**4.0x** on point estimates" in learning.gain_ratio(versus((0.4, 0.3, 0.5), (0.1, 0.0, 0.15)))
    unresolved = learning.gain_ratio(versus((0.05, -0.004, 0.1), (0.045, -0.004, 0.1)))
    assert unresolved == "**1.1x** on point estimates; no conservative ratio (rlft's own interval reaches 0)"
    assert "no finite ratio" in learning.gain_ratio(versus((0.4, 0.3, 0.5), (-0.1, -0.2, 0.0)))
