"""Real DDP over gloo: ``accelerate launch --cpu --num_processes 2`` runs each own algorithm and saves one model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "reinforce", "dqn", "sac"])
def test_two_process_ddp_run_saves_one_model(tmp_path, algo):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "core.run",
           "task=sentiment", "experiment=debug", f"algo={algo}", "save_model=true", f"output_dir={tmp_path}"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert (tmp_path / "metrics.json").exists()
