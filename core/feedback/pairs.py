"""Pair generation: a task's train prompts, two completions each (one model sampled twice, or two
models), scored by the task's own rewards so human and automatic judgements can be compared.

It runs in a background thread of the web app (progress in the store's ``generation`` meta key),
or in the foreground for ``simulate``. With ``--simulate <reward>`` a simulated rater judges each
batch as soon as it is stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.feedback.store import Store

__all__ = ["FeedbackSettings", "single_task", "load_task", "score", "generate_pairs", "PairGenerator"]

log = logging.getLogger("rlft.feedback")


@dataclass
class FeedbackSettings:
    """Knobs of pair generation (``--pairs``, ``--model-b``...)."""

    pairs: int = 32
    batch_size: int = 8
    max_new_tokens: int = 48
    temperature: float = 0.9
    model_b: str | None = None
    seed: int = 0  # each batch samples from seed + its first row: same seed, model and prompts give the same pairs


def single_task(overrides: list[str]) -> None:
    """Refuse a task list (``task=[qa,sentiment]``): a feedback database holds the pairs, rewards and
    judgements of one task, and an export trains one task's reward model or DPO run."""
    from core.cli import discover
    from core.errors import ConfigError
    from core.mixture import expand_overrides

    listed = [o for o in expand_overrides(list(overrides), discover()) if o.startswith("tasks=")]
    if listed:
        raise ConfigError(f"task={listed[0].partition('=')[2]}: human feedback takes one task at a time; "
                          f"give task=<name> (e.g. task=qa) and use one --db per task")


def load_task(overrides: list[str]) -> tuple[Any, Any, dict[str, Any]]:
    """Compose ``overrides`` (``task=qa model=tiny ...``, one task: :func:`single_task`) and return
    ``(cfg, RunContext, splits)``."""
    from core.cli import discover, preflight
    from core.context import RunContext
    from core.errors import ConfigError
    from core.mixture import is_mixture

    single_task(overrides)
    plugins = discover()
    cfg = preflight(list(overrides) + ["output_dir=."], plugins)
    if is_mixture(cfg):  # a mixture chosen by an experiment config
        raise ConfigError(f"task={cfg.task.name}: human feedback takes one task at a time; give task=<name>")
    ctx = RunContext(cfg=cfg, output_dir=Path("."), plugins=plugins)
    ctx.task = plugins.tasks.get(cfg.task.name)(cfg.task)
    return cfg, ctx, ctx.task.splits()


def score(rewards: list[Any], prompts: list[Any], completions: list[Any], columns: dict[str, list[Any]]) -> list[float]:
    """Weighted sum of ``rewards`` (checked reward functions) per completion; None counts as 0."""
    totals = [0.0] * len(completions)
    for fn in rewards:
        for i, v in enumerate(fn(prompts, completions, **columns)):
            totals[i] += (v or 0.0) * fn.weight
    return totals


def generate_pairs(cfg: Any, ctx: Any, split: Any, settings: FeedbackSettings, store: Store,
                   stop: threading.Event | None = None, rewards: list[Any] | None = None,
                   on_batch: Callable[[], Any] | None = None) -> int:
    """Generate up to ``settings.pairs`` pairs from ``split`` into ``store``; returns how many were added.

    ``on_batch`` is called after each stored batch (the simulated rater judges it there)."""
    import torch

    from core.generation import as_completion, generate
    from core.models import load_model
    from core.rewards.spec import completion_text, prompt_text
    from core.run import build_rewards

    n = min(settings.pairs, len(split))
    store.set_meta("generation", {"done": 0, "target": n, "state": "loading model"})
    model, tokenizer = load_model(cfg.model)
    name_a = str(cfg.model.name_or_path)
    model_b = load_model(settings.model_b) if settings.model_b else None
    if rewards is None:
        rewards = build_rewards(cfg.task.rewards, ctx, split.column_names)
    done = 0
    for start in range(0, n, settings.batch_size):
        if stop is not None and stop.is_set():
            break
        rows = split.select(range(start, min(n, start + settings.batch_size)))
        prompts = list(rows["prompt"])
        kw = dict(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature, desc="pairs")
        torch.manual_seed(settings.seed + start)
        if model_b is None:
            texts = generate(model, tokenizer, prompts, num_samples=2, **kw)
            a, b = texts[0::2], texts[1::2]
        else:
            a = generate(model, tokenizer, prompts, **kw)
            b = generate(model_b[0], model_b[1], prompts, **kw)
        columns = {c: list(rows[c]) for c in rows.column_names if c != "prompt"}
        comp_a = [as_completion(p, t) for p, t in zip(prompts, a)]
        comp_b = [as_completion(p, t) for p, t in zip(prompts, b)]
        ra, rb = score(rewards, prompts, comp_a, columns), score(rewards, prompts, comp_b, columns)
        store.add_pairs([{
            "prompt": p, "prompt_text": prompt_text(p), "completion_a": completion_text(ca),
            "completion_b": completion_text(cb), "model_a": name_a, "model_b": settings.model_b or name_a,
            "reward_a": ra[i], "reward_b": rb[i], "task": cfg.task.name,
            "columns": {k: v[i] for k, v in columns.items()}}
            for i, (p, ca, cb) in enumerate(zip(prompts, comp_a, comp_b))])
        done += len(prompts)
        store.set_meta("generation", {"done": done, "target": n, "state": "generating"})
        if on_batch is not None:
            on_batch()
    store.set_meta("generation", {"done": done, "target": n, "state": "done"})
    return done


class PairGenerator(threading.Thread):
    """Runs :func:`generate_pairs` in the background; errors land in the progress, not in a traceback.

    ``rater(store, ctx)``, if given, is a simulated rater (``--simulate``): it judges each new batch, and
    the pairs already in the store; with ``generate=False`` it only judges those.
    """

    def __init__(self, overrides: list[str], settings: FeedbackSettings, store: Store,
                 rater: Callable[[Store, Any], Any] | None = None, generate: bool = True) -> None:
        super().__init__(daemon=True, name="rlft-pairs")
        self.overrides, self.settings, self.store = overrides, settings, store
        self.rater, self.generate = rater, generate
        self.stop = threading.Event()

    def run(self) -> None:  # noqa: D102 - threading.Thread API
        try:
            cfg, ctx, splits = load_task(self.overrides)
            judge = (lambda: self.rater(self.store, ctx=ctx)) if self.rater is not None else None
            if judge is not None:
                judge()
            if self.generate:
                generate_pairs(cfg, ctx, splits["train"], self.settings, self.store, self.stop, on_batch=judge)
        except Exception as exc:  # shown in the page's progress line
            log.exception("pair generation failed")
            self.store.set_meta("generation", {"state": f"failed: {type(exc).__name__}: {exc}"[:300]})
