"""rlft's GRPO step time against a bare TRL ``GRPOTrainer`` script: same model, data and settings.

    python bench/overhead.py                 # embedded SmolLM2-135M, 4 steps x 2 rounds (a few minutes)
    python bench/overhead.py --model tiny    # seconds, for a quick look

The two trainers alternate (bare, rlft, bare, rlft...) so machine noise hits both alike; each
round starts from the same weights and seed. Reported: median step time after the first step
of each round, and the ratio rlft / bare (target: 1.03 or less).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time

import core  # noqa: F401  (first: its hub guard keeps bitsandbytes, which TRL imports, off the Hub)
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from core.algos import GRPO, TrainInputs
from core.callbacks import NonFiniteGuard, PluginBridge
from core.cli import discover
from core.config import AlgoConfig
from core.context import RunContext
from core.models import load_model
from core.outputs import JsonlWriter
from core.rewards.checked import CheckedReward, RewardLog
from plugins.sentiment.rewards import vader_sentiment
from plugins.sentiment.task import SentimentConfig, SentimentTask


class StepTimer(TrainerCallback):
    """Wall time of every optimizer step (generation + reward + backward + update)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


def settings(steps: int) -> AlgoConfig:
    return AlgoConfig(name="grpo", lr=1e-5, max_steps=steps, prompts_per_step=2, num_generations=8,
                      max_completion_length=32)


def bare_trl(model, tokenizer, dataset, cfg: AlgoConfig, out: str) -> list[float]:
    """What a user would write with TRL alone."""
    timer = StepTimer()
    args = GRPOConfig(output_dir=out, learning_rate=cfg.lr, max_steps=cfg.max_steps, per_device_train_batch_size=16,
                      num_generations=cfg.num_generations, max_completion_length=cfg.max_completion_length,
                      beta=0.0, bf16=False, gradient_checkpointing=False, report_to="none", save_strategy="no",
                      logging_steps=1, seed=42, lr_scheduler_type="constant", dataloader_pin_memory=False)
    GRPOTrainer(model=model, reward_funcs=[vader_sentiment], args=args, train_dataset=dataset,
                processing_class=tokenizer, callbacks=[timer]).train()
    return timer.times


def through_rlft(model, tokenizer, dataset, cfg: AlgoConfig, out: str) -> list[float]:
    """The same training through rlft's algorithm, reward guard, sample log and callbacks."""
    timer = StepTimer()
    ctx = RunContext(cfg=None, output_dir=out, plugins=discover())
    samples = JsonlWriter(f"{out}/samples.jsonl")
    reward = CheckedReward("vader_sentiment", vader_sentiment, 1.0, ("polarity",))
    reward.log = RewardLog({"vader_sentiment": 1.0}, samples.write)
    GRPO(cfg).build_trainer(TrainInputs(
        model=model, tokenizer=tokenizer, train_dataset=dataset, reward_funcs=[reward], reward_weights=[1.0],
        output_dir=out, seed=42, callbacks=[NonFiniteGuard(), PluginBridge(ctx), timer], report_to=["none"])).train()
    samples.close()
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m", help="embedded model name")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    base, tokenizer = load_model(f"embedded:{opts.model}")
    dataset = SentimentTask(SentimentConfig(name="sentiment")).splits()["train"].select(range(64))
    cfg = settings(opts.steps)
    results: dict[str, list[float]] = {"bare TRL": [], "rlft": []}
    for _ in range(opts.rounds):
        for name, fn in (("bare TRL", bare_trl), ("rlft", through_rlft)):
            with tempfile.TemporaryDirectory() as out:
                results[name] += fn(copy.deepcopy(base), tokenizer, dataset, cfg, out)[1:]
    print(f"{'trainer':<10}{'median step (s)':>17}{'steps':>7}")
    for name, times in results.items():
        print(f"{name:<10}{statistics.median(times):>17.3f}{len(times):>7}")
    ratio = statistics.median(results["rlft"]) / statistics.median(results["bare TRL"])
    print(f"ratio rlft / bare TRL: {ratio:.3f} (target <= 1.03: {'met' if ratio <= 1.03 else 'MISSED'})")


if __name__ == "__main__":
    main()
