"""Dialogue: reply to multi-turn conversations, rewarded for relevance, length and diversity.

Every reward and evaluator of this task is one of rlft's generic ones, chosen by name in
``dialogue.yaml``; this module only provides the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from core import ConfigError, Task, TaskConfig
from core.data import DataConfig, split_rows, to_splits
from plugins.dialogue.generator import generate_conversations
from plugins.dialogue.loaders import load_conversations

__all__ = ["DialogueConfig", "DialogueTask", "load_dialogue_rows"]

HERE = Path(__file__).resolve().parent


@dataclass
class DialogueConfig(TaskConfig):
    """Settings of the dialogue task."""

    data: DataConfig = field(default_factory=DataConfig, metadata={
        "help": "Data source: builtin (generated conversations), jsonl, or hf (a messages or utterances column)."})
    num_conversations: int = field(default=600, metadata={"help": "builtin: conversations generated."})
    max_user_turns: int = field(default=3, metadata={"help": "builtin: user turns per conversation, 1 to this."})


def load_dialogue_rows(cfg: Any) -> list[dict[str, Any]]:
    """Conversation rows from ``task.data``: generated (builtin) or loaded (jsonl, hf)."""
    data = cfg.data
    if data.source == "builtin":
        if cfg.num_conversations < 2:
            raise ConfigError(f"task.num_conversations={cfg.num_conversations} must be >= 2")
        try:
            rows = generate_conversations(cfg.num_conversations, cfg.seed, cfg.max_user_turns)
        except ValueError as exc:
            raise ConfigError(f"task.max_user_turns={cfg.max_user_turns}: {exc}") from None
        return rows[:data.limit] if data.limit else rows
    if data.source in ("jsonl", "hf"):
        return load_conversations(data)
    raise ConfigError(f"task.data.source={data.source!r} is not one of: builtin, jsonl, hf")


class DialogueTask(Task):
    """Reply to multi-turn conversations; held-out topics are never trained on."""

    name = "dialogue"
    description = "reply to multi-turn conversations (rewards: relevance, length target, distinct-n)"
    config_class = DialogueConfig
    config_file = HERE / "dialogue.yaml"

    def build_splits(self) -> DatasetDict:
        cfg = self.cfg
        rows = load_dialogue_rows(cfg)
        if len({r["topic"] for r in rows}) < 2:
            raise ConfigError("task dialogue: the data needs at least two distinct topics/conversations to hold "
                              "one out")
        train, test = split_rows(rows, cfg.data.test_fraction, cfg.seed, group=lambda r: r["topic"])
        system = cfg.system_prompt

        def row(r: dict[str, Any]) -> dict[str, Any]:
            messages = r["messages"]
            if system and messages[0]["role"] != "system":
                messages = [{"role": "system", "content": system}] + messages
            return {"prompt": messages, "reference": r["reference"], "scenario": r["scenario"],
                    "topic": r["topic"], "turns": r["turns"]}

        return to_splits([row(r) for r in train], [row(r) for r in test])
