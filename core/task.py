"""The base class every task plugin subclasses."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from datasets import Dataset, DatasetDict

from core.config import TaskConfig
from core.errors import DataError

__all__ = ["Task", "chat_prompt"]


def chat_prompt(user: str, system: str | None = None) -> list[dict[str, str]]:
    """A conversational prompt as TRL expects it.

    >>> chat_prompt("Hi", system="Be brief.")
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": user}]


class Task:
    """A downstream task: data with a held-out split, plus default rewards and evaluators.

    Subclasses set ``name``, ``config_class`` (a :class:`TaskConfig` subclass) and, optionally,
    ``config_file`` (a YAML of documented defaults beside the plugin), then implement
    :meth:`build_splits`. Rewards and evaluators are referenced by name in the config, so a
    task knows nothing of algorithms and an algorithm knows nothing of tasks.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    config_class: ClassVar[type[TaskConfig]] = TaskConfig
    config_file: ClassVar[str | Path | None] = None

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    def build_splits(self) -> DatasetDict:
        """Return ``{"train": Dataset, "test": Dataset}``; each row has a ``prompt`` plus the
        columns its rewards and evaluators read. The ``test`` split must never reach training."""
        raise NotImplementedError

    def splits(self) -> DatasetDict:
        """:meth:`build_splits`, validated and capped by ``max_prompts`` / ``eval_prompts``."""
        splits = self.build_splits()
        for split in ("train", "test"):
            if split not in splits:
                raise DataError(f"task {self.name!r} returned no {split!r} split")
        caps = {"train": self.cfg.max_prompts, "test": self.cfg.eval_prompts}
        out = {}
        for split, cap in caps.items():
            ds: Dataset = splits[split]
            if cap is not None:
                ds = ds.select(range(min(cap, len(ds))))
            if len(ds) == 0:
                raise DataError(f"task {self.name!r}: the {split!r} split is empty (check task.max_prompts, "
                                f"task.eval_prompts and the task's data source)")
            if "prompt" not in ds.column_names:
                raise DataError(f"task {self.name!r}: the {split!r} split has no 'prompt' column "
                                f"(columns: {', '.join(ds.column_names)})")
            out[split] = ds
        return DatasetDict(out)
