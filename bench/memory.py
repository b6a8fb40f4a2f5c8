"""Peak memory of a default run's training, and what each memory setting costs in step time, side by side.

    python bench/memory.py                         # sentiment, the variants below, 4 steps each
    python bench/memory.py task=dialogue --steps 3 # any task / model overrides

Each variant is one ``python -m core.run`` process (one at a time) with the task's recommended settings plus
the variant's overrides, evaluation off, so its peak RSS is training's: the embedded model's weights,
gradients, AdamW state, the KL reference copy, and the activations of a step's completions. The table gives
each variant's peak RSS (kernel ``ru_maxrss``) and its mean step time after the first step, both against the
full fine-tuning default measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from _common import machine_line, run_child

#: name -> overrides: full fine-tuning and LoRA, each as configured, with gradient accumulation 4 or 8 (``-ga4``:
#: a quarter of the completions' activations at a time), with gradient checkpointing (``-gc``) and with
#: bitsandbytes' 8-bit AdamW (``-8bit``: a quarter of the optimizer state).
VARIANTS = {
    "full": [],
    "full-ga4": ["algo.gradient_accumulation_steps=4"],
    "full-ga8": ["algo.gradient_accumulation_steps=8"],
    "full-8bit": ["algo.optim=adamw_8bit"],
    "full-ga2-8bit": ["algo.gradient_accumulation_steps=2", "algo.optim=adamw_8bit"],
    "full-ga4-8bit": ["algo.gradient_accumulation_steps=4", "algo.optim=adamw_8bit"],
    "full-gc": ["algo.gradient_checkpointing=true"],
    "lora": ["model.peft=lora"],
    "lora-ga4": ["model.peft=lora", "algo.gradient_accumulation_steps=4"],
    "lora-gc": ["model.peft=lora", "algo.gradient_checkpointing=true"],
    "full-heap": [],
    "lora-heap": ["model.peft=lora"],
    "full-mmap256k": [],
    "full-mmap64k": [],
    "full-mmap1m": [],
    "full-arena1": [],
    "full-trim": ["algo.trim_heap=true"],
    "full-pad32": ["+algo.trl.pad_to_multiple_of=32"],
    "full-onednn1024": [],
    "full-onednn128": [],
}
#: Variants run with extra environment: ``-heap`` keeps glibc's heap for tensors of up to 32 MiB (the threshold
#: glibc's default reaches once large blocks are freed), as before ``core.memory``; what that module saves and costs.
#: ``-mmap256k`` and ``-mmap64k`` lower ``core.memory``'s threshold (1 MiB) to 256 KiB and 64 KiB; ``-mmap1m`` keeps
#: it at 1 MiB while sampling too (as before ``core.memory.heap_for_sampling``); ``-arena1``
#: gives glibc a single heap for all threads. ``-pad32`` pads prompts and completions to multiples of 32 tokens (fewer
#: matmul shapes for oneDNN to compile and cache kernels for; codegen's default); ``-onednn1024`` and ``-onednn128``
#: give oneDNN's kernel cache its own default capacity or 128 instead of ``core.memory.cap_kernel_cache``'s.
ENV = {"full-heap": {"MALLOC_MMAP_THRESHOLD_": str(32 << 20)}, "lora-heap": {"MALLOC_MMAP_THRESHOLD_": str(32 << 20)},
       "full-mmap256k": {"MALLOC_MMAP_THRESHOLD_": str(256 << 10)},
       "full-mmap64k": {"MALLOC_MMAP_THRESHOLD_": str(64 << 10)},
       "full-mmap1m": {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)},
       "full-arena1": {"MALLOC_ARENA_MAX": "1"}, "full-onednn1024": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024"},
       "full-onednn128": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "128"}}


def measure(name: str, overrides: list[str], steps: int, out: Path) -> dict[str, object]:
    """Train one variant for ``steps`` steps; return its peak RSS (GiB) and mean step time after the first (s)."""
    cmd = [sys.executable, "-m", "core.run", *overrides, f"algo.max_steps={steps}", "eval.enabled=false",
           "save_model=false", "report_to=[none]", f"output_dir={out}"]
    wall, peak = run_child(cmd, out, f"variant {name!r}: the run failed", env={**os.environ, **ENV.get(name, {})})
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    times = [r["step_time"] for r in rows if "step_time" in r][1:]
    return {"variant": name, "peak_gb": peak, "step_s": statistics.mean(times) if times else None, "wall_s": wall}


def table(results: list[dict[str, object]]) -> str:
    """Markdown table: each variant's peak RSS and step time, and both as ratios to the first variant's."""
    base = results[0]
    lines = ["| variant | peak RSS | vs full | step | vs full |", "|---|---|---|---|---|"]
    for r in results:
        step = f"{r['step_s']:.1f} s | {r['step_s'] / base['step_s']:.2f}x" if r["step_s"] and base["step_s"] else "- | -"
        lines.append(f"| {r['variant']} | {r['peak_gb']:.2f} GiB | {r['peak_gb'] / base['peak_gb']:.2f}x | {step} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every variant")
    parser.add_argument("--steps", type=int, default=4, help="training steps per variant (the first is warm-up)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="which variants (the first is the reference of the ratios)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/memory"), help="runs and the table go here")
    args = parser.parse_args()
    machine = machine_line()
    results = [measure(name, [*args.overrides, *VARIANTS[name]], args.steps, args.out / "runs" / name)
               for name in args.variants]
    chosen = "" if args.variants == list(VARIANTS) else f" --variants {' '.join(args.variants)}"
    text = (f"`python bench/memory.py {' '.join(args.overrides)}{chosen} --steps {args.steps}`, "
            f"{time.strftime('%Y-%m-%d')}, evaluation off; {machine}\n\n{table(results)}\n")
    (args.out / "memory.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
