"""bench/feedback_gain.py on the tiny model: a simulated rater judges the model's own pairs, DPO trains on the
first N judgements per size, and the table, plot and records hold one row per size that had enough judgements."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_one_dpo_run_per_size_with_its_interval_and_verdict(tmp_path):
    # experiment=debug: 8 train prompts, so at most 8 pairs; 500 is more than will ever be judged
    cmd = [sys.executable, "bench/feedback_gain.py", "--sizes", "3", "6", "500", "--pairs", "8", "--epochs", "1",
           "--out", str(tmp_path), "--", "model=tiny", "experiment=debug"]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads((tmp_path / "feedback_gain.json").read_text(encoding="utf-8"))
    work = tmp_path / "runs" / "feedback_gain"
    prefs = [json.loads(line) for line in (work / "prefs.jsonl").read_text(encoding="utf-8").splitlines()]
    decisive = sum(p["in_pairs"] for p in prefs)  # ties (both completions scored alike) are not pairs
    assert len(prefs) == 8 and doc["export"]["pairs"] == decisive >= 3
    trained, skipped = [n for n in (3, 6, 500) if n <= decisive], [n for n in (3, 6, 500) if n > decisive]
    assert f"skipping sizes {skipped}" in done.stdout  # more than the judged pairs: said, not trained on fewer
    assert [r["judgements"] for r in doc["rows"]] == trained
    for row in doc["rows"]:
        assert row["steps"] == math.ceil(row["judgements"] / 4)  # 1 epoch, batch 4
        log = [json.loads(line) for line in (work / f"dpo-{row['judgements']}" / "train_log.jsonl").read_text().splitlines()]
        assert log[-1]["step"] == row["steps"]
        headline = row["metrics"]["headline"]
        delta = row["metrics"]["delta"][headline]
        assert delta["ci"][0] <= delta["value"] <= delta["ci"][1]
        assert delta["verdict"] in ("improved", "no detectable change", "worse")
    table = (tmp_path / "feedback_gain.md").read_text(encoding="utf-8")
    assert [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| ") and "judgements" not in line
            and "---" not in line] == [f"| {n}" for n in trained]
    assert (tmp_path / "feedback_gain.png").read_bytes().startswith(b"\x89PNG")
