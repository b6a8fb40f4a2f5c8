"""Transfer between runs: start from another run's output, and remember where a model came from.

``model.name_or_path`` may name a previous run's directory (or its ``model/`` subdirectory). A
full model loads as is; a LoRA adapter (``adapter_config.json``) is merged into its base model
(``model.adapter=merge``, the default) or kept as the adapter this run continues to train
(``model.adapter=continue``).

Every saved model carries ``lineage.json``: the chain of runs that produced it, oldest first, so
a model trained on QA and then on dialogue says so in its report::

    [{"run": "outputs/qa/2026-11-24_08-00-00", "task": "qa", "algo": "grpo", "start": "embedded:smollm2-135m"},
     {"run": "outputs/dialogue/2026-11-24_09-00-00", "task": "dialogue", "algo": "grpo", "start": ".../model"}]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["LINEAGE_FILE", "resolve_run_model", "read_lineage", "write_lineage", "is_adapter"]

LINEAGE_FILE = "lineage.json"


def resolve_run_model(name: str) -> str:
    """A previous run's directory becomes its ``model/`` subdirectory; anything else is unchanged."""
    path = Path(name).expanduser()
    if path.is_dir() and (path / "metrics.json").is_file() and (path / "model").is_dir():
        return str(path / "model")
    return name


def is_adapter(path: str) -> bool:
    """Whether ``path`` is a saved PEFT adapter rather than a full model."""
    return (Path(path) / "adapter_config.json").is_file()


def read_lineage(path: str) -> list[dict[str, Any]]:
    """The lineage saved with a model directory (empty for a model no rlft run produced)."""
    file = Path(path) / LINEAGE_FILE
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else []


def write_lineage(model_dir: Path, parents: list[dict[str, Any]], run: dict[str, Any]) -> list[dict[str, Any]]:
    """Save ``parents + [run]`` as the lineage of a model written to ``model_dir``; return it."""
    chain = [*parents, run]
    (Path(model_dir) / LINEAGE_FILE).write_text(json.dumps(chain, indent=2) + "\n", encoding="utf-8")
    return chain
