"""Sentiment, in two modes: *steer* (write text with a target polarity) and *classify* (label a text)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from core import ConfigError, Task, TaskConfig, chat_prompt
from core.data import DataConfig, split_rows, to_splits
from plugins.sentiment.data import load_texts
from plugins.sentiment.reviews import generate_reviews

__all__ = ["SentimentConfig", "SentimentTask", "TEMPLATES", "CLASSIFY_INSTRUCTION", "CONTINUE_INSTRUCTION",
           "load_topics"]

HERE = Path(__file__).resolve().parent
TEMPLATES = (
    "Write one sentence about {topic}.",
    "Describe {topic} in a sentence or two.",
    "Tell me briefly about {topic}.",
    "Share a short thought about {topic}.",
)
CLASSIFY_INSTRUCTION = ("Is the sentiment of this review positive or negative? Answer with one word: "
                        "positive or negative.\n\nReview: {text}")
CONTINUE_INSTRUCTION = "Continue this text with one or two sentences:\n\n{text}"


@dataclass
class SentimentConfig(TaskConfig):
    """Settings of the sentiment task (``task.*``)."""

    mode: str = field(default="steer", metadata={
        "help": "steer: write text rewarded for the target polarity; classify: label a text's sentiment."})
    polarity: str = field(default="positive", metadata={"help": "steer: target polarity, positive or negative."})
    classifier: str = field(default="vader", metadata={
        "help": "steer: the scorer, 'vader' or a Hugging Face sequence-classification model (Hub id or path)."})
    classifier_labels: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "steer: label names of each polarity when the classifier's names do not say, "
                "e.g. {positive: [LABEL_1], negative: [LABEL_0]}."})
    test_fraction: float = field(default=0.2, metadata={
        "help": "Fraction held out for evaluation (topics in steer mode, reviewed items in classify mode)."})
    data: DataConfig = field(default_factory=DataConfig, metadata={
        "help": "builtin (topics / generated reviews), jsonl, hf, tsv (GLUE SST-2) or imdb (pos/ neg/ folders); "
                "columns text and label (classify), mapped with data.columns."})
    num_reviews: int = field(default=600, metadata={"help": "classify, builtin: labelled reviews generated."})
    label_map: dict[str, str] = field(default_factory=dict, metadata={
        "help": "Extra raw label -> positive/negative, e.g. {'4': positive} (1/0, pos/neg are built in)."})
    prefix_words: int = field(default=8, metadata={
        "help": "steer with jsonl/hf/tsv/imdb data: words of each text kept as the start to continue."})
    instruction: str | None = field(default=None, metadata={
        "help": "User message template: {text} (classify, or steer with external texts); None: the default."})
    mode_defaults: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "Rewards and evaluators of each mode; task.rewards / task.evaluators pick the current mode's."})


def load_topics(path: Path = HERE / "topics.txt") -> list[str]:
    """The built-in topics, one per line (``#`` starts a comment)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _prefix(text: str, words: int) -> str:
    """The first ``words`` words of ``text``.

    >>> _prefix("one two three four", 2)
    'one two'
    """
    return " ".join(text.split()[:words])


class SentimentTask(Task):
    """Steer generated text towards a target sentiment, or classify a text's sentiment.

    Held-out topics (steer) and held-out reviewed items (classify) are never trained on.
    """

    name = "sentiment"
    description = "steer text to a target sentiment (VADER or any HF classifier), or classify sentiment"
    config_class = SentimentConfig
    config_file = HERE / "sentiment.yaml"

    def build_splits(self) -> DatasetDict:
        cfg = self.cfg
        if cfg.mode not in ("steer", "classify"):
            raise ConfigError(f"task.mode={cfg.mode!r} must be 'steer' or 'classify'")
        if cfg.polarity not in ("positive", "negative"):
            raise ConfigError(f"task.polarity={cfg.polarity!r} must be 'positive' or 'negative'")
        if cfg.mode == "classify":
            return self._classify()
        return self._steer_topics() if cfg.data.source == "builtin" else self._steer_texts()

    def _steer_topics(self) -> DatasetDict:
        cfg = self.cfg
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

    def _user(self, default: str, text: str) -> str:
        template = self.cfg.instruction or default
        try:
            return template.format(text=text)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"task.instruction: bad template ({exc}); use {{text}} and double other braces") from None

    def _steer_texts(self) -> DatasetDict:
        cfg = self.cfg
        texts = load_texts(cfg.data, need_label=False)
        starts = list(dict.fromkeys(_prefix(r["text"], cfg.prefix_words) for r in texts))
        train, test = split_rows([{"text": s} for s in starts], cfg.test_fraction, cfg.seed)

        def rows(part: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"prompt": chat_prompt(self._user(CONTINUE_INSTRUCTION, r["text"]), cfg.system_prompt),
                     "text": r["text"], "polarity": cfg.polarity} for r in part]

        return to_splits(rows(train), rows(test))

    def _classify(self) -> DatasetDict:
        cfg = self.cfg
        if cfg.data.source == "builtin":
            reviews = generate_reviews(cfg.num_reviews, cfg.seed)
            group = (lambda r: r["item"])
        else:
            label_map = {str(k): str(v) for k, v in (cfg.label_map or {}).items()}
            reviews = load_texts(cfg.data, need_label=True, label_map=label_map)
            group = (lambda r: r["text"])
        train, test = split_rows(reviews, cfg.test_fraction, cfg.seed, group=group)
        rng = random.Random(cfg.seed)
        rng.shuffle(test)  # a cap (task.eval_prompts) keeps both labels

        def rows(part: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"prompt": chat_prompt(self._user(CLASSIFY_INSTRUCTION, r["text"]), cfg.system_prompt),
                     "text": r["text"], "label": r["label"]} for r in part]

        return to_splits(rows(train), rows(test))
