"""Does rlft learn? Each built-in task's default run, before -> after on its held-out split.

    python bench/learning.py                      # every built-in task, one after the other
    python bench/learning.py --task qa            # one task
    python bench/learning.py --task qa -- algo.max_steps=8   # extra overrides for every run

Each task runs exactly as a user would start it (``python -m core.run task=<t>``), in its own
process, one at a time. The table reports the task's headline held-out metric before -> after with
95% bootstrap intervals, the paired-bootstrap delta and its verdict, the language-quality check
(perplexity of the completions under the base model), any reward-hacking flag, wall time and the
process's peak resident memory. It is written to ``bench/results/learning.md`` (README includes
it) with a PNG of the before/after intervals beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import machine_line

from core.results import format_ci

TASKS = ("sentiment", "qa", "news", "dialogue", "codegen")
RESULTS = Path(__file__).parent / "results"
PPL = "quality/perplexity"


def run_task(task: str, extra: list[str], out: Path) -> dict[str, Any]:
    """Run ``python -m core.run task=<task>`` in a child process; return its metrics, wall time and peak RSS."""
    cmd = [sys.executable, "-m", "core.run", f"task={task}", f"output_dir={out}", "report_to=[none]", *extra]
    print("$", " ".join(cmd[1:]), flush=True)
    shutil.rmtree(out, ignore_errors=True)  # rlft refuses a directory that already holds a run
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"task {task}: the run failed; see {out.with_suffix('.log')}")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"task": task, "metrics": metrics, "wall_s": wall, "peak_rss_gb": usage.ru_maxrss / 1024 ** 2}


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
        lines.append(f"| {r['task']} | {name} | {ci(m['before'].get(name))} | {ci(m['after'].get(name))} | "
                     f"{ci(m['delta'].get(name))} | **{m['delta'].get(name, {}).get('verdict', '-')}** | {ppl} | "
                     f"{flags} | {r['wall_s'] / 60:.1f} min | {r['peak_rss_gb']:.2f} GB |")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", choices=TASKS, help="run only this task (repeatable)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the table, PNG and runs go")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    tasks = args.task or list(TASKS)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d")
    header = machine_line()
    results = [run_task(t, args.overrides, args.out / "runs" / t) for t in tasks]
    name = "learning" if len(tasks) == len(TASKS) else "learning-" + "-".join(tasks)
    plot(results, args.out / f"{name}.png")
    settings = " ".join(args.overrides) or "each task's defaults"
    text = (f"Measured {stamp} by `python bench/learning.py{' --task ' + ' --task '.join(args.task) if args.task else ''}"
            f"{' ' + settings if args.overrides else ''}` ({settings}; one run at a time).  \n{header}\n\n"
            f"{table(results)}\n\n![before/after](results/{name}.png)\n")
    (args.out / f"{name}.md").write_text(text, encoding="utf-8")
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
