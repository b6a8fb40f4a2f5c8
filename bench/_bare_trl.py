"""The anchor of ``bench/learning.py --against-trl``: a bare TRL ``GRPOTrainer`` script.

    python bench/_bare_trl.py --task sentiment --minutes 12 --out bench/results/runs/sentiment-trl

It trains the task's base model on the task's own training prompts and reward functions with
TRL's default ``GRPOConfig`` (learning rate 1e-6, 8 completions of up to 512 tokens per prompt,
one prompt per step, gradient checkpointing), changing only what this machine forces: no bf16
where the CPU has no fast bfloat16, and nothing reported. It stops after ``--minutes`` of
training (the rlft run's wall time, so both get the same CPU budget) and saves the model, which
``core.eval`` then scores on the held-out split beside rlft's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import core  # noqa: F401  (first: its hub guard keeps bitsandbytes, which TRL imports, off the Hub)
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from _common import compose
from core.algos.base import bf16_supported
from core.cli import discover
from core.context import RunContext
from core.models import load_model
from core.run import build_rewards


class TimeBudget(TrainerCallback):
    """Stop training once ``seconds`` have passed since it began."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.start = seconds, time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        control.should_training_stop = time.perf_counter() - self.start >= self.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--minutes", type=float, required=True, help="training budget")
    parser.add_argument("--out", type=Path, required=True, help="where the trained model is saved")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides choosing the model and data (not algo.*)")
    args = parser.parse_args()
    cfg = compose([f"task={args.task}", *args.overrides], str(args.out))
    ctx = RunContext(cfg=cfg, output_dir=args.out, plugins=discover())
    ctx.task = ctx.plugins.tasks.get(cfg.task.name)(cfg.task)
    train = ctx.task.splits()["train"]
    rewards = build_rewards(cfg.task.rewards, ctx, train.column_names)
    model, tokenizer = load_model(cfg.model)
    forced = {"bf16": bf16_supported()}  # TRL's default bf16=True crawls (or fails) on a CPU without bf16
    if forced["bf16"] and not torch.cuda.is_available():
        forced["use_cpu"] = True
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=rewards, train_dataset=train,
        args=GRPOConfig(output_dir=str(args.out), reward_weights=[r.weight for r in rewards], report_to="none",
                        max_steps=100_000, save_strategy="no", seed=cfg.seed, **forced),
        callbacks=[TimeBudget(args.minutes * 60)])
    trainer.train()
    trainer.save_model(str(args.out / "model"))
    tokenizer.save_pretrained(str(args.out / "model"))
    print(f"bare TRL: {trainer.state.global_step} steps in {args.minutes:g} min", flush=True)


if __name__ == "__main__":
    main()
