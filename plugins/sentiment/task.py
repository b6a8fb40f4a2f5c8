"""Sentiment steering: write about a topic, rewarded for the target polarity."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset, DatasetDict

from core import ConfigError, Task, TaskConfig, chat_prompt

__all__ = ["SentimentConfig", "SentimentTask", "TEMPLATES", "load_topics"]

HERE = Path(__file__).resolve().parent
TEMPLATES = (
    "Write one sentence about {topic}.",
    "Describe {topic} in a sentence or two.",
    "Tell me briefly about {topic}.",
    "Share a short thought about {topic}.",
)


@dataclass
class SentimentConfig(TaskConfig):
    """Settings of the sentiment task."""

    polarity: str = field(default="positive", metadata={"help": "Target polarity: positive or negative."})
    test_fraction: float = field(default=0.2, metadata={"help": "Fraction of topics held out for evaluation."})


def load_topics(path: Path = HERE / "topics.txt") -> list[str]:
    """The built-in topics, one per line (``#`` starts a comment)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class SentimentTask(Task):
    """Steer generated text towards a target sentiment; held-out topics are never trained on."""

    name = "sentiment"
    description = "write about a topic with a target sentiment (reward: VADER compound)"
    config_class = SentimentConfig
    config_file = HERE / "sentiment.yaml"

    def build_splits(self) -> DatasetDict:
        cfg = self.cfg
        if cfg.polarity not in ("positive", "negative"):
            raise ConfigError(f"task.polarity={cfg.polarity!r} must be 'positive' or 'negative'")
        topics = load_topics()
        rng = random.Random(cfg.seed)
        rng.shuffle(topics)
        n_test = max(1, round(len(topics) * cfg.test_fraction))
        split_topics = {"test": topics[:n_test], "train": topics[n_test:]}

        def rows(names: list[str]) -> Dataset:
            pairs = [(t, tpl) for t in names for tpl in TEMPLATES]
            rng.shuffle(pairs)
            return Dataset.from_dict({
                "prompt": [chat_prompt(tpl.format(topic=t), cfg.system_prompt) for t, tpl in pairs],
                "topic": [t for t, _ in pairs],
                "polarity": [cfg.polarity] * len(pairs),
            })

        return DatasetDict({split: rows(names) for split, names in split_topics.items()})
