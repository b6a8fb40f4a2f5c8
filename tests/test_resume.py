"""Atomic checkpoints and resume: a run killed with SIGKILL at any moment continues to the same end."""

from __future__ import annotations

import json
from collections import Counter
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
    args = [a for a in ARGS if a.split("=")[0] not in {e.split("=")[0] for e in extra}]  # `extra` overrides ARGS
    return subprocess.Popen([sys.executable, "-m", "core.run", *args, f"algo={algo}", f"output_dir={out}", *extra],
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


def preference_args(tmp_path: Path) -> list[str]:
    """DPO's data: a small preference file (prompt, chosen, rejected as conversations)."""
    path = tmp_path / "prefs.jsonl"
    path.write_text("".join(json.dumps({
        "prompt": [{"role": "user", "content": f"Tom has {k} apples. How many apples has Tom?"}],
        "chosen": [{"role": "assistant", "content": f"Tom has {k}."}],
        "rejected": [{"role": "assistant", "content": "I do not know."}]}) + "\n" for k in range(40)))
    return [f"algo.preferences={path}", "algo.batch_size=2", "algo.max_length=64"]


@pytest.mark.parametrize("algo", ["grpo", "rloo", "dpo"])
def test_a_killed_run_resumes_to_the_same_end(tmp_path, algo):
    killed = tmp_path / "killed"
    extra = preference_args(tmp_path) if algo == "dpo" else []
    # kill 1: in the middle of writing a checkpoint; kill 2: between checkpoints, later on
    child = start(killed, algo, *extra)
    kill_when(child, lambda: (killed / STAGING).is_dir())
    assert_complete(killed)
    child = start(killed, algo, *extra, "resume=true")
    kill_when(child, lambda: any(int(p.name.split("-")[1]) >= 4 for p in checkpoints(killed)))
    assert_complete(killed)
    done = start(killed, algo, *extra, "resume=true")
    assert done.wait() == 0, done.stderr.read()[-2000:]
    assert [p.name for p in checkpoints(killed)] == ["checkpoint-5", "checkpoint-6"]  # keep_checkpoints=2
    assert not (killed / STAGING).exists() and not list(killed.glob(".retired-*"))
    state = json.loads((killed / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and state["max_steps"] == 6
    assert [row["step"] for row in state["log_history"] if "loss" in row] == [1, 2, 3, 4, 5, 6]
    base = weights(killed / "checkpoint-5")  # the resumed run trained its last step: the weights moved
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


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_a_resumed_run_logs_each_step_once_and_keeps_its_before_evaluation_and_curve(tmp_path):
    out = tmp_path / "run"
    args = [a for a in ARGS if not a.startswith(("algo.save_steps", "eval.enabled", "report_to"))]
    base = [sys.executable, "-m", "core.run", *args, "algo=grpo", "algo.save_steps=2", "eval.every=2",
            "report_to=[tensorboard]",
            "eval.interpret=false", f"output_dir={out}"]
    child = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    # killed once step 3 is logged: checkpoint-2 is the newest, so step 3's rows (and step 4's samples) are redone
    kill_when(child, lambda: any(r.get("step") == 3 for r in rows(out / "train_log.jsonl")))
    last = int(checkpoints(out)[-1].name.split("-")[1])
    assert last == 2 and max(r["step"] for r in rows(out / "train_log.jsonl")) > last
    assert [p["step"] for p in rows(out / "curve.jsonl")] == [0, 2]
    before_point = rows(out / "curve.jsonl")[0]
    done = subprocess.run([*base, "resume=true"], capture_output=True, text=True, cwd=tmp_path)  # log on stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reusing the before-training completions" in done.stdout and "dropped" in done.stdout
    # Hydra's log of both attempts is the run's own run.log; no outputs/<task>/<time>/ appears beside it
    log = (out / "run.log").read_text()
    assert log.count("rlft: task sentiment") == 2 and "rlft: resuming from" in log and (out / ".hydra").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]

    assert [r["step"] for r in rows(out / "train_log.jsonl")] == [1, 2, 3, 4, 5, 6]
    samples = rows(out / "samples.jsonl")
    per_stage = Counter((r["stage"], r["step"]) for r in samples)
    per_step = 2 * 2  # prompts_per_step x num_generations
    assert per_stage == {**{("train", s): per_step for s in range(6)}, ("before", None): 4, ("step-2", None): 4,
                         ("step-4", None): 4, ("after", None): 4}, per_stage
    metrics = json.loads((out / "metrics.json").read_text())
    curve = metrics["curve"]
    assert [p["step"] for p in curve] == [0, 2, 4, 6] and curve[0] == before_point  # points of both attempts
    assert rows(out / "curve.jsonl") == curve
    assert all(a["wall_s"] <= b["wall_s"] for a, b in zip(curve, curve[1:]))
    head = metrics["headline"]
    assert metrics["before"][head]["value"] == curve[0]["value"] and metrics["after"][head]["value"] == curve[-1]["value"]
    # TensorBoard: one run directory, each step once (the killed run's step 3 purged, not shown twice)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    event_dirs = list((out / "runs").iterdir())
    assert len(event_dirs) == 1, event_dirs
    events = EventAccumulator(str(event_dirs[0]))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4, 5, 6]


def test_trim_outputs_cuts_the_logs_back_to_the_checkpoint(tmp_path):
    from core.resume import trim_outputs

    def write(name, items, cut=False):
        text = "".join(json.dumps(r) + "\n" for r in items)
        (tmp_path / name).write_text(text + ('{"stage": "train", "st' if cut else ""))  # a line cut by the kill

    write("samples.jsonl", [{"stage": "before", "step": None}, *({"stage": "train", "step": s} for s in range(5)),
                            {"stage": "step-2", "step": None}, {"stage": "step-4", "step": None},
                            {"stage": "after", "step": None}], cut=True)
    write("train_log.jsonl", [{"step": s} for s in range(1, 6)])
    write("curve.jsonl", [{"step": s} for s in (0, 2, 4)])
    kept = trim_outputs(tmp_path, 3, 6, tmp_path / "samples.jsonl", keep_before=True)
    assert kept == [{"step": 0}, {"step": 2}] == rows(tmp_path / "curve.jsonl")
    assert [r["step"] for r in rows(tmp_path / "train_log.jsonl")] == [1, 2, 3]
    assert [(r["stage"], r["step"]) for r in rows(tmp_path / "samples.jsonl")] == [
        ("before", None), ("train", 0), ("train", 1), ("train", 2), ("step-2", None)]
    # the before-training evaluation is redone: its rows and the curve measured against it go
    assert trim_outputs(tmp_path, 3, 6, tmp_path / "samples.jsonl", keep_before=False) == []
    assert "before" not in {r["stage"] for r in rows(tmp_path / "samples.jsonl")}
    # a point at the last step is the after-training one: redone when resuming from the last checkpoint
    write("curve.jsonl", [{"step": s} for s in (0, 2, 4, 6)])
    assert [p["step"] for p in trim_outputs(tmp_path, 6, 6, tmp_path / "samples.jsonl", True)] == [0, 2, 4]


def test_the_stored_before_evaluation_is_reused_only_when_prompts_and_settings_match(tmp_path, compose_cfg):
    from core.evaluate import Evaluation
    from core.resume import load_before, save_before

    cfg = compose_cfg(["experiment=debug"])
    prompts = ["p0", [{"role": "user", "content": "p1"}]]
    save_before(tmp_path, cfg, {"qa": Evaluation(prompts, ["a", "b"], [[0], [1]])})
    assert load_before(tmp_path, cfg, {"qa": prompts}) == {"qa": ["a", "b"]}
    assert load_before(tmp_path, cfg, {"qa": ["p0", "other"]}) is None
    assert load_before(tmp_path, cfg, {"sentiment": prompts}) is None
    assert load_before(tmp_path, compose_cfg(["experiment=debug", "eval.max_new_tokens=9"]), {"qa": prompts}) is None
    assert load_before(tmp_path, compose_cfg(["experiment=debug", "eval.every=3"]), {"qa": prompts}) is not None
    assert load_before(tmp_path / "none", cfg, {"qa": prompts}) is None


def test_an_algorithm_that_cannot_resume_is_refused_before_anything_loads(compose_cfg, plugins, monkeypatch):
    from core.algos.reinforce import Reinforce
    from core.validate import validate

    assert not [p for p in validate(compose_cfg(["experiment=debug", "algo=reinforce", "resume=true"]), plugins)
                if p.startswith("resume=")]
    monkeypatch.setattr(Reinforce, "resumable", False)  # a plugin algorithm whose trainer cannot load checkpoints
    problems = validate(compose_cfg(["experiment=debug", "algo=reinforce", "resume=true"]), plugins)
    assert [p for p in problems if p.startswith("resume=")] == [
        "resume=True: algo=reinforce cannot resume a run (its trainer does not load checkpoints); start a new run"]


OWN = ["reinforce", "ppo", "dqn", "sac"]
OWN_ARGS = ["algo.max_steps=4", "algo.save_steps=2"]


def own_args(algo: str) -> list[str]:
    """A short run of ``algo``: 4 steps, a checkpoint every 2, one small replay update per step (dqn, sac)."""
    return OWN_ARGS + (["algo.updates_per_step=1", "algo.batch_size=2"] if algo in ("dqn", "sac") else [])


@pytest.mark.parametrize("algo", OWN)
def test_a_killed_own_algorithm_run_resumes_logging_each_step_once(tmp_path, algo):
    out = tmp_path / "run"
    extra = own_args(algo)
    child = start(out, algo, *extra)
    # killed once step 3 is logged: checkpoint-2 is the newest, so step 3 is redone
    kill_when(child, lambda: any(r.get("step") == 3 for r in rows(out / "train_log.jsonl")), timeout=300)
    assert [p.name for p in checkpoints(out)] == ["checkpoint-2"]
    assert CHECKPOINT_FILES | {"rlft_state.pt"} <= {p.name for p in checkpoints(out)[0].iterdir()}
    done = start(out, algo, *extra, "resume=true")
    assert done.wait() == 0, done.stderr.read()[-2000:]
    assert [r["step"] for r in rows(out / "train_log.jsonl")] == [1, 2, 3, 4]
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and [r["step"] for r in state["log_history"] if "loss" in r] == [1, 2, 3, 4]


def _state(trainer) -> dict:
    return {"step": trainer.state.global_step, "prompts": trainer.prompts.state_dict(), "extra": trainer.extra_state(),
            "lr": trainer.lr_scheduler.state_dict()["last_epoch"],
            "modules": {k: m.state_dict() for k, m in trainer.checkpoint_modules().items()},
            "policy": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict()["state"]}


def _same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("algo", OWN)
def test_an_own_checkpoint_round_trip_restores_optimizer_step_and_algorithm_state(compose_cfg, plugins, tiny_model,
                                                                                 tmp_path, algo):
    from copy import deepcopy

    from core.algos.base import TrainInputs
    from core.callbacks import NonFiniteGuard
    from core.rewards.checked import CheckedReward
    from datasets import Dataset

    extra = own_args(algo)
    cfg = compose_cfg(["experiment=debug", f"algo={algo}", *extra, "algo.max_steps=2", "algo.lr=1e-3"]).algo
    model, tokenizer = tiny_model
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"Say something about {w}."}]
                                         for w in ("cats", "rain", "tea")]})
    length = CheckedReward("length", lambda prompts, completions, **_: [len(c) / 40 for c in completions], 1.0)

    def trainer():
        return plugins.algorithms.get(algo)(cfg).build_trainer(TrainInputs(
            model=deepcopy(model), tokenizer=tokenizer, train_dataset=data, reward_funcs=[length], reward_weights=[1.0],
            output_dir=str(tmp_path), seed=0, callbacks=[NonFiniteGuard()], report_to=["none"]))

    first = trainer()
    first.train()
    saved = _state(first)
    assert saved["step"] == 2 and saved["optimizer"] and saved["extra"]  # something to restore
    resumed = trainer()
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))  # nothing left to do: state as loaded
    _same(saved, _state(resumed))
    other = next(a for a in OWN if a != algo)
    with pytest.raises(ConfigError, match=f"was written by algo={algo}, not algo={other}; resume with algo={algo}"):
        plugins.algorithms.get(other)(compose_cfg(["experiment=debug", f"algo={other}"]).algo).build_trainer(
            TrainInputs(model=deepcopy(model), tokenizer=tokenizer, train_dataset=data, reward_funcs=[length],
                        reward_weights=[1.0], output_dir=str(tmp_path / "x"), seed=0, callbacks=[],
                        report_to=["none"])).train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
