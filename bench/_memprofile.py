"""Where in a training step the resident memory peaks: ``python bench/_memprofile.py <core.run overrides>``.

Runs ``core.run`` in this process with a thread sampling RSS every 2 ms, and tags each sample with the phase
the trainer is in (generate+score, forward, backward, optimizer step, other); prints each phase's peak RSS per
step, and the RSS right before training starts (weights, reference model, data loaded).
"""

from __future__ import annotations

import functools
import runpy
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager

import psutil
import torch

PROC = psutil.Process()
phase = ["setup"]
peaks: dict[str, float] = defaultdict(float)
log: list[tuple[str, float]] = []
stop = threading.Event()


def sample() -> None:
    while not stop.is_set():
        rss = PROC.memory_info().rss / 1024 ** 3
        key = phase[0]
        if rss > peaks[key]:
            peaks[key] = rss
        time.sleep(0.002)


@contextmanager
def in_phase(name: str):
    prev = phase[0]
    phase[0] = name
    try:
        yield
    finally:
        phase[0] = prev


def wrap(cls: type, attr: str, name: str) -> None:
    fn = getattr(cls, attr)

    @functools.wraps(fn)
    def wrapped(*a, **k):
        with in_phase(name):
            return fn(*a, **k)

    setattr(cls, attr, wrapped)


step = [0]


def flush(tag: str) -> None:
    line = f"{tag}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(peaks.items(), key=lambda kv: -kv[1]))
    print("MEMPROFILE", line, flush=True)
    log.append((tag, max(peaks.values(), default=0.0)))
    peaks.clear()


def main() -> None:
    import os

    from transformers import Trainer

    from core.algos import fast_trl

    fast_trl.HEAD_CHUNK = int(os.environ.get("RLFT_HEAD_CHUNK", fast_trl.HEAD_CHUNK))
    from trl import GRPOTrainer

    import accelerate

    wrap(GRPOTrainer, "_generate_and_score_completions", "gen+score")
    wrap(GRPOTrainer, "compute_loss", "forward")
    wrap(accelerate.Accelerator, "backward", "backward")
    orig_train = Trainer.train

    def train(self, *a, **k):
        flush("before train")
        return orig_train(self, *a, **k)

    Trainer.train = train
    from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

    def pre(opt, args, kwargs):
        phase[0] = "optim"

    def post(opt, args, kwargs):
        phase[0] = "other"
        step[0] += 1
        flush(f"step {step[0]}")

    register_optimizer_step_pre_hook(pre)
    register_optimizer_step_post_hook(post)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    sys.argv = ["core.run", *sys.argv[1:]]
    try:
        runpy.run_module("core.run", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        flush("after")
        stop.set()
        import resource
        print(f"MEMPROFILE ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GiB",
              flush=True)


if __name__ == "__main__":
    torch.set_num_threads(torch.get_num_threads())
    main()
