"""Extractive question answering: answer a question from a context passage with a short span."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from core import ConfigError, DataError, Task, TaskConfig, chat_prompt
from core.data import DataConfig, split_rows, to_splits
from plugins.qa.generator import passage_rows
from plugins.qa.loaders import apply_unanswerable, load_squad, load_table

__all__ = ["QAConfig", "QATask", "DEFAULT_TEMPLATE", "build_prompt_text", "load_qa_rows", "take_demonstrations"]

HERE = Path(__file__).resolve().parent
log = logging.getLogger("rlft.qa")

DEFAULT_TEMPLATE = "{context}\n\nQuestion: {question}\nReply with the short answer only, copied from the text."
NO_ANSWER_HINT = ' If the text does not say, reply "{no_answer_text}".'


@dataclass
class QAConfig(TaskConfig):
    """Settings of the qa task."""

    data: DataConfig = field(default_factory=DataConfig, metadata={
        "help": "Data source: builtin (generated passages), squad (SQuAD v1.1/v2 JSON file), jsonl, or hf."})
    num_passages: int = field(default=250, metadata={"help": "builtin: passages generated (3 kinds, in turn)."})
    questions_per_passage: int = field(default=3, metadata={"help": "builtin: questions asked about each passage."})
    prompt_template: str = field(default=DEFAULT_TEMPLATE, metadata={
        "help": "User message; {context} and {question} are filled in."})
    unanswerable: str = field(default="empty", metadata={
        "help": "Questions with no gold answer (SQuAD v2): 'empty' keeps them (gold = no answer; the prompt "
                "asks for no_answer_text) or 'error' refuses the data."})
    no_answer_text: str = field(default="unanswerable", metadata={
        "help": "The reply that means 'no answer in the text' (scored as an empty prediction)."})
    fewshot: int = field(default=1, metadata={
        "help": "Solved training questions shown before each question as earlier chat turns (the question's "
                "user message, then its first gold answer as the assistant's reply); their passages are not "
                "trained on. 0: none."})


def build_prompt_text(template: str, context: str, question: str, no_answer_text: str | None = None) -> str:
    """The user message of one question (the no-answer hint is added when ``no_answer_text`` is set).

    >>> build_prompt_text("{context} Q: {question}", "Text.", "Why?")
    'Text. Q: Why?'
    >>> build_prompt_text("{context} Q: {question}", "Text.", "Why?", "unanswerable")
    'Text. Q: Why? If the text does not say, reply "unanswerable".'
    """
    try:
        text = template.format(context=context, question=question)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"task.prompt_template={template!r} is invalid ({type(exc).__name__}: {exc}); "
                          f"it may use only {{context}} and {{question}}") from None
    return text + (NO_ANSWER_HINT.format(no_answer_text=no_answer_text) if no_answer_text else "")


def load_qa_rows(cfg: Any) -> list[dict[str, Any]]:
    """Rows ``{id, context, question, answers, where}`` from ``task.data`` (builtin, squad, jsonl, hf)."""
    data = cfg.data
    if data.source == "builtin":
        if cfg.num_passages < 2 or cfg.questions_per_passage < 1:
            raise ConfigError(f"task.num_passages={cfg.num_passages} must be >= 2 and "
                              f"task.questions_per_passage={cfg.questions_per_passage} >= 1")
        try:
            rows = passage_rows(cfg.num_passages, cfg.questions_per_passage, cfg.seed)
        except ValueError as exc:
            raise ConfigError(f"task.num_passages={cfg.num_passages}: {exc}") from None
        rows = rows[:data.limit] if data.limit else rows
        return [{**r, "where": f"builtin passage {r['passage_id']}"} for r in rows]
    if data.source == "squad":
        if not data.path:
            raise ConfigError("task.data.source='squad' needs task.data.path (a SQuAD v1.1/v2 JSON file)")
        return load_squad(data.path, data.limit)
    return load_table(data.source, data.path, dict(data.columns or {}), split=data.split, name=data.name,
                      revision=data.revision, limit=data.limit)


def take_demonstrations(train: list[dict[str, Any]], k: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``k`` answerable questions from ``k`` distinct training passages, and the training rows of every other
    passage (a demonstration's passage is not trained on)."""
    if k < 0:
        raise ConfigError(f"task.fewshot={k} must be >= 0")
    demos: list[dict[str, Any]] = []
    for row in train:
        if len(demos) == k:
            break
        if row["answers"] and row["passage_id"] not in {d["passage_id"] for d in demos}:
            demos.append(row)
    used = {d["passage_id"] for d in demos}
    rest = [row for row in train if row["passage_id"] not in used]
    if len(demos) < k or not rest:
        raise DataError(f"task.fewshot={k}: {k} demonstrations need {k} training passages with an answered question "
                        f"and one more to train on; the training split has {len({r['passage_id'] for r in train})} "
                        f"passages (task.fewshot=0 shows none)")
    return demos, rest


class QATask(Task):
    """Answer a question about a passage with a short span; held-out passages are never trained on."""

    name = "qa"
    description = "answer a question from a context passage (rewards: SQuAD token F1, exact match)"
    config_class = QAConfig
    config_file = HERE / "qa.yaml"

    def build_splits(self) -> DatasetDict:
        cfg = self.cfg
        rows = load_qa_rows(cfg)
        n_unanswerable = apply_unanswerable(rows, cfg.unanswerable)
        if n_unanswerable:
            log.info("rlft: qa: %d of %d questions are unanswerable; gold is no answer, reply %r",
                     n_unanswerable, len(rows), cfg.no_answer_text)
        hint = cfg.no_answer_text if n_unanswerable else None
        for row in rows:
            row.pop("where", None)
            row.setdefault("passage_id", row["context"])
            if hint:
                row["no_answer"] = hint
        train, test = split_rows(rows, cfg.data.test_fraction, cfg.seed, group=lambda r: r["passage_id"])
        rng = random.Random(cfg.seed)
        rng.shuffle(train)
        rng.shuffle(test)
        demos, train = take_demonstrations(train, cfg.fewshot)

        def ask(row: dict[str, Any]) -> str:
            return build_prompt_text(cfg.prompt_template, row["context"], row["question"], hint)

        turns = [turn for row in demos for turn in ({"role": "user", "content": ask(row)},
                                                    {"role": "assistant", "content": row["answers"][0]})]
        for row in train + test:
            *system, user = chat_prompt(ask(row), cfg.system_prompt)
            row["prompt"] = [*system, *turns, user]
        return to_splits(train, test)
