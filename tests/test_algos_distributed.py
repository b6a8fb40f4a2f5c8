"""Real DDP over gloo: ``accelerate launch --multi_gpu --num_processes 2`` on a CPU-only machine starts two
processes (torchrun) that train each own algorithm together and save one model.

(``accelerate launch --cpu --num_processes 2`` is not DDP: with ``--cpu`` accelerate's simple launcher starts a
single process.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ("*.safetensors", "*.bin", "*.pt")


def _free_port() -> int:
    """A TCP port nobody listens on now (each launch gets its own rendezvous port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train_rows(path: Path) -> list[dict]:
    return [row for row in map(json.loads, path.read_text().splitlines()) if row["stage"] == "train"]


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "reinforce", "dqn", "sac"])
def test_two_process_ddp_run_saves_one_model(tmp_path, algo):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--main_process_port", str(_free_port()),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "core.run",
           "task=sentiment", "experiment=debug", f"algo={algo}", "save_model=true", f"output_dir={tmp_path}"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # one model, written once (by rank 0): no other weight files anywhere in the run directory
    # (training_args.bin is the Trainer's pickled arguments, not weights)
    weights = sorted(str(p.relative_to(tmp_path)) for pattern in WEIGHTS for p in tmp_path.rglob(pattern)
                     if p.name != "training_args.bin")
    assert weights == ["model/model.safetensors"], weights
    assert (tmp_path / "metrics.json").exists()
    # two processes ran: each logged its own training samples (rank 1 to samples.rank1.jsonl)
    rank0, rank1 = _train_rows(tmp_path / "samples.jsonl"), _train_rows(tmp_path / "samples.rank1.jsonl")
    assert rank0 and rank1
