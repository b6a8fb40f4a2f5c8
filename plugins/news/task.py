"""News generation: data-to-text briefs from structured facts, or a short article from a headline."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from core import ConfigError, Task, TaskConfig, chat_prompt, prompt_text
from core.data import DataConfig, split_rows, to_splits
from plugins.news.generator import NEWS_KINDS, generate_items
from plugins.news.loaders import load_e2e, load_table

__all__ = ["NewsConfig", "NewsTask", "MODES", "facts_prompt", "headline_prompt", "load_news_rows"]

HERE = Path(__file__).resolve().parent
MODES = ("data2text", "headline")
FACTS_INSTRUCTION = "Write a short news brief (one or two sentences) stating these facts:"
HEADLINE_INSTRUCTION = "Write a short news article (two sentences) for this headline:"


@dataclass
class NewsConfig(TaskConfig):
    """Settings of the news task."""

    data: DataConfig = field(default_factory=DataConfig, metadata={
        "help": "Data source: builtin (generated items), e2e (E2E NLG CSV: mr,ref), jsonl, or hf."})
    mode: str = field(default="data2text", metadata={
        "help": "data2text: write a brief from the facts; headline: write a short article from the headline."})
    kinds: list[str] = field(default_factory=lambda: list(NEWS_KINDS), metadata={
        "help": "builtin: kinds of items generated, in turn (match, weather, earnings, election)."})
    num_items: int = field(default=400, metadata={"help": "builtin: news items generated."})
    facts_instruction: str = field(default=FACTS_INSTRUCTION, metadata={
        "help": "data2text: the line before the facts list."})
    headline_instruction: str = field(default=HEADLINE_INSTRUCTION, metadata={
        "help": "headline: the line before the headline."})


def facts_prompt(facts: list[dict[str, str]], instruction: str = FACTS_INSTRUCTION) -> str:
    """The data-to-text user message: the instruction, then one ``name: value`` line per fact.

    >>> print(facts_prompt([{"name": "city", "value": "Kelsbury"}, {"name": "high", "value": "24°C"}], "Facts:"))
    Facts:
    city: Kelsbury
    high: 24°C
    """
    return "\n".join([instruction, *(f"{f['name'].replace('_', ' ')}: {f['value']}" for f in facts)])


def headline_prompt(headline: str, instruction: str = HEADLINE_INSTRUCTION) -> str:
    """The headline-mode user message.

    >>> headline_prompt("Rovers beat United 3-1", "Article for:")
    'Article for: Rovers beat United 3-1'
    """
    return f"{instruction} {headline}"


def load_news_rows(cfg: Any) -> list[dict[str, Any]]:
    """Rows ``{id, kind, facts, references, headline}`` for ``cfg.mode`` from ``task.data``. In
    headline mode ``facts`` are the facts the headline states (all, for external data)."""
    data, headline = cfg.data, cfg.mode == "headline"
    if data.source == "builtin":
        if cfg.num_items < 2:
            raise ConfigError(f"task.num_items={cfg.num_items} must be at least 2")
        try:
            items = generate_items(cfg.num_items, list(cfg.kinds), cfg.seed)
        except ValueError as exc:
            raise ConfigError(f"task.kinds / task.num_items: {exc}") from None
        items = items[:data.limit] if data.limit else items
        return [{"id": it["id"], "kind": it["kind"], "headline": it["headline"],
                 "facts": it["headline_facts"] if headline else it["facts"],
                 "references": [it["headline_reference"] if headline else it["reference"]]} for it in items]
    if data.source == "e2e":
        if headline:
            raise ConfigError("task.mode=headline needs headlines; E2E data has none (use task.mode=data2text)")
        if not data.path:
            raise ConfigError("task.data.source='e2e' needs task.data.path (an E2E NLG CSV with columns mr,ref)")
        return load_e2e(data.path, data.limit)
    return load_table(data.source, data.path, dict(data.columns or {}), need_facts=not headline,
                      need_headline=headline, split=data.split, name=data.name, revision=data.revision,
                      limit=data.limit)


class NewsTask(Task):
    """Write news from facts or a headline; rewarded by overlap with references and by the facts."""

    name = "news"
    description = "news briefs from structured facts or headlines (rewards: ROUGE, BLEU, chrF, facts)"
    config_class = NewsConfig
    config_file = HERE / "news.yaml"

    def build_splits(self) -> DatasetDict:
        cfg = self.cfg
        if cfg.mode not in MODES:
            raise ConfigError(f"task.mode={cfg.mode!r} is not one of: {', '.join(MODES)}")
        rows = load_news_rows(cfg)
        for row in rows:
            text = (headline_prompt(row["headline"], cfg.headline_instruction) if cfg.mode == "headline"
                    else facts_prompt(row["facts"], cfg.facts_instruction))
            row["prompt"] = chat_prompt(text, cfg.system_prompt)
        # rows with the same prompt (e.g. one input with several references) stay on one side
        train, test = split_rows(rows, cfg.data.test_fraction, cfg.seed, group=lambda r: prompt_text(r["prompt"]))
        rng = random.Random(cfg.seed)
        rng.shuffle(train)
        rng.shuffle(test)
        return to_splits(train, test)
