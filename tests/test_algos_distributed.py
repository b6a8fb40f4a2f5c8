"""Real DDP over gloo: ``accelerate launch --multi_gpu --num_processes 2`` on a CPU-only machine starts two
processes (torchrun) that train each algorithm together, rlft's own and TRL's alike: each process on its own
shard of every step's prompts (or preference pairs), gradients all-reduced so both end with the same weights,
one ``train_log.jsonl`` row per step and one saved model.

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

from tests.test_resume import preference_args

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


PROBE = '''"""Test plugin: each process writes what its trainer saw of the distributed setup and its weights."""
import hashlib, json
import torch
from transformers import TrainerCallback
from core import hookimpl


def digest(model):
    sha = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        sha.update(name.encode() + tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


class Probe(TrainerCallback):
    def __init__(self, out):
        self.out, self.start = out, None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.start = digest(model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        (self.out / f"probe.rank{args.process_index}.json").write_text(json.dumps({
            "world_size": args.world_size, "distributed_type": str(args.distributed_state.distributed_type),
            "start": self.start, "end": digest(model)}))


@hookimpl
def rlft_trainer_callbacks(run):
    return [Probe(run.output_dir)]
'''


def _launch(tmp_path: Path, algo: str, *extra: str) -> Path:
    """Run ``core.run`` under ``accelerate launch --multi_gpu --num_processes 2`` with the probe plugin; the run dir."""
    out = tmp_path / "run"
    (tmp_path / "rlft_ddp_probe.py").write_text(PROBE)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "RLFT_PLUGINS": "rlft_ddp_probe",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--main_process_port", str(_free_port()),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "core.run",
           "task=sentiment", "experiment=debug", f"algo={algo}", f"algo.max_steps={STEPS}", "save_model=true",
           f"output_dir={out}", *extra]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # one model, written once (by rank 0): no other weight files anywhere in the run directory
    # (training_args.bin is the Trainer's pickled arguments, not weights)
    weights = sorted(str(p.relative_to(out)) for pattern in WEIGHTS for p in out.rglob(pattern)
                     if p.name != "training_args.bin")
    assert weights == ["model/model.safetensors"], weights
    assert (out / "metrics.json").exists()
    # one train_log row per optimizer step, written by the main process only
    assert [row["step"] for row in _rows(out / "train_log.jsonl")] == list(range(1, STEPS + 1))
    # both trainers' accelerators saw the 2-process gloo group (not DistributedType.NO, each process alone), and
    # the all-reduced gradients left both processes with the same, trained, weights
    probes = [json.loads((out / f"probe.rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [(p["world_size"], p["distributed_type"]) for p in probes] == [(2, "DistributedType.MULTI_CPU")] * 2, probes
    assert probes[0]["start"] == probes[1]["start"] != probes[0]["end"] == probes[1]["end"], probes
    return out


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "reinforce", "dqn", "sac", "grpo", "rloo"])
def test_two_process_ddp_run_saves_one_model(tmp_path, algo):
    out = _launch(tmp_path, algo, f"algo.prompts_per_step={PROMPTS}", f"algo.num_generations={GENERATIONS}")
    # two processes trained together: each logged its own samples (rank 1 to samples.rank1.jsonl), every step
    # on its own shard of the step's prompts (one prompt each), not the whole batch twice
    rank0, rank1 = _train_prompts(out / "samples.jsonl"), _train_prompts(out / "samples.rank1.jsonl")
    assert sorted(rank0) == sorted(rank1) == list(range(STEPS)), (rank0, rank1)
    for step in range(STEPS):
        assert len(rank0[step]) == len(rank1[step]) == GENERATIONS, (step, rank0[step], rank1[step])
        assert len(set(rank0[step])) == len(set(rank1[step])) == 1 and rank0[step][0] != rank1[step][0], (step, rank0, rank1)


@pytest.mark.slow
def test_two_process_dpo_splits_the_preference_pairs(tmp_path):
    out = _launch(tmp_path, "dpo", *preference_args(tmp_path))
    pairs = len((tmp_path / "prefs.jsonl").read_text().splitlines())
    batch = int(next(a for a in preference_args(tmp_path) if a.startswith("algo.batch_size=")).split("=")[1])
    # each step consumed one micro-batch per process: 2 x batch pairs of the file (one process alone: batch)
    epochs = [row["epoch"] for row in _rows(out / "train_log.jsonl")]
    assert epochs == pytest.approx([step * 2 * batch / pairs for step in range(1, STEPS + 1)]), epochs


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
