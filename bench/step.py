"""Where one training step's time goes, for bare TRL and for rlft, side by side in one run.

    python bench/step.py                        # default sentiment run, GRPO, 3 measured steps each
    python bench/step.py task=codegen --steps 2 # any task / algo / model overrides

Each variant builds the task's real trainer and times every phase of each step: generation,
reward computation, log-prob passes without gradient (old/reference policy), the loss forward
with gradient, backward, and the optimizer. The first step is a warm-up and is not counted.

The compute limit is the time the step's training FLOPs (6 x parameters x tokens, the usual
forward + backward estimate) take at this machine's measured float32 matmul rate; the step's
fraction of that limit (limit / step time, 1.0 = as fast as the FLOPs allow) is printed with
the ratio rlft / TRL.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import time
from typing import Any

import torch
from transformers import TrainerCallback

from _common import compose, machine_line, matmul_gflops

PHASES = ("generation", "reward", "logps (no grad)", "logps (loss forward)", "backward", "optimizer")


class PhaseTimer(TrainerCallback):
    """Wraps the trainer's phase methods and collects per-step seconds."""

    def __init__(self, trainer: Any) -> None:
        self.current: dict[str, float] = collections.defaultdict(float)
        self.steps: list[tuple[float, dict[str, float], int]] = []
        self._wrap(trainer, "_generate_single_turn", lambda: "generation")
        self._wrap(trainer, "_calculate_rewards", lambda: "reward")
        self._wrap(trainer, "_get_per_token_logps_and_entropies",
                   lambda: "logps (loss forward)" if torch.is_grad_enabled() else "logps (no grad)")
        self._wrap(trainer.accelerator, "backward", lambda: "backward")
        self.trainer = trainer

    def _wrap(self, obj: Any, name: str, phase: Any) -> None:
        original = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.current[phase()] += time.perf_counter() - start

        setattr(obj, name, timed)

    def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
        self.start = time.perf_counter()

    def on_pre_optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        self.optimizer_start = time.perf_counter()

    def on_optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        self.current["optimizer"] += time.perf_counter() - self.optimizer_start

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if logs and "num_tokens" in logs:
            self.tokens_total = int(float(logs["num_tokens"]))

    def on_step_end(self, *args: Any, **kwargs: Any) -> None:
        total = time.perf_counter() - self.start
        before = sum(t for _, _, t in self.steps)
        self.steps.append((total, dict(self.current), getattr(self, "tokens_total", 0) - before))
        self.current.clear()


def measure(overrides: list[str], steps: int, variant: str) -> dict[str, Any]:
    """Run ``steps + 1`` steps of the composed run as ``variant`` ('trl' or 'rlft'); time the last ``steps``."""
    from core.algos.base import TrainInputs
    from core.cli import discover
    from core.context import RunContext
    from core.models import load_model, lora_config
    from core.run import build_rewards

    plugins = discover()
    bare = ["algo.bf16=false"] if variant == "trl" else []  # TRL's CPU default: float32 throughout
    cfg = compose([*overrides, *bare, f"algo.max_steps={steps + 1}", "report_to=[none]", "save_model=false"])
    ctx = RunContext(cfg=cfg, output_dir=cfg.output_dir, plugins=plugins)
    ctx.task = plugins.tasks.get(cfg.task.name)(cfg.task)
    splits = ctx.task.splits()
    rewards = build_rewards(cfg.task.rewards, ctx, splits["train"].column_names)
    model, tokenizer = load_model(cfg.model)
    algorithm = plugins.algorithms.get(cfg.algo.name)(cfg.algo)
    inputs = TrainInputs(model=model, tokenizer=tokenizer, train_dataset=splits["train"], reward_funcs=rewards,
                         reward_weights=[r.weight for r in rewards], output_dir=cfg.output_dir, seed=cfg.seed,
                         callbacks=[], peft_config=lora_config(cfg.model), report_to=["none"])
    import core.algos.trl_online as online

    fast, configured = online.rlft_trainer, online.configured
    if variant == "trl":  # the bare TRL trainer class, without rlft's settings on it, for this build only
        online.rlft_trainer = lambda trainer_cls: trainer_cls
        online.configured = lambda trainer, cfg: trainer
    try:
        trainer = algorithm.build_trainer(inputs)
    finally:
        online.rlft_trainer, online.configured = fast, configured
    assert (type(trainer).__name__.startswith("Rlft")) == (variant == "rlft"), type(trainer)
    timer = PhaseTimer(trainer)
    trainer.add_callback(timer)
    trainer.train()
    measured = timer.steps[1:]
    params = sum(p.numel() for p in model.parameters())
    return {"variant": variant, "step": statistics.mean(t for t, _, _ in measured),
            "phases": {p: statistics.mean(parts.get(p, 0.0) for _, parts, _ in measured) for p in PHASES},
            "tokens": statistics.mean(n for _, _, n in measured), "params": params,
            "bf16": bool(trainer.args.bf16)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="measured steps per variant (after one warm-up)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. task=codegen model.peft=lora")
    args = parser.parse_args()
    gflops = matmul_gflops(torch.float32)
    results = [measure(args.overrides, args.steps, variant) for variant in ("trl", "rlft")]
    print(machine_line())
    print(f"overrides: {' '.join(args.overrides) or '(defaults)'}; {args.steps} measured steps after 1 warm-up; "
          f"fp32 matmul {gflops:.0f} GFLOP/s; torch threads {torch.get_num_threads()}")
    print(f"\n{'phase (s/step)':<24}" + "".join(f"{r['variant'] + (' bf16' if r['bf16'] else ''):>14}"
                                          for r in results))
    for phase in PHASES:
        print(f"{phase:<24}" + "".join(f"{r['phases'][phase]:>14.2f}" for r in results))
    print(f"{'other':<24}" + "".join(f"{r['step'] - sum(r['phases'].values()):>14.2f}" for r in results))
    print(f"{'step':<24}" + "".join(f"{r['step']:>14.2f}" for r in results))
    print(f"{'tokens/step':<24}" + "".join(f"{r['tokens']:>14.0f}" for r in results))
    for r in results:
        limit = 6 * r["params"] * r["tokens"] / (gflops * 1e9)
        r["fraction"] = limit / r["step"]
        print(f"{r['variant']}: compute limit {limit:.2f} s/step (6 x {r['params'] / 1e6:.1f}M params x "
              f"{r['tokens']:.0f} tokens at {gflops:.0f} GFLOP/s); the step runs at {r['fraction']:.2f} of it "
              f"({1 / r['fraction']:.1f}x the limit)")
    trl, rlft = results
    print(f"\nrlft / TRL step time: {rlft['step'] / trl['step']:.2f} ({trl['step'] / rlft['step']:.2f}x faster)")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
