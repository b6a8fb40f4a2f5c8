"""Does rlft learn? Each built-in task's default run, before -> after on its held-out split.

    python bench/learning.py                      # every built-in task, one after the other
    python bench/learning.py --task qa            # one task (the table keeps the other tasks' last results)
    python bench/learning.py --task qa -- algo.max_steps=8   # extra overrides for every run
    python bench/learning.py --task sentiment --against-trl  # and a bare TRL GRPO script on the same budget
    python bench/learning.py --task codegen --seeds 42 43 44  # the spread of the gain across training seeds

Each task runs exactly as a user would start it (``python -m core.run task=<t>``), in its own
process, one at a time. The table reports the task's headline held-out metric before -> after with
95% bootstrap intervals, the paired-bootstrap delta and its verdict, the language-quality check
(perplexity of the completions under the base model), any reward-hacking flag, wall time and the
process's peak resident memory. Each task's result is kept in ``bench/results/learning-<task>.json``
(with its date and machine); ``bench/results/learning.md`` (README includes it) and a PNG of the
before/after intervals are rebuilt from all of them after every run.

``--against-trl`` then trains the same base model on the same task data and rewards with a bare
TRL ``GRPOTrainer`` script at TRL's default settings (``bench/_bare_trl.py``) for the rlft run's
wall time, scores both models and the base model on the held-out split with ``core.eval``
(paired bootstrap against the base model), and reports the held-out gain per minute of each and
their ratio, rlft over bare TRL.

``--seeds`` runs the task once per training seed (``seed=<s>``; the table's row is the first seed's run)
and adds each seed's held-out delta, their mean and its 95% t-interval across seeds. A run's bootstrap
interval covers the held-out sampling only; the spread across seeds shows how far training's own
randomness moves the result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine_line, run_child

from core.results import format_ci

TASKS = ("sentiment", "qa", "news", "dialogue", "codegen")
RESULTS = Path(__file__).parent / "results"
PPL = "quality/perplexity"
#: Records a plain re-run keeps from the task's previous result: each is a set of runs of its own.
KEPT = ("against_trl", "seeds")


def run_task(task: str, extra: list[str], out: Path) -> dict[str, Any]:
    """Run ``python -m core.run task=<task>`` in a child process; return its metrics, wall time and peak RSS."""
    # eval.cache=false: every run samples its own before-training completions, as a fresh clone's does
    cmd = [sys.executable, "-m", "core.run", f"task={task}", f"output_dir={out}", "report_to=[none]", "eval.cache=false",
           *extra]
    wall, peak = run_child(cmd, out, f"task {task}: the run failed")  # rlft refuses a directory holding a run: cleared
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"task": task, "metrics": metrics, "wall_s": wall, "peak_rss_gb": peak}


def table(results: list[dict[str, Any]]) -> str:
    """The markdown table of every task's result."""
    lines = ["| task | headline metric | before [95% CI] | after [95% CI] | delta [95% CI] | verdict | "
             "perplexity under base: before -> after | flags | wall | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def ci(entry: dict[str, Any] | None) -> str:
        return format_ci(entry, ".3g")

    for r in results:
        m, name = r["metrics"], r["metrics"]["headline"]
        ppl_b, ppl_a = m["before"].get(PPL, {}).get("value"), m["after"].get(PPL, {}).get("value")
        ppl = f"{ppl_b:.2f} -> {ppl_a:.2f} ({ppl_a / ppl_b - 1:+.0%})" if ppl_b and ppl_a else "-"
        flags = "; ".join(f.replace("possible reward hacking: ", "") for f in m["flags"]) or "none"
        lines.append(f"| {r['task']} ({r.get('date', '?')}) | {name} | {ci(m['before'].get(name))} | {ci(m['after'].get(name))} | "
                     f"{ci(m['delta'].get(name))} | **{m['delta'].get(name, {}).get('verdict', '-')}** | {ppl} | "
                     f"{flags} | {r['wall_s'] / 60:.1f} min | {r['peak_rss_gb']:.2f} GiB |")
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Before/after headline metric with 95% intervals, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(2.6 * len(results), 3.2), squeeze=False)
    for ax, r in zip(axes[0], results):
        m, name = r["metrics"], r["metrics"]["headline"]
        points = [m["before"][name], m["after"][name]]
        values = [p["value"] for p in points]
        errors = [[v - p["ci"][0] for v, p in zip(values, points)], [p["ci"][1] - v for v, p in zip(values, points)]]
        ax.bar([0, 1], values, yerr=errors, capsize=6, color=["#9aa5b1", "#2f6fb0"])
        ax.set_xticks([0, 1], ["before", "after"])
        ax.set_title(f"{r['task']}\n{name}", fontsize=9)
        ax.set_xlabel(m["delta"][name]["verdict"], fontsize=9, fontweight="bold")
    fig.suptitle("held-out headline metric, 95% bootstrap intervals", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run_bare_trl(task: str, minutes: float, out: Path, overrides: list[str]) -> float:
    """Train with the bare TRL script for ``minutes``; return its wall time in seconds."""
    cmd = [sys.executable, str(Path(__file__).with_name("_bare_trl.py")), "--task", task, "--minutes", f"{minutes:.2f}",
           "--out", str(out), *[o for o in overrides if not o.startswith(("algo.", "algo=", "eval."))]]
    return run_child(cmd, out, f"task {task}: the bare TRL run failed")[0]


def against_trl(task: str, result: dict[str, Any], runs: Path, overrides: list[str]) -> dict[str, Any]:
    """Bare TRL on the rlft run's budget, then both models beside the base on the held-out split."""
    from omegaconf import OmegaConf

    rlft_dir = runs / task
    base = OmegaConf.load(rlft_dir / "config.yaml").model.name_or_path
    trl_wall = run_bare_trl(task, result["wall_s"] / 60, runs / f"{task}-trl", overrides)
    eval_dir = runs / f"{task}-eval"
    run_child([sys.executable, "-m", "core.eval", f"task={task}", f"output_dir={eval_dir}", *overrides,
            f"model.name_or_path={base}", str(rlft_dir / "model"), str(runs / f"{task}-trl" / "model")],
           eval_dir, f"task {task}: core.eval failed")
    doc = json.loads((eval_dir / "eval.json").read_text(encoding="utf-8"))
    headline = doc["headline"]
    rlft_delta, trl_delta = (m["delta"][headline] for m in doc["models"][1:])
    return {"headline": headline, "rlft": {"delta": rlft_delta, "wall_s": result["wall_s"]},
            "trl": {"delta": trl_delta, "wall_s": trl_wall}}


def gain_ratio(versus: dict[str, Any]) -> str:
    """Held-out gain per minute, rlft over bare TRL: on the point estimates, and the conservative ratio of
    rlft's 95% lower bound over bare TRL's upper bound (both per minute)."""
    rate = {k: (versus[k]["delta"]["value"], *versus[k]["delta"]["ci"], versus[k]["wall_s"] / 60) for k in ("rlft", "trl")}
    (value, low, _, minutes), (trl_value, _, trl_high, trl_minutes) = rate["rlft"], rate["trl"]
    if trl_high <= 0:
        return "bare TRL's gain is not above 0 even at its upper bound: no finite ratio"
    point = f"{(value / minutes) / (trl_value / trl_minutes):.1f}x" if trl_value > 0 else "no finite ratio"
    if low <= 0:
        return f"**{point}** on point estimates; no conservative ratio (rlft's own interval reaches 0)"
    bound = (low / minutes) / (trl_high / trl_minutes)
    return f"**{bound:.1f}x** conservatively (rlft's lower bound / TRL's upper bound); **{point}** on point estimates"


def seed_runs(task: str, seeds: list[int], first: dict[str, Any], runs: Path, overrides: list[str]) -> list[dict[str, Any]]:
    """Each training seed's held-out delta, wall time and peak RSS; ``first`` is the run of ``seeds[0]``, the others
    run now."""
    def record(seed: int, result: dict[str, Any]) -> dict[str, Any]:
        m = result["metrics"]
        return {"seed": seed, "delta": m["delta"][m["headline"]], "wall_s": result["wall_s"],
                "peak_rss_gb": result["peak_rss_gb"]}

    return [record(seeds[0], first)] + [record(s, run_task(task, [*overrides, f"seed={s}"], runs / f"{task}-seed{s}"))
                                        for s in seeds[1:]]


def seed_spread(deltas: list[float], confidence: float = 0.95) -> tuple[float, tuple[float, float]]:
    """The mean of per-seed deltas and its Student-t interval across seeds (at least two)."""
    from scipy import stats

    if len(deltas) < 2:
        raise ValueError(f"the spread across seeds needs at least two runs, got {len(deltas)}")
    mean = statistics.fmean(deltas)
    low, high = stats.t.interval(confidence, len(deltas) - 1, loc=mean, scale=stats.sem(deltas))
    return mean, (float(low), float(high))


def record_table(results: list[dict[str, Any]], key: str, columns: list[str],
                 row: Callable[[dict[str, Any], Any], list[str]]) -> str:
    """Markdown table of the tasks whose result holds a ``key`` record, one ``row(result, record)`` each ("" if none)."""
    rows = [row(r, r[key]) for r in results if r.get(key)]
    if not rows:
        return ""
    lines = ["| " + " | ".join(cells) + " |" for cells in [columns, *rows]]
    return "\n".join([lines[0], "|" + "---|" * len(columns), *lines[1:]])


def seeds_table(results: list[dict[str, Any]]) -> str:
    """Markdown table of each task's held-out delta per training seed and across seeds (tasks run with --seeds)."""
    def row(r: dict[str, Any], seeds: list[dict[str, Any]]) -> list[str]:
        mean, (low, high) = seed_spread([s["delta"]["value"] for s in seeds])
        improved = sum(s["delta"]["verdict"] == "improved" for s in seeds)
        return [r["task"], r["metrics"]["headline"],
                "; ".join(f"{s['seed']}: {format_ci(s['delta'], '.3g')}, {s['delta']['verdict']}" for s in seeds),
                f"{mean:.3g} [{low:.3g}, {high:.3g}]", f"{improved} of {len(seeds)}",
                ", ".join(f"{s['wall_s'] / 60:.1f}" for s in seeds) + " min", highest_peak(seeds)]

    return record_table(results, "seeds", ["task", "headline metric", "per seed: delta [95% CI], verdict",
                                           "mean delta across seeds [95% t-interval]", "improved in", "wall per seed",
                                           "highest peak RSS"], row)


def highest_peak(seeds: list[dict[str, Any]]) -> str:
    """The highest peak RSS among the seeds' runs (records from before it was kept have none)."""
    known = [s["peak_rss_gb"] for s in seeds if s.get("peak_rss_gb") is not None]
    if not known:
        return "not recorded"
    return f"{max(known):.2f} GiB" + ("" if len(known) == len(seeds) else f" ({len(known)} of {len(seeds)} runs)")


def trl_table(results: list[dict[str, Any]]) -> str:
    """Markdown table of held-out gain per minute, rlft against bare TRL (tasks measured with --against-trl)."""
    def row(r: dict[str, Any], a: dict[str, Any]) -> list[str]:
        sides = [[f"{format_ci(a[k]['delta'], '.3g')}, {a[k]['delta']['verdict']}", f"{a[k]['wall_s'] / 60:.1f} min"]
                 for k in ("rlft", "trl")]
        return [r["task"], a["headline"], *sides[0], *sides[1], gain_ratio(a)]

    return record_table(results, "against_trl", ["task", "headline metric", "rlft: delta [95% CI], verdict", "wall",
                                                 "bare TRL: delta [95% CI], verdict", "wall",
                                                 "gain per minute, rlft / bare TRL"], row)


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every task's last result (``learning-<task>.json``), in the built-in task order."""
    results = []
    for task in TASKS:
        path = out / f"learning-{task}.json"
        if path.exists():
            results.append(json.loads(path.read_text(encoding="utf-8")))
    return results


def write_summary(out: Path) -> str:
    """Rebuild ``learning.md`` and ``learning.png`` from every task's last result; return the markdown."""
    results = load_results(out)
    plot(results, out / "learning.png")
    machines = sorted({f"{r['date']}, {r['machine']}" for r in results})
    text = (f"Each row: `python bench/learning.py --task <task>` (each task's defaults, one run at a time), on the "
            f"date in its row.  \n" + "  \n".join(machines) + f"\n\n{table(results)}\n\n"
            f"![before/after](results/learning.png)\n")
    versus = trl_table(results)
    if versus:
        text += ("\nAgainst a bare TRL `GRPOTrainer` script at TRL's default settings, given the rlft run's wall time "
                 "(`--against-trl`; both scored by `core.eval` against the base model on the held-out split):\n\n"
                 f"{versus}\n")
    spread = seeds_table(results)
    if spread:
        text += ("\nAcross training seeds (`--seeds`; each run's interval covers held-out sampling only, the interval "
                 f"across seeds covers training's randomness too):\n\n{spread}\n")
    (out / "learning.md").write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", choices=TASKS, help="run only this task (repeatable)")
    parser.add_argument("--against-trl", action="store_true",
                        help="also run a bare TRL GRPO script on the same budget (without it, a task keeps its last "
                             "comparison)")
    parser.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                        help="training seeds: one run per seed, the row is the first's (without it, a task keeps its "
                             "last spread)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the table, PNG and runs go")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    if args.seeds and len(set(args.seeds)) < len(args.seeds):
        parser.error(f"--seeds {' '.join(map(str, args.seeds))}: a seed given twice would count one run twice")
    args.out.mkdir(parents=True, exist_ok=True)
    for task in args.task or TASKS:
        machine = machine_line()
        first = [f"seed={args.seeds[0]}"] if args.seeds else []
        result = run_task(task, [*args.overrides, *first], args.out / "runs" / task)
        result.update(date=time.strftime("%Y-%m-%d"), machine=machine, overrides=[*args.overrides, *first])
        path = args.out / f"learning-{task}.json"
        if args.against_trl:
            result["against_trl"] = against_trl(task, result, args.out / "runs", args.overrides)
        if args.seeds and len(args.seeds) > 1:
            result["seeds"] = seed_runs(task, args.seeds, result, args.out / "runs", args.overrides)
        previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        for key in KEPT:  # each is a set of runs of its own: kept until measured again
            if key not in result and key in previous:
                result[key] = previous[key]
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(write_summary(args.out))


if __name__ == "__main__":
    main()
