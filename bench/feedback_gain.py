"""What a gain costs in human judgements: held-out gain of DPO trained on N judgements (25/50/100/200), with a
simulated rater judging the model's own pairs.

    python bench/feedback_gain.py                                  # sentiment, rater = vader_sentiment
    python bench/feedback_gain.py --sizes 25 50 --epochs 2 -- model.peft=lora   # extra overrides for every run

Every step is the command a user runs, in its own process, one at a time:

1. ``python -m core.feedback --simulate <reward> task=<task> --pairs P``: two samples of the model per train
   prompt, judged by a rater that prefers the higher ``<reward>`` (ties kept out of the pairs);
2. ``python -m core.feedback export``: the judgements as TRL preference data;
3. for each N, ``python -m core.run task=<task> algo=dpo algo.preferences=... algo.max_pairs=N`` for
   ``--epochs`` passes over the N pairs, evaluated before and after on the task's held-out prompts.

The table gives the task's headline held-out metric before -> after with 95% bootstrap intervals, the paired
bootstrap delta and verdict, the completions' perplexity under the base model, and the run's wall time.
Results go to ``<--out>/feedback_gain.{md,json,png}`` (default ``bench/results``) after every size, so a stopped
run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

from _common import machine_line, run_child

from core.results import format_ci

RESULTS = Path(__file__).parent / "results"
PPL = "quality/perplexity"


def judged_preferences(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Generate and judge ``args.pairs`` pairs, export them; return the export's summary."""
    db, prefs = work / "feedback.db", work / "prefs"
    run_child([sys.executable, "-m", "core.feedback", "--simulate", args.simulate, f"task={args.task}",
               *args.overrides, "--pairs", str(args.pairs), "--db", str(db), "--max-new-tokens",
               str(args.max_new_tokens)], work / "simulate", "generating or judging the pairs failed")
    run_child([sys.executable, "-m", "core.feedback", "export", "--db", str(db), "--out", str(prefs)],
              work / "export", "exporting the judgements failed")
    return json.loads(prefs.with_suffix(".summary.json").read_text(encoding="utf-8"))


def train_on(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """DPO on the first ``n`` decisive judgements; the run's metrics, steps and wall time."""
    steps = math.ceil(args.epochs * n / args.batch_size)
    out = work / f"dpo-{n}"
    cmd = [sys.executable, "-m", "core.run", f"task={args.task}", "algo=dpo",
           f"algo.preferences={work / 'prefs.jsonl'}", f"algo.max_pairs={n}", f"algo.max_steps={steps}",
           f"algo.batch_size={args.batch_size}", f"algo.lr={args.lr}", f"output_dir={out}", "report_to=[none]",
           "save_model=false", *args.overrides]
    wall, peak = run_child(cmd, out, f"DPO on {n} judgements failed")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"judgements": n, "steps": steps, "metrics": metrics, "wall_s": wall, "peak_rss_gb": peak}


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: the headline metric before -> after, delta and verdict, perplexity change, wall time."""
    lines = ["| judgements | DPO steps | headline metric | before [95% CI] | after [95% CI] | delta [95% CI] | verdict "
             "| perplexity under base | wall |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["metrics"]
        name = m["headline"]
        ppl_b, ppl_a = m["before"].get(PPL, {}).get("value"), m["after"].get(PPL, {}).get("value")
        ppl = f"{ppl_b:.2f} -> {ppl_a:.2f} ({ppl_a / ppl_b - 1:+.0%})" if ppl_b and ppl_a else "-"
        lines.append(f"| {r['judgements']} | {r['steps']} | {name} | {format_ci(m['before'].get(name), '.3g')} | "
                     f"{format_ci(m['after'].get(name), '.3g')} | {format_ci(m['delta'].get(name), '.3g')} | "
                     f"**{m['delta'].get(name, {}).get('verdict', '-')}** | {ppl} | {r['wall_s'] / 60:.1f} min |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], title: str, path: Path) -> None:
    """Held-out delta with its 95% interval against the number of judgements (log axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = rows[0]["metrics"]["headline"]
    xs = [r["judgements"] for r in rows]
    deltas = [r["metrics"]["delta"][name] for r in rows]
    ys = [d["value"] for d in deltas]
    err = [[y - d["ci"][0] for y, d in zip(ys, deltas)], [d["ci"][1] - y for y, d in zip(ys, deltas)]]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.errorbar(xs, ys, yerr=err, marker="o", capsize=4, label="DPO, paired 95% interval")
    ax.axhline(0.0, color="grey", linestyle="--")
    ax.set(xscale="log", xlabel="simulated judgements", ylabel=f"held-out delta, {name}", title=title)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.minorticks_off()
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(rows: list[dict[str, Any]], header: str, summary: dict[str, Any], args: argparse.Namespace) -> None:
    """``<out>/feedback_gain.{json,md,png}`` from the sizes measured so far."""
    stem = Path(args.out) / "feedback_gain"
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps({"date": str(date.today()), "header": header, "settings": vars(args),
                                                     "export": summary, "rows": rows}, indent=1) + "\n")
    stem.with_suffix(".md").write_text(f"{header}\n\n{table(rows)}\n", encoding="utf-8")
    plot(rows, f"{args.task}: rater = {args.simulate}, DPO", stem.with_suffix(".png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for pair generation and every run")
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--simulate", default="vader_sentiment", help="the reward the simulated rater follows")
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200], help="judgements per run")
    parser.add_argument("--pairs", type=int, default=None, help="pairs to generate (default: 1.4 x the largest "
                                                                "size: ties are kept out of the training pairs)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="length of the judged completions")
    parser.add_argument("--epochs", type=float, default=2.0, help="passes over the N pairs")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-6)
    parser.add_argument("--out", default=str(RESULTS), help="where the table, plot and records go")
    args = parser.parse_args()
    args.pairs = args.pairs or math.ceil(1.4 * max(args.sizes))
    work = Path(args.out) / "runs" / "feedback_gain"  # the database, the export and every run
    work.mkdir(parents=True, exist_ok=True)
    header = (f"`python {' '.join(sys.argv)}`, {date.today()}; {machine_line()}. Rater: `--simulate {args.simulate}` "
              f"on {args.pairs} pairs of the model's own completions ({args.max_new_tokens} new tokens); DPO "
              f"{args.epochs:g} epochs over N pairs, batch {args.batch_size}, lr {args.lr:g}.")
    summary = judged_preferences(args, work)
    decisive = summary.get("pairs", 0)
    print(json.dumps(summary), flush=True)
    sizes = [n for n in args.sizes if n <= decisive]
    if len(sizes) < len(args.sizes):
        print(f"only {decisive} decisive judgements: skipping sizes {sorted(set(args.sizes) - set(sizes))}")
    rows: list[dict[str, Any]] = []
    for n in sizes:
        rows.append(train_on(n, args, work))
        write(rows, header, summary, args)
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(f"\n{header}\n\n{table(rows)}")


if __name__ == "__main__":
    main()
