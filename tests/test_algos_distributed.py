"""Real DDP over gloo: ``accelerate launch --multi_gpu --num_processes 2`` on a CPU-only machine starts two
processes (torchrun) that train each own algorithm together (each process on its own shard of every step's
prompts), log one ``train_log.jsonl`` row per step and save one model.

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


STEPS, PROMPTS, GENERATIONS = 3, 2, 2  # per step: 2 prompts, one per process, 2 completions each


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _train_prompts(path: Path) -> dict[int, list[str]]:
    """step -> the prompts of that step's training samples in one process's samples file."""
    steps: dict[int, list[str]] = {}
    for row in _rows(path):
        if row["stage"] == "train":
            steps.setdefault(row["step"], []).append(row["prompt"])
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "reinforce", "dqn", "sac"])
def test_two_process_ddp_run_saves_one_model(tmp_path, algo):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--main_process_port", str(_free_port()),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "core.run",
           "task=sentiment", "experiment=debug", f"algo={algo}", f"algo.max_steps={STEPS}",
           f"algo.prompts_per_step={PROMPTS}", f"algo.num_generations={GENERATIONS}", "save_model=true",
           f"output_dir={tmp_path}"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # one model, written once (by rank 0): no other weight files anywhere in the run directory
    # (training_args.bin is the Trainer's pickled arguments, not weights)
    weights = sorted(str(p.relative_to(tmp_path)) for pattern in WEIGHTS for p in tmp_path.rglob(pattern)
                     if p.name != "training_args.bin")
    assert weights == ["model/model.safetensors"], weights
    assert (tmp_path / "metrics.json").exists()
    # one train_log row per optimizer step, written by the main process only
    assert [row["step"] for row in _rows(tmp_path / "train_log.jsonl")] == list(range(1, STEPS + 1))
    # two processes trained together: each logged its own samples (rank 1 to samples.rank1.jsonl), every step
    # on its own shard of the step's prompts (one prompt each), not the whole batch twice
    rank0, rank1 = _train_prompts(tmp_path / "samples.jsonl"), _train_prompts(tmp_path / "samples.rank1.jsonl")
    assert sorted(rank0) == sorted(rank1) == list(range(STEPS)), (rank0, rank1)
    for step in range(STEPS):
        assert len(rank0[step]) == len(rank1[step]) == GENERATIONS, (step, rank0[step], rank1[step])
        assert len(set(rank0[step])) == len(set(rank1[step])) == 1 and rank0[step][0] != rank1[step][0], (step, rank0, rank1)


def test_train_log_is_written_by_the_main_process_only(tmp_path):
    from transformers import TrainerState

    from core.callbacks import TrainLog
    from core.outputs import JsonlWriter

    for main in (True, False):
        state = TrainerState(is_world_process_zero=main)
        state.global_step = 1
        TrainLog(JsonlWriter(tmp_path / f"main-{main}.jsonl")).on_log(None, state, None, logs={"loss": 0.5})
    assert _rows(tmp_path / "main-True.jsonl") == [{"step": 1, "loss": 0.5}]
    assert not (tmp_path / "main-False.jsonl").exists()
