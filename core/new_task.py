"""``python -m core.new_task NAME [DEST]``: write a new, working task package from the template.

The result (``./rlft-task-NAME/`` by default) is ``examples/task-template`` with the package,
task, config class, YAML, reward, evaluator and entry point renamed after NAME. Then::

    pip install -e rlft-task-NAME && python -m core.tasks      # listed as NAME
    cd rlft-task-NAME && pytest                                 # runs rlft's task contract on it
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from core.cli import report_errors
from core.errors import ConfigError

__all__ = ["TEMPLATE", "scaffold", "main"]

TEMPLATE = Path(__file__).resolve().parent.parent / "examples" / "task-template"
TEMPLATE_NAME = "keyword"
SKIP = ("__pycache__", "*.egg-info", "build", "*.pyc")


def _rename(text: str, name: str) -> str:
    camel = "".join(part.capitalize() for part in name.split("_"))
    text = text.replace(TEMPLATE_NAME.capitalize(), camel)
    return re.sub(TEMPLATE_NAME, name, text)


def scaffold(name: str, dest: str | Path | None = None) -> Path:
    """Copy the template to ``dest`` (default ``./rlft-task-<name>``) renamed after task ``name``; return it."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(f"task name {name!r}: use lower-case letters, digits and underscores, starting with a letter")
    if not TEMPLATE.is_dir():
        raise ConfigError(f"the task template is not available here ({TEMPLATE}); clone rlft to use core.new_task")
    target = Path(dest or f"rlft-task-{name.replace('_', '-')}").expanduser()
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another destination")
    shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns(*SKIP))
    for path in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file():
            path.write_text(_rename(path.read_text(encoding="utf-8"), name), encoding="utf-8")
        if TEMPLATE_NAME in path.name:
            path.rename(path.with_name(_rename(path.name, name)))
    return target


@report_errors
def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m core.new_task NAME [DEST]``."""
    parser = argparse.ArgumentParser(prog="python -m core.new_task", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="task name (lower_case), used as task=NAME")
    parser.add_argument("dest", nargs="?", help="destination directory (default: ./rlft-task-NAME)")
    args = parser.parse_args(argv)
    target = scaffold(args.name, args.dest)
    print(f"wrote {target}: pip install -e {target} && python -m core.run task={args.name}")


if __name__ == "__main__":
    main()
