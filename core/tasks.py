"""``python -m core.tasks``: list every discovered task with its package, rewards and evaluators.

    python -m core.tasks    # one row per task, its one-line description under it
"""

from __future__ import annotations

import sys

from core.cli import discover, exit_with_help, preflight, report_errors

__all__ = ["task_table", "main"]


def task_table() -> list[dict[str, str]]:
    """One row per task: name, package (plugin and distribution), default rewards and evaluators."""
    plugins = discover()
    rows = []
    for name in plugins.tasks:
        cls = plugins.tasks.get(name)
        cfg = preflight([f"task={name}", "output_dir=."], plugins).task
        rewards = ", ".join(f"{r.name}*{r.weight:g}" for r in cfg.rewards) or "-"
        rows.append({"task": name, "package": plugins.tasks.source(name), "rewards": rewards,
                     "evaluators": ", ".join(cfg.evaluators) or "-", "description": cls.description})
    return rows


@report_errors
def main(argv: list[str] | None = None) -> None:
    """Print the task table (plugins that failed to load are reported as warnings)."""
    exit_with_help(sys.argv[1:] if argv is None else argv, __doc__)
    rows = task_table()
    columns = ["task", "package", "rewards", "evaluators"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) if rows else len(c) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in columns))
        if row["description"]:
            print(f"  {'':<{widths['task']}}{row['description']}")


if __name__ == "__main__":
    main()
