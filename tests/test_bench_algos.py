"""bench/algos.py: its smoke mode (tiny model, two algorithms) writes the table, the plot and the records;
the PPO/GRPO gain ratio and the target lines on hand-made records."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import algos  # noqa: E402  (bench/algos.py)


def test_smoke_writes_one_row_per_algorithm_and_the_plot(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "bench/algos.py", "--smoke", "--algos", "reinforce", "grpo", "--out",
                          str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = [line for line in (tmp_path / "algos.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("| ") and not line.startswith("| algorithm")]
    assert [row.split(" | ")[0] for row in table] == ["| reinforce", "| grpo"]
    assert "**8 completions**" in (tmp_path / "algos.md").read_text(encoding="utf-8")  # 2 steps x 2 prompts x 2
    png = (tmp_path / "algos.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    doc = json.loads((tmp_path / "algos.json").read_text(encoding="utf-8"))
    assert [r["algo"] for r in doc["records"]] == ["reinforce", "grpo"]
    for r in doc["records"]:
        assert r["budget"] == {"max_steps": 2, "prompts_per_step": 2, "num_generations": 2, "max_completion_length": 8}
        assert [p["stage"] for p in r["points"]] == ["before", "step-1", "after"]
        assert [algos.completions(r, p["step"]) for p in r["points"]] == [0, 4, 8]
        times = [p["train_s"] for p in r["points"]]
        assert times[0] == 0 and times == sorted(times) and 0 < times[-1] < r["wall_s"]
        assert 0.1 < r["peak_rss_gb"] < 16
        for p in r["points"]:
            compound, on_target = (p["metrics"][m] for m in algos.METRICS)
            assert -1 <= compound["ci"][0] <= compound["value"] <= compound["ci"][1] <= 1
            assert 0 <= on_target["ci"][0] <= on_target["value"] <= on_target["ci"][1] <= 1
            assert len(compound["per_prompt"]) == 4  # experiment=debug: 4 held-out prompts
        for metric in algos.METRICS:
            assert r["delta"][metric]["verdict"] in ("improved", "no detectable change", "worse")
    # --reuse: the finished runs are read back, not trained again, into the same records
    again = subprocess.run([sys.executable, "bench/algos.py", "--smoke", "--algos", "reinforce", "grpo", "--reuse",
                            "reinforce", "grpo", "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "$ -m core.run" not in again.stdout
    assert json.loads((tmp_path / "algos.json").read_text(encoding="utf-8"))["records"] == doc["records"]


def _record(algo: str, before: list[float], after: list[float]) -> dict:
    def point(values: list[float]) -> dict:
        mean = sum(values) / len(values)
        return {"metrics": {algos.HEADLINE: {"value": mean, "ci": [mean, mean], "per_prompt": values}}}

    delta = sum(a - b for a, b in zip(after, before)) / len(before)
    return {"algo": algo, "points": [point(before), point(after)],
            "delta": {m: {"value": delta, "ci": [delta - 0.1, delta + 0.1]} for m in algos.METRICS}}


def test_gain_ratio_pairs_the_prompts_and_the_targets_say_met_or_not():
    before = [0.0, 0.2, 0.4, 0.1, 0.3, 0.0, 0.2, 0.1]
    grpo = _record("grpo", before, [b + g for b, g in zip(before, [0.4, 0.2, 0.6, 0.4, 0.2, 0.6, 0.4, 0.4])])
    ppo = _record("ppo", before, [b + g / 2 for b, g in zip(before, [0.4, 0.2, 0.6, 0.4, 0.2, 0.6, 0.4, 0.4])])
    ratio = algos.gain_ratio(ppo, grpo)
    assert ratio["value"] == pytest.approx(0.5)
    assert ratio["ci"] == pytest.approx([0.5, 0.5])  # PPO gains half of GRPO's on every prompt
    assert algos.gain_ratio(grpo, grpo)["value"] == pytest.approx(1.0)
    assert algos.gain_ratio(grpo, ppo)["value"] == pytest.approx(2.0)
    assert algos.gain_ratio(ppo, _record("grpo", before, before)) is None  # no GRPO gain: no ratio
    noisy = _record("grpo", before, [b + g for b, g in zip(before, [0.5, -0.45] * 4)])  # gains 0.025 on average
    wide = algos.gain_ratio(ppo, noisy)
    assert wide["value"] == pytest.approx(8.0) and wide["ci"][1] == math.inf  # resamples where GRPO gains nothing
    sac = _record("sac", before, [b + 0.01 for b in before])  # delta 0.01 [-0.09, 0.11]
    lines = algos.targets([ppo, grpo, sac])
    assert "**not met**" in lines[0] and "0.50 [0.50, 0.50]" in lines[0]
    assert lines[1].startswith("- SAC: held-out gain **not shown**")
    assert "**met**" in algos.targets([_record("ppo", before, grpo["points"][1]["metrics"][algos.HEADLINE]
                                               ["per_prompt"]), grpo])[0]
