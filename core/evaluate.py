"""Held-out evaluation: generate, then score with the task's rewards and evaluators."""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from core.config import EvalConfig
from core.evaluators import EvaluatorSpec, run_evaluator
from core.generation import as_completion, generate
from core.rewards.checked import CheckedReward

__all__ = ["evaluate", "score"]


def score(prompts: list[Any], completions: list[Any], columns: dict[str, list[Any]], rewards: list[CheckedReward],
          evaluators: list[EvaluatorSpec]) -> dict[str, float]:
    """Metrics for given completions: ``reward/<name>`` means, ``reward/total`` and every evaluator's metrics."""
    metrics: dict[str, float] = {}
    total = [0.0] * len(completions)
    for fn in rewards:
        values = fn(prompts, completions, **columns)
        present = [v for v in values if v is not None]
        metrics[f"reward/{fn.__name__}"] = sum(present) / len(present) if present else 0.0
        total = [t + (v or 0.0) * fn.weight for t, v in zip(total, values)]
    if rewards:
        metrics["reward/total"] = sum(total) / len(total)
    for spec in evaluators:
        for key, value in run_evaluator(spec, prompts, completions, columns).items():
            metrics[f"{spec.name}/{key}" if "/" not in key else key] = value
    return metrics


def evaluate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dataset: Dataset, cfg: EvalConfig,
             rewards: list[CheckedReward], evaluators: list[EvaluatorSpec], desc: str = "evaluating") -> dict[str, float]:
    """Generate ``cfg.num_samples`` completions per held-out prompt and score them."""
    prompts = list(dataset["prompt"])
    texts = generate(model, tokenizer, prompts, max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature,
                     num_samples=cfg.num_samples, batch_size=cfg.batch_size, desc=desc)
    n = cfg.num_samples
    rep_prompts = [p for p in prompts for _ in range(n)]
    completions = [as_completion(p, t) for p, t in zip(rep_prompts, texts)]
    columns = {c: [v for v in dataset[c] for _ in range(n)] for c in dataset.column_names if c != "prompt"}
    return score(rep_prompts, completions, columns, rewards, evaluators)
