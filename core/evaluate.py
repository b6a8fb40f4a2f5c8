"""Held-out evaluation: generate, score with the task's rewards, evaluators and language quality,
and report every metric with a confidence interval.

An :class:`Evaluation` keeps each metric's per-completion values (or corpus items) grouped by
prompt, so :meth:`Evaluation.estimate` can bootstrap over prompts and :func:`compare` can run a
paired bootstrap between two evaluations of the same prompts (before and after training).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from datasets import Dataset

from core.algos.base import bf16_supported
from core.config import EvalConfig
from core.errors import ConfigError
from core.evaluators import Corpus, EvaluatorSpec, MetricValue, run_evaluator
from core.generation import as_completion, bf16_autocast, generate
from core.language import QUALITY_DIRECTIONS, Scorer, language_metrics
from core.rewards.checked import CheckedReward
from core.rewards.spec import completion_text
from core.stats import Estimate, index_interval, mean_interval, paired_index_delta, paired_mean_delta, verdict

__all__ = ["Metric", "Evaluation", "Comparison", "evaluate", "score", "compare", "use_bf16"]


@dataclass
class Metric:
    """One metric of an evaluation: per-completion values, a corpus, or a number to recompute on subsets."""

    direction: str
    values: list[float | None] | None = None
    corpus: Corpus | None = None
    recompute: Callable[[list[int]], float] | None = None
    scalar: float | None = None

    @property
    def method(self) -> str:
        """How its interval is resampled: ``jackknife`` for a corpus of distinct counts, else ``bootstrap``."""
        return "jackknife" if self.corpus is not None and self.corpus.jackknife else "bootstrap"


@dataclass
class Evaluation:
    """Metrics of completions grouped by prompt (``groups[p]`` lists prompt ``p``'s completion indices)."""

    prompts: list[Any]
    completions: list[str]
    groups: list[list[int]]
    metrics: dict[str, Metric] = field(default_factory=dict)
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0

    def per_prompt(self, name: str) -> list[float | None]:
        """A list metric averaged within each prompt (``None`` where a prompt has no value)."""
        values = self.metrics[name].values
        out = []
        for idx in self.groups:
            mine = [values[i] for i in idx if values[i] is not None]
            out.append(sum(mine) / len(mine) if mine else None)
        return out

    def statistic(self, name: str) -> Callable[[np.ndarray], float]:
        """The metric as a function of a (resampled) array of prompt indices."""
        metric = self.metrics[name]
        if metric.values is not None:
            per_prompt = np.asarray([math.nan if v is None else v for v in self.per_prompt(name)])
            return lambda idx: float(np.nanmean(per_prompt[np.asarray(idx, dtype=int)]))
        rows = lambda idx: [i for p in np.asarray(idx, dtype=int) for i in self.groups[p]]  # noqa: E731
        if metric.corpus is not None:
            corpus = metric.corpus
            return lambda idx: float(corpus.aggregate([corpus.items[i] for i in rows(idx)]))
        return lambda idx: float(metric.recompute(rows(idx)))

    def estimate(self, name: str) -> Estimate:
        """The metric with its bootstrap interval over prompts."""
        metric, opts = self.metrics[name], self._opts()
        if metric.values is not None:
            return mean_interval(self.per_prompt(name), **opts)
        return index_interval(len(self.groups), self.statistic(name), method=metric.method,
                              **{**opts, "resamples": min(opts["resamples"], 500)})

    def value(self, name: str) -> float:
        """The point value of a metric (no interval: cheap)."""
        metric = self.metrics[name]
        if metric.scalar is not None:
            return metric.scalar
        return self.statistic(name)(np.arange(len(self.groups)))

    def summary(self) -> dict[str, Estimate]:
        """Every metric with its interval, by name."""
        return {name: self.estimate(name) for name in sorted(self.metrics)}

    def _opts(self) -> dict[str, Any]:
        return dict(confidence=self.confidence, resamples=self.resamples, seed=self.seed)


@dataclass(frozen=True)
class Comparison:
    """A before -> after change of one metric: the paired delta, its direction and the verdict."""

    delta: Estimate
    direction: str
    verdict: str


def compare(before: Evaluation, after: Evaluation) -> dict[str, Comparison]:
    """Paired bootstrap of ``after - before`` for every metric both evaluations have."""
    if len(before.groups) != len(after.groups) or before.prompts != after.prompts:
        raise ValueError("a before/after comparison needs the same held-out prompts in the same order")
    out = {}
    opts = before._opts()
    for name in sorted(set(before.metrics) & set(after.metrics)):
        metric = after.metrics[name]
        if metric.values is not None and before.metrics[name].values is not None:
            delta = paired_mean_delta(before.per_prompt(name), after.per_prompt(name), **opts)
        else:
            method = "jackknife" if "jackknife" in (metric.method, before.metrics[name].method) else "bootstrap"
            delta = paired_index_delta(len(after.groups), before.statistic(name), after.statistic(name),
                                       method=method, **{**opts, "resamples": min(opts["resamples"], 500)})
        out[name] = Comparison(delta, metric.direction, verdict(delta, metric.direction))
    return out


def _from_value(value: MetricValue, direction: str, recompute: Callable[[list[int]], float]) -> Metric:
    if isinstance(value, Corpus):
        return Metric(direction, corpus=value)
    if isinstance(value, list):
        return Metric(direction, values=value)
    return Metric(direction, recompute=recompute, scalar=value)


def score(prompts: Sequence[Any], completions: Sequence[Any], columns: dict[str, list[Any]],
          rewards: Sequence[CheckedReward], evaluators: Sequence[EvaluatorSpec]) -> dict[str, Metric]:
    """Metrics of given completions: ``reward/<name>``, ``reward/total`` and every evaluator's metrics."""
    metrics: dict[str, Metric] = {}
    total = [0.0] * len(completions)
    for fn in rewards:
        values = fn(prompts, completions, **columns)
        metrics[f"reward/{fn.__name__}"] = Metric("higher", values=list(values))
        total = [t + (v or 0.0) * fn.weight for t, v in zip(total, values)]
    if rewards:
        metrics["reward/total"] = Metric("higher", values=total)
    for spec in evaluators:
        for key, value in run_evaluator(spec, prompts, completions, columns).items():
            name = f"{spec.name}/{key}" if "/" not in key else key

            def recompute(rows: list[int], spec: EvaluatorSpec = spec, key: str = key) -> float:
                sub = {c: [v[i] for i in rows] for c, v in columns.items()}
                result = run_evaluator(spec, [prompts[i] for i in rows], [completions[i] for i in rows], sub)[key]
                return float(result) if not isinstance(result, (list, Corpus)) else float("nan")

            metrics[name] = _from_value(value, spec.direction(key), recompute)
    return metrics


def use_bf16(cfg: EvalConfig) -> bool:
    """``eval.bf16`` resolved: None means where the hardware has fast bf16."""
    return bf16_supported() if cfg.bf16 is None else cfg.bf16


def _generate_all(model: Any, tokenizer: Any, prompts: list[Any], cfg: EvalConfig, desc: str) -> list[str]:
    """``num_samples`` completions per prompt for each seed, a prompt's samples contiguous."""
    seeds = list(cfg.seeds) or [0]
    if len(seeds) > 1 and cfg.temperature <= 0:
        raise ConfigError(f"eval.seeds={seeds} gives identical greedy completions: set eval.temperature > 0 "
                          f"or a single seed")
    per_seed = []
    for seed in seeds:
        torch.manual_seed(seed)
        per_seed.append(generate(model, tokenizer, prompts, max_new_tokens=cfg.max_new_tokens,
                                 temperature=cfg.temperature, num_samples=cfg.num_samples,
                                 batch_size=cfg.batch_size, stop_strings=cfg.stop_strings, desc=desc,
                                 bf16=use_bf16(cfg)))
    n = cfg.num_samples
    return [t for p in range(len(prompts)) for texts in per_seed for t in texts[p * n:(p + 1) * n]]


def evaluate(model: Any, tokenizer: Any, dataset: Dataset, cfg: EvalConfig, rewards: Sequence[CheckedReward],
             evaluators: Sequence[EvaluatorSpec], *, perplexity: Scorer | None = None,
             desc: str = "evaluating", texts: list[str] | None = None) -> Evaluation:
    """Generate completions for every held-out prompt and score them.

    :param perplexity: scores completions under the frozen base model (see
        :class:`core.language.BaseModelScorer`); when given, language quality includes perplexity.
    :param texts: completions generated before for these prompts (a prompt's contiguous, as
        :attr:`Evaluation.completions` keeps them): scored again instead of sampling new ones.
    """
    prompts = list(dataset["prompt"])
    if texts is None:
        texts = _generate_all(model, tokenizer, prompts, cfg, desc)
    elif len(texts) % max(len(prompts), 1):
        raise ValueError(f"{len(texts)} stored completions do not split evenly over {len(prompts)} prompts")
    n = len(texts) // max(len(prompts), 1)
    rep_prompts = [p for p in prompts for _ in range(n)]
    completions = [as_completion(p, t) for p, t in zip(rep_prompts, texts)]
    columns = {c: [v for v in dataset[c] for _ in range(n)] for c in dataset.column_names if c != "prompt"}
    metrics = score(rep_prompts, completions, columns, rewards, evaluators)
    if cfg.language_quality:
        with bf16_autocast(model.device.type, use_bf16(cfg)):  # perplexity's base-model pass
            quality = language_metrics(rep_prompts, completions, perplexity)
        for name, value in quality.items():
            metrics[name] = _from_value(value, QUALITY_DIRECTIONS[name], lambda rows: math.nan)
    groups = [list(range(p * n, (p + 1) * n)) for p in range(len(prompts))]
    return Evaluation(prompts, [completion_text(c) for c in completions], groups, metrics, cfg.confidence,
                      cfg.bootstrap_resamples, cfg.bootstrap_seed)
