"""rlft task template: write a sentence that uses a given keyword."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset, DatasetDict

from core import Task, TaskConfig, chat_prompt, completion_text, evaluator, hookimpl, reward

__all__ = ["KeywordTask", "KeywordConfig", "uses_keyword", "keyword_rate"]

WORDS = """apple river garden window silver thunder candle harbor meadow lantern pencil orange
blanket castle forest violin rocket island mirror bicycle honey ladder marble needle
pillow puzzle saddle tiger tunnel valley wagon whistle anchor basket cactus dolphin
feather glacier hammer jacket kettle lemon magnet nectar oyster parrot quilt rabbit""".split()


@dataclass
class KeywordConfig(TaskConfig):
    """Settings of the keyword task."""

    test_fraction: float = field(default=0.25, metadata={"help": "Fraction of words held out."})


@reward("uses_keyword", columns=("keyword",))
def uses_keyword(prompts, completions, keyword, **_):
    """1.0 when the completion contains the keyword as a whole word, else 0.0.

    >>> uses_keyword(["p", "p"], ["An apple a day.", "A pear."], keyword=["apple", "apple"])
    [1.0, 0.0]
    """
    return [float(bool(re.search(rf"\b{re.escape(k)}\b", completion_text(c), re.IGNORECASE)))
            for c, k in zip(completions, keyword)]


@evaluator("keyword")
def keyword_rate(prompts, completions, keyword, **_):
    """Whether each completion uses its keyword (rlft averages it and adds a confidence interval)."""
    return {"usage_rate": uses_keyword(prompts, completions, keyword=keyword)}


class KeywordTask(Task):
    """Write one sentence that uses a given word; held-out words are never trained on."""

    name = "keyword"
    description = "write a sentence that uses a given word (template task)"
    config_class = KeywordConfig
    config_file = Path(__file__).with_name("keyword.yaml")

    def build_splits(self) -> DatasetDict:
        words = sorted(WORDS)
        random.Random(self.cfg.seed).shuffle(words)
        n_test = max(1, round(len(words) * self.cfg.test_fraction))

        def rows(ws):
            return Dataset.from_dict({
                "prompt": [chat_prompt(f"Write one sentence that uses the word '{w}'.", self.cfg.system_prompt)
                           for w in ws],
                "keyword": ws,
            })

        return DatasetDict({"train": rows(words[n_test:]), "test": rows(words[:n_test])})


@hookimpl
def rlft_tasks():
    """The keyword task."""
    return [KeywordTask]


@hookimpl
def rlft_rewards():
    """The keyword reward."""
    return [uses_keyword]


@hookimpl
def rlft_evaluators():
    """The keyword evaluator."""
    return [keyword_rate]
