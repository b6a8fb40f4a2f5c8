"""``python -m core.generate``: sample from any saved (or embedded) model on a task's prompts.

    python -m core.generate outputs/sentiment/<run>/model task=sentiment --num-prompts 8
    python -m core.generate embedded:smollm2-135m task=qa --split train eval.temperature=0.7 eval.num_samples=2
    python -m core.generate outputs/qa+sentiment/<run>/model 'task=[qa,sentiment]'   # --num-prompts of each task

Extra ``key=value`` arguments are Hydra overrides (``task=...``, ``task.*``, ``eval.*``). Each
sample is printed as one JSON line: prompt, completion and the task's reward components (and, with a
task list, its ``task``: each task samples its own prompts and is scored by its own rewards, as in
``core.run``, :mod:`core.mixture`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli import discover, preflight, report_errors
from core.context import RunContext
from core.generation import as_completion, generate
from core.memory import prepare_memory
from core.mixture import build_parts
from core.models import load_model
from core.rewards.spec import completion_text, prompt_text

__all__ = ["main"]


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m core.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="saved model directory, Hub id, or embedded:<name>")
    parser.add_argument("--split", default="test", choices=["train", "test"], help="which split's prompts")
    parser.add_argument("--num-prompts", type=int, default=8, help="how many prompts to sample")
    parser.add_argument("--out", type=Path, help="write JSONL here instead of stdout")
    return parser.parse_known_args(argv)


@report_errors
def main(argv: list[str] | None = None) -> None:
    """Generate completions for a task's prompts and print them with their rewards."""
    args, overrides = _parse(sys.argv[1:] if argv is None else argv)
    prepare_memory()  # before any model loads
    plugins = discover()
    cfg = preflight([*overrides, f"model.name_or_path={args.model}", "output_dir=."], plugins)
    ctx = RunContext(cfg=cfg, output_dir=Path("."), plugins=plugins)
    parts = build_parts(cfg, ctx, lambda rows: None)  # one per task of task=[a,b]; no samples file
    model, tokenizer = load_model(cfg.model)
    n = cfg.eval.num_samples
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    for part in parts:
        dataset = part.splits[args.split]
        dataset = dataset.select(range(min(args.num_prompts, len(dataset))))
        prompts = [p for p in dataset["prompt"] for _ in range(n)]
        texts = generate(model, tokenizer, list(dataset["prompt"]), max_new_tokens=cfg.eval.max_new_tokens,
                         temperature=cfg.eval.temperature, num_samples=n, batch_size=cfg.eval.batch_size,
                         stop_strings=cfg.eval.stop_strings)
        completions = [as_completion(p, t) for p, t in zip(prompts, texts)]
        columns = {c: [v for v in dataset[c] for _ in range(n)] for c in dataset.column_names if c != "prompt"}
        per_reward = {r.__name__: r(prompts, completions, **columns) for r in part.rewards}
        for i, (prompt, completion) in enumerate(zip(prompts, completions)):
            row = {**({"task": part.key} if part.prefix else {}), "prompt": prompt_text(prompt),
                   "completion": completion_text(completion),
                   "rewards": {name: values[i] for name, values in per_reward.items()}}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.out:
        out.close()


if __name__ == "__main__":
    main()
