"""bench/learning.py: re-running a task's row keeps its earlier ``--against-trl`` comparison unless it is measured
again (the comparison is a pair of runs of its own, with its own rlft delta and wall time)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import learning  # noqa: E402  (bench/learning.py)


def rerun(monkeypatch, out: Path, *flags: str) -> dict:
    """``learning.main`` for sentiment with the run itself (and the comparison) replaced by fixed records."""
    monkeypatch.setattr(learning, "run_task", lambda task, overrides, runs: {"task": task, "wall_s": 2.0})
    monkeypatch.setattr(learning, "against_trl", lambda task, result, runs, overrides: {"trl": "new"})
    monkeypatch.setattr(learning, "machine_line", lambda: "machine: test")
    monkeypatch.setattr(learning, "write_summary", lambda out: "")
    monkeypatch.setattr(sys, "argv", ["learning.py", "--task", "sentiment", "--out", str(out), *flags])
    learning.main()
    return json.loads((out / "learning-sentiment.json").read_text(encoding="utf-8"))


def test_a_plain_rerun_keeps_the_earlier_comparison_and_a_new_one_replaces_it(monkeypatch, tmp_path):
    (tmp_path / "learning-sentiment.json").write_text(json.dumps({"wall_s": 1.0, "against_trl": {"trl": "old"}}))
    plain = rerun(monkeypatch, tmp_path)
    assert plain["wall_s"] == 2.0 and plain["against_trl"] == {"trl": "old"}
    assert rerun(monkeypatch, tmp_path, "--against-trl")["against_trl"] == {"trl": "new"}


def test_a_first_run_has_no_comparison(monkeypatch, tmp_path):
    assert "against_trl" not in rerun(monkeypatch, tmp_path)


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
