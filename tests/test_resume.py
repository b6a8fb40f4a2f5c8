"""Atomic checkpoints and resume: a run killed with SIGKILL at any moment continues to the same end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.algos.checkpoints import STAGING, checkpoints, resume_checkpoint
from core.errors import ConfigError

ARGS = ["experiment=debug", "algo.max_steps=6", "algo.save_steps=1", "algo.keep_checkpoints=2", "eval.enabled=false",
        "save_model=false", "report_to=[none]"]
CHECKPOINT_FILES = {"trainer_state.json", "model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"}


def start(out: Path, algo: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.run", *ARGS, f"algo={algo}", f"output_dir={out}", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_when(child: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """SIGKILL the run as soon as ``ready()`` holds (polled every 10 ms)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert child.poll() is None, f"the run ended before the kill point: {child.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def assert_complete(run_dir: Path) -> None:
    for ckpt in checkpoints(run_dir):
        assert CHECKPOINT_FILES <= {p.name for p in ckpt.iterdir()}, f"{ckpt} is incomplete"


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return load_file(ckpt / "model.safetensors")


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
def test_a_killed_run_resumes_to_the_same_end(tmp_path, algo):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    full = start(reference, algo)
    assert full.wait() == 0, full.stderr.read()[-2000:]
    # kill 1: in the middle of writing a checkpoint; kill 2: between checkpoints, later on
    child = start(killed, algo)
    kill_when(child, lambda: (killed / STAGING).is_dir())
    assert_complete(killed)
    child = start(killed, algo, "resume=true")
    kill_when(child, lambda: any(int(p.name.split("-")[1]) >= 4 for p in checkpoints(killed)))
    assert_complete(killed)
    done = start(killed, algo, "resume=true")
    assert done.wait() == 0, done.stderr.read()[-2000:]
    assert [p.name for p in checkpoints(killed)] == ["checkpoint-5", "checkpoint-6"] == \
        [p.name for p in checkpoints(reference)]
    assert not (killed / STAGING).exists() and not list(killed.glob(".retired-*"))
    state = json.loads((killed / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and state["max_steps"] == 6
    assert [row["step"] for row in state["log_history"] if "loss" in row] == [1, 2, 3, 4, 5, 6]
    base = weights(reference / "checkpoint-5")  # the resumed run trained: its weights moved like the reference's
    assert any(not torch.equal(weights(killed / "checkpoint-6")[k], base[k]) for k in base)


def test_resume_setting(tmp_path):
    assert resume_checkpoint(None, tmp_path) is None and resume_checkpoint(False, tmp_path) is None
    assert resume_checkpoint(True, tmp_path) is None  # nothing yet: the same command starts the run
    for step in (2, 10, 3):
        (tmp_path / f"checkpoint-{step}").mkdir()
        for name in ("trainer_state.json", "model.safetensors"):
            (tmp_path / f"checkpoint-{step}" / name).write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert resume_checkpoint("true", tmp_path).name == "checkpoint-10"
    assert resume_checkpoint(str(tmp_path), "elsewhere").name == "checkpoint-10"
    assert resume_checkpoint(str(tmp_path / "checkpoint-3"), "elsewhere").name == "checkpoint-3"
    with pytest.raises(ConfigError, match="resume=.*no checkpoint-N directory"):
        resume_checkpoint(str(tmp_path / "empty"), "elsewhere")


def test_a_partial_checkpoint_is_refused_naming_the_last_good_one(tmp_path):
    for step in (2, 3):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-2" / "model.safetensors").write_text("")
    with pytest.raises(ConfigError, match=r"checkpoint-3 is incomplete \(missing model weights\); "
                                          r"the last good one is .*checkpoint-2"):
        resume_checkpoint(True, tmp_path)
