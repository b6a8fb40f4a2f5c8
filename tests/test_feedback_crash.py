"""SIGKILL the feedback server under concurrent load; after a restart every acknowledged judgement is
stored exactly once (the load bench, at a test-sized scale)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_acknowledged_judgements_survive_sigkill_exactly_once():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "bench/feedback_load.py", "--clients", "4", "--per-client", "25",
                          "--kill-after", "40"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "stored 100 (expected 100), distinct 100, acknowledged 100, acknowledged but missing 0" in out.stdout


def test_a_run_that_outlasts_its_deadline_fails_with_the_reason_and_leaves_no_server():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "bench/feedback_load.py", "--clients", "2", "--per-client", "25",
                          "--kill-after", "10", "--deadline", "0.3"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # a server left running would hold the pipes open until the timeout
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAILED: " in out.stdout and "not acknowledged within --deadline 0.3 s" in out.stdout
