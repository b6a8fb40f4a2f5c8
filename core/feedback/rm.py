"""Reward model from human preferences: ``train_rm`` (TRL ``RewardTrainer``) and the ``human_rm`` reward.

The reward model is a causal LM with a scalar score head (``AutoModelForSequenceClassification``,
``num_labels=1``), by default the embedded SmolLM2. Prompt and completion are rendered to one text
the same way for training and for scoring (the chat template for conversational prompts), so a
trained model scores exactly what it learned on. LoRA (``lora=True``) trains adapters plus the head;
it helps on models of 100M+ parameters, while a tiny model trains fully.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from core.errors import ConfigError
from core.rewards.spec import reward

__all__ = ["render_pair_text", "model_path", "score_texts", "train_rm", "human_rm"]

_LOCK = threading.Lock()
_LOADED: dict[str, tuple[Any, Any]] = {}


def model_path(name: str) -> str:
    """A local directory (or Hub id) for ``name``; ``embedded:<x>`` resolves to the rlft cache."""
    from core.models import EMBEDDED_PREFIX, embedded_model_dir

    return str(embedded_model_dir(name[len(EMBEDDED_PREFIX):])) if name.startswith(EMBEDDED_PREFIX) else name


def render_pair_text(tokenizer: Any, prompt: Any, completion: Any) -> str:
    """Prompt + completion as one string, ending with the EOS token (what the score head reads).

    The completion's outer whitespace is dropped, and a plain prompt is joined to it by one space (none after
    a prompt ending in whitespace): stored pairs hold stripped texts (``core.generation.generate``), while
    trainers pass raw decodes (``" sausage"``), which tokenize differently and would score what the model never
    learned on.

    >>> class Tok: eos_token = "</s>"
    >>> render_pair_text(Tok(), "The film was", " great ") == render_pair_text(Tok(), "The film was", "great")
    True
    >>> render_pair_text(Tok(), "The film was", "great"), render_pair_text(Tok(), "Q: ", " 4")
    ('The film was great</s>', 'Q: 4</s>')
    """
    from core.rewards.spec import completion_text

    text = completion_text(completion).strip()
    if isinstance(prompt, str):
        out = prompt + (" " if text and prompt and not prompt[-1].isspace() else "") + text
    else:
        out = tokenizer.apply_chat_template(list(prompt) + [{"role": "assistant", "content": text}], tokenize=False)
    return out if out.endswith(tokenizer.eos_token) else out + tokenizer.eos_token


@torch.no_grad()
def score_texts(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 16, max_length: int = 1024) -> list[float]:
    """Scalar scores of ``texts`` under a sequence-classification reward model (eval mode, right padding)."""
    model.eval()
    tokenizer.padding_side = "right"
    out: list[float] = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[start:start + batch_size]), return_tensors="pt", padding=True, truncation=True,
                        max_length=max_length, add_special_tokens=False).to(model.device)
        out += model(**enc).logits[:, 0].float().cpu().tolist()
    return out


def _load_rm(path: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with _LOCK:
        if path not in _LOADED:
            if not Path(path).is_dir():
                raise ConfigError(f"reward 'human_rm': path={path!r} is not a directory (train one with "
                                  f"python -m core.feedback train-rm)")
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
            model.requires_grad_(False).eval()
            _LOADED[path] = (model, tokenizer)
        return _LOADED[path]


def train_rm(preferences: str | Path, out: str | Path, base: str = "embedded:smollm2-135m", lora: bool | None = None,
             epochs: float = 3.0, lr: float | None = None, batch_size: int = 8, test_fraction: float = 0.2,
             seed: int = 0, limit: int | None = None, max_length: int = 512,
             eval_preferences: str | Path | None = None, measure_before: bool = True) -> dict[str, Any]:
    """Train a reward model on an export's pairs; write ``out/`` (model, tokenizer, ``metrics.json``).

    Returns the metrics: train/held-out pair counts and held-out pairwise accuracy (the share of
    held-out pairs whose chosen side scores higher), before and after training. The held-out pairs are
    ``test_fraction`` of the file, or all of ``eval_preferences`` (then every pair of the file trains).
    ``measure_before=False`` skips the untrained measurement (``heldout_accuracy_before`` is None).
    """
    from peft import LoraConfig
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from core.feedback.export import load_preferences
    from core.models import load_tokenizer

    pairs = load_preferences(preferences, limit)
    if len(pairs) < 4:
        raise ConfigError(f"train-rm: {preferences} holds {len(pairs)} pairs; at least 4 are needed")
    path = model_path(base)
    tokenizer = load_tokenizer(path)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    lora = lora if lora is not None else sum(p.numel() for p in model.parameters()) > 50_000_000
    def render(ds: Any) -> list[dict[str, str]]:
        return [{"chosen": render_pair_text(tokenizer, r["prompt"], r["chosen"]),
                 "rejected": render_pair_text(tokenizer, r["prompt"], r["rejected"])} for r in ds]

    rows = render(pairs)
    random.Random(seed).shuffle(rows)
    if eval_preferences is not None:
        train, test = rows, render(load_preferences(eval_preferences))
    else:
        n_test = max(1, int(round(len(rows) * test_fraction)))
        train, test = rows[n_test:], rows[:n_test]

    def accuracy() -> float:
        sc = score_texts(model, tokenizer, [r["chosen"] for r in test], max_length=max_length)
        sr = score_texts(model, tokenizer, [r["rejected"] for r in test], max_length=max_length)
        return sum(c > r for c, r in zip(sc, sr)) / len(test)

    before = accuracy() if measure_before else None
    from datasets import Dataset

    args = RewardConfig(output_dir=str(out), num_train_epochs=epochs, learning_rate=lr or (1e-4 if lora else 5e-5),
                        per_device_train_batch_size=batch_size, max_length=max_length, report_to=["none"],
                        save_strategy="no", logging_steps=5, seed=seed, dataloader_pin_memory=False,
                        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    peft = LoraConfig(task_type="SEQ_CLS", r=16, lora_alpha=32, target_modules="all-linear") if lora else None
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(train), processing_class=tokenizer,
                            peft_config=peft)
    trainer.train()
    model = trainer.model.merge_and_unload() if lora else trainer.model
    after = accuracy()
    out = Path(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = {"train_pairs": len(train), "heldout_pairs": len(test), "heldout_accuracy_before": before,
               "heldout_accuracy": after, "base": base, "lora": lora, "epochs": epochs, "preferences": str(preferences)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


@reward("human_rm", factory=True)
def human_rm(path: str, batch_size: int = 16, max_length: int = 1024) -> Any:
    """Score of a reward model trained on human preferences (python -m core.feedback train-rm).

    :param path: the directory ``train-rm`` wrote.
    :param batch_size: texts per forward pass.
    :param max_length: tokens kept per prompt + completion.
    """

    def human_rm(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
        model, tokenizer = _load_rm(str(path))
        texts = [render_pair_text(tokenizer, p, c) for p, c in zip(prompts, completions)]
        return score_texts(model, tokenizer, texts, batch_size, max_length)

    return human_rm
