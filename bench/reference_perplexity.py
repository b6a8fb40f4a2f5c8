"""How the base model scores a task's reference answers beside its own completions: the perplexity limit's scale.

    python bench/reference_perplexity.py                              # qa's gold answers (task=qa --column answers)
    python bench/reference_perplexity.py task=qa --column answers task.eval_prompts=32

Every learning result checks that training leaves its completions no more than 20% less likely under the
base model (``quality/perplexity``, tokens pooled). That check is read against the base model's own
completions, so it also measures how far the trained answers may move from the base model's style. This
script scores, on a task's held-out split with the task's evaluation settings, the base model's own
sampled completions and the task's reference answers (a column of the split; a list gives its first item)
as if they were completions: the headline metric, the base model's perplexity and the words per answer;
and, between the two, the base model's completions with 1 prompt in ``1/--mix`` answered by its
reference (perplexity pools tokens, so a few short references weigh little). Where the references'
perplexity is far above the base model's own, reaching all of them and the 20% limit pull against each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from _common import compose, machine_line

REPORTED = ("quality/perplexity", "quality/words")


def reference_texts(split: Any, column: str) -> list[str]:
    """The held-out split's ``column`` as one answer per prompt (a list's first item; an empty list: "")."""
    if column not in split.column_names:
        raise SystemExit(f"--column {column!r}: the held-out split has no such column (it has: "
                         f"{', '.join(c for c in split.column_names if c != 'prompt')})")
    texts = []
    for row, value in enumerate(split[column]):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        if not isinstance(value, str):
            raise SystemExit(f"--column {column!r}: row {row} holds {type(value).__name__}, not text")
        texts.append(value)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--column", default="answers", help="held-out column with the reference answers")
    parser.add_argument("--mix", type=float, default=0.1, help="share of prompts the middle row answers with the "
                        "reference (0.1: 1 in 10)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (default task: qa), e.g. task.eval_prompts=32")
    args = parser.parse_args()
    if not 0 < args.mix <= 1:
        parser.error(f"--mix {args.mix}: must be in (0, 1]")
    every = round(1 / args.mix)
    from core.cli import discover
    from core.context import RunContext
    from core.evaluate import evaluate
    from core.language import BaseModelScorer
    from core.mixture import build_parts
    from core.models import load_model

    task = [] if any(o.startswith("task=") for o in args.overrides) else ["task=qa"]
    cfg = compose([*task, *args.overrides])
    part = build_parts(cfg, RunContext(cfg=cfg, output_dir=Path(cfg.output_dir), plugins=discover()),
                       lambda *_, **__: None)[0]
    held_out = part.splits["test"]
    references = reference_texts(held_out, args.column)
    model, tokenizer = load_model(cfg.model)
    scorer = BaseModelScorer(model, tokenizer, lambda: (model, tokenizer))
    print(machine_line())
    e = cfg.eval
    print(f"task {cfg.task.name}: {len(held_out)} held-out prompts; completions sampled with up to "
          f"{e.max_new_tokens} new tokens, {e.num_samples} per prompt, temperature {e.temperature}\n")
    metrics = (part.headline, *REPORTED)
    print(f"| answers | {' | '.join(metrics)} |\n|---|{'---|' * len(metrics)}")

    def row(name: str, texts: list[str] | None) -> Any:
        evaluation = evaluate(model, tokenizer, held_out, e, part.rewards, part.evaluators, perplexity=scorer,
                              texts=texts, desc="sampling the base model")
        print(f"| {name} | {' | '.join(str(evaluation.estimate(m)) for m in metrics)} |")
        sys.stdout.flush()
        return evaluation

    own = row("the base model's completions", None)
    mixed = [text for p, group in enumerate(own.groups)
             for text in ([references[p]] * len(group) if p % every == 0 else [own.completions[i] for i in group])]
    row(f"the base model's, 1 prompt in {every} answered by the reference", mixed)
    row(f"the references ({args.column})", references)


if __name__ == "__main__":
    main()
