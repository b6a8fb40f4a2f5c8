"""Any Hugging Face sequence-classification model as a sentiment scorer, its labels mapped by name."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core import ConfigError

__all__ = ["label_polarities", "HFSentimentClassifier"]

_STARS = re.compile(r"^\s*([1-5])\s*stars?\s*$")


def _polarity_of(label: str) -> str | None:
    """``positive`` / ``negative`` / None (neutral or unknown) from a label name.

    >>> [_polarity_of(x) for x in ("POSITIVE", "neg", "LABEL_1", "Neutral", "5 stars", "2 stars", "3 stars")]
    ['positive', 'negative', None, None, 'positive', 'negative', None]
    """
    name = label.lower()
    stars = _STARS.match(name)
    if stars:
        return {1: "negative", 2: "negative", 4: "positive", 5: "positive"}.get(int(stars.group(1)))
    has_pos, has_neg = "pos" in name, "neg" in name
    if has_pos != has_neg:
        return "positive" if has_pos else "negative"
    return None


def label_polarities(id2label: Mapping[Any, str], overrides: Mapping[str, Any] | None = None,
                     model: str = "the classifier") -> dict[str, list[int]]:
    """Class indices of each polarity, ``{"positive": [...], "negative": [...]}``, from the label
    names (positive/negative/pos/neg, "N stars"), or from ``overrides`` ``{positive: name(s),
    negative: name(s)}``. A ConfigError when the names do not reveal both polarities.

    >>> label_polarities({0: "NEGATIVE", 1: "POSITIVE"})
    {'positive': [1], 'negative': [0]}
    >>> label_polarities({0: "LABEL_0", 1: "LABEL_1"}, {"positive": "LABEL_1", "negative": ["LABEL_0"]})
    {'positive': [1], 'negative': [0]}
    """
    labels = {int(i): str(name) for i, name in id2label.items()}
    out: dict[str, list[int]] = {"positive": [], "negative": []}
    if overrides:
        by_name = {name: i for i, name in labels.items()}
        for polarity in out:
            names = overrides.get(polarity) or []
            for name in [names] if isinstance(names, str) else list(names):
                if name not in by_name:
                    raise ConfigError(f"task.classifier_labels.{polarity}: {model} has no label {name!r} "
                                      f"(its labels: {', '.join(labels.values())})")
                out[polarity].append(by_name[name])
    else:
        for i, name in sorted(labels.items()):
            polarity = _polarity_of(name)
            if polarity:
                out[polarity].append(i)
    if not out["positive"] or not out["negative"]:
        shown = ", ".join(f"{i}: {n}" for i, n in sorted(labels.items()))
        raise ConfigError(f"task.classifier={model}: cannot tell positive from negative by its label names "
                          f"({shown}); name them with '++task.classifier_labels="
                          f"{{positive: [{labels[max(labels)]}], negative: [{labels[min(labels)]}]}}'")
    return out


class HFSentimentClassifier:
    """A sequence-classification model scoring texts in [-1, 1]: P(positive) - P(negative).

    :param name_or_path: Hub id or local directory (loaded with ``from_pretrained``).
    :param labels: optional ``{positive: [...], negative: [...]}`` label names.
    :param batch_size: texts per forward pass.
    :param max_length: tokens kept per text.
    """

    def __init__(self, name_or_path: str, labels: Mapping[str, Any] | None = None, batch_size: int = 32,
                 max_length: int = 256, device: str | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            self.model = AutoModelForSequenceClassification.from_pretrained(name_or_path)
        except (OSError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(f"task.classifier={name_or_path!r} could not be loaded as a sequence-classification "
                              f"model: {first}") from None
        self.name = name_or_path
        if self.tokenizer.pad_token is None and self.tokenizer.eos_token is not None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
            self.model.config.pad_token_id = self.tokenizer.eos_token_id
        self.polarities = label_polarities(self.model.config.id2label, labels, name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval().requires_grad_(False)
        self.batch_size = batch_size
        self.max_length = max_length

    def scores(self, texts: Sequence[str]) -> list[float]:
        """P(positive) - P(negative) for each text (an empty text scores 0)."""
        import torch

        out = [0.0] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        pos, neg = self.polarities["positive"], self.polarities["negative"]
        for start in range(0, len(todo), self.batch_size):
            idx = todo[start:start + self.batch_size]
            enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                                 max_length=self.max_length).to(self.device)
            with torch.no_grad():
                probs = self.model(**enc).logits.float().softmax(-1)
            diff = probs[:, pos].sum(-1) - probs[:, neg].sum(-1)
            for i, value in zip(idx, diff.tolist()):
                out[i] = float(value)
        return out
