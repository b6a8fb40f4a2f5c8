"""Stopping is safe: the first SIGINT/SIGTERM saves a checkpoint and partial metrics, then exits 130/143."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_first_signal_checkpoints_and_exits_with_the_shell_status(tmp_path, signum, status):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "core.run", "experiment=debug", "algo.max_steps=500",
                             "eval.enabled=false", "report_to=[none]", "save_model=false", f"hydra.run.dir={run_dir}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = run_dir / "train_log.jsonl"
    deadline = time.monotonic() + 600
    while not (log.exists() and log.read_text().strip()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    [line] = [x for x in stderr.splitlines() if x.startswith(f"rlft: stopped by {signal.Signals(signum).name}")]
    assert "resume with: python -m core.run experiment=debug" in line and f"resume={run_dir}" in line
    assert list(run_dir.glob("checkpoint-*")), "a checkpoint was written"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 1 <= metrics["interrupted_at_step"] < 500
