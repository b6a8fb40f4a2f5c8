"""Sampled evaluation with and without dropping finished rows (and under bf16 autocast), side by side in one run.

    python bench/sampling.py task=codegen               # codegen's held-out prompts, its eval settings
    python bench/sampling.py task=codegen --prompts 16 --repeats 3

``generate`` computes a batch until its longest row ends; ``core.generation.compacting_generate``
drops rows that ended every ``COMPACT_EVERY`` tokens; on a CPU or GPU with fast bfloat16, two more
variants sample under bf16 autocast (``eval.bf16``, on by default there), with the keys cached in float32 as
rotary embeddings leave them (a plain ``DynamicCache``) and in bfloat16 (``core.generation.AutocastKVCache``,
rlft's). The variants sample the same held-out prompts
with the task's evaluation settings (``eval.max_new_tokens``, ``num_samples``, ``temperature``,
``batch_size``, ``stop_strings``) from the same seed, alternating, ``--repeats`` times each. The table
gives each variant's median wall time and the mean completion length in tokens (the same distribution,
sampled: a check that both variants generate alike), and the speed-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from _common import compose, machine_line


def sample(model: Any, tokenizer: Any, prompts: list[Any], cfg: Any, every: int, bf16: bool,
           float32_keys: bool = False) -> tuple[float, float]:
    """Seconds to sample ``prompts`` with compaction every ``every`` tokens (0: off), under bf16 autocast or not,
    with keys cached as attention gets them or in float32; and the mean completion length in tokens."""
    from transformers import DynamicCache

    from core import generation

    saved = generation.COMPACT_EVERY, generation.AutocastKVCache
    generation.COMPACT_EVERY = every
    if float32_keys:
        generation.AutocastKVCache = DynamicCache
    torch.manual_seed(0)
    start = time.perf_counter()
    try:
        texts = generation.generate(model, tokenizer, prompts, max_new_tokens=cfg.max_new_tokens,
                                    temperature=cfg.temperature, num_samples=cfg.num_samples,
                                    batch_size=cfg.batch_size, stop_strings=cfg.stop_strings, bf16=bf16,
                                    desc="sampling")
    finally:
        generation.COMPACT_EVERY, generation.AutocastKVCache = saved
    seconds = time.perf_counter() - start
    return seconds, statistics.mean(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16, help="held-out prompts sampled per repeat")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats of each variant")
    parser.add_argument("--every", type=int, default=None, help="compaction interval (default: COMPACT_EVERY)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. task=codegen eval.batch_size=4")
    args = parser.parse_args()
    from core import generation
    from core.algos.base import bf16_supported
    from core.cli import discover
    from core.models import load_model

    every = args.every or generation.COMPACT_EVERY
    cfg = compose(args.overrides)
    task = discover().tasks.get(cfg.task.name)(cfg.task)
    held_out = task.splits()["test"]
    prompts = list(held_out["prompt"][:args.prompts])
    model, tokenizer = load_model(cfg.model)
    variants = {"whole batch (generate)": (0, False, False), f"compacting every {every}": (every, False, False)}
    if bf16_supported():
        variants[f"compacting every {every}, bf16 autocast, float32 keys"] = (every, True, True)
        variants[f"compacting every {every}, bf16 autocast, bf16 keys"] = (every, True, False)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (n, bf16, float32_keys) in variants.items():
            runs[name].append(sample(model, tokenizer, prompts, cfg.eval, n, bf16, float32_keys))
    print(machine_line())
    e = cfg.eval
    print(f"task {cfg.task.name}: {len(prompts)} held-out prompts x {e.num_samples} samples, up to "
          f"{e.max_new_tokens} tokens, temperature {e.temperature}, batch {e.batch_size} prompts; "
          f"median of {args.repeats} alternating repeats\n")
    print("| variant | wall | mean completion tokens | speed-up |\n|---|---|---|---|")
    base = statistics.median(s for s, _ in runs["whole batch (generate)"])
    for name, results in runs.items():
        wall = statistics.median(s for s, _ in results)
        print(f"| {name} | {wall:.1f} s | {statistics.mean(n for _, n in results):.1f} | {base / wall:.2f}x |")


if __name__ == "__main__":
    main()
