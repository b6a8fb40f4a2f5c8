"""Real DDP over gloo: ``accelerate launch --cpu --num_processes 2`` runs each own algorithm and saves one model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ("*.safetensors", "*.bin", "*.pt")


def _train_rows(path: Path) -> list[dict]:
    return [row for row in map(json.loads, path.read_text().splitlines()) if row["stage"] == "train"]


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "reinforce", "dqn", "sac"])
def test_two_process_ddp_run_saves_one_model(tmp_path, algo):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "core.run",
           "task=sentiment", "experiment=debug", f"algo={algo}", "save_model=true", f"output_dir={tmp_path}"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # one model, written once (by rank 0): no other weight files anywhere in the run directory
    weights = sorted(str(p.relative_to(tmp_path)) for pattern in WEIGHTS for p in tmp_path.rglob(pattern))
    assert weights == ["model/model.safetensors"], weights
    assert (tmp_path / "metrics.json").exists()
    # both processes trained: each logged its own share of every step's completions (experiment=debug:
    # 2 steps x 2 prompts x 2 completions, one prompt per process per step)
    rank0, rank1 = _train_rows(tmp_path / "samples.jsonl"), _train_rows(tmp_path / "samples.rank1.jsonl")
    assert len(rank0) == len(rank1) == 2 * 1 * 2
