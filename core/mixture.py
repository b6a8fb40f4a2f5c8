"""Multi-task training: one model on a weighted mixture of several tasks, each scored by its own rewards.

    python -m core.run 'task=[qa,sentiment]'                     # equal weights
    python -m core.run 'task=[qa,sentiment]' task.weights.qa=3   # 3:1
    python -m core.run 'task=[qa,sentiment]' tasks.qa.max_prompts=200 tasks.sentiment.polarity=negative

Config. ``task=[qa,sentiment]`` is rlft's shorthand for ``task=mixture tasks=[qa,sentiment]``, expanded
before Hydra composes (:func:`expand_overrides`). Hydra's ``tasks`` group stores every task's config
under its own key (``tasks.qa``, ``tasks.sentiment``: that task's schema, every field an override) and
``task`` becomes the mixture (:class:`MixtureConfig`: weights and caps shared by every task). The tasks'
``recommended:`` settings are combined into ``task_settings/mixture``: each takes the **largest** value
any listed task needs (a task that recommends nothing for a key counts the default), so completions and
evaluations are long enough for every task; they show in ``--cfg job`` and your overrides win.

Training. Task ``k`` fills a share ``w_k / sum(w)`` of one training set (:func:`mix`; seeded) whose
``task`` column names each row's task. Each task's reward runs inside a :class:`RoutedReward` that scores
only its own task's rows and returns None for the others, which TRL treats as "not applicable" (its
weighted sums and group statistics are NaN-aware). ``samples.jsonl`` rows carry their ``task``.

Evaluation. Each task's held-out split is evaluated with its own rewards and evaluators; metric names
are prefixed with the task (``qa:qa/f1``), each task has its headline (``headlines`` in ``metrics.json``),
and the first task's headline leads (``headline``, learning curve).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasets import Dataset, concatenate_datasets
from hydra.core.config_store import ConfigStore
from hydra.core.object_type import ObjectType
from omegaconf import OmegaConf, open_dict

from core.config import AlgoConfig, EvalConfig
from core.errors import ConfigError, DataError, did_you_mean
from core.evaluate import Evaluation
from core.plugins import algo_settings_name
from core.results import conclude
from core.rewards.checked import CheckedReward, RewardLog

__all__ = ["MIXTURE", "TASK_COLUMN", "MixtureConfig", "TaskPart", "RoutedReward", "register_configs",
           "expand_overrides", "recommended", "is_mixture", "task_view", "mixing_weights", "shares", "mix", "build_parts",
           "training_set", "prefixed", "conclude_parts"]

log = logging.getLogger("rlft")

MIXTURE = "mixture"
#: The training-set column naming each row's task (what :class:`RoutedReward` routes on).
TASK_COLUMN = "task"
_DEFAULTS = {"algo": {f.name: f.default for f in dataclasses.fields(AlgoConfig)},
             "eval": {f.name: f.default for f in dataclasses.fields(EvalConfig)}}


@dataclass
class MixtureConfig:
    """``task`` of a multi-task run; each task's own config is ``tasks.<name>``."""

    name: str = field(default=MIXTURE, metadata={"help": "The mixture's name: its tasks joined by '+'."})
    weights: dict[str, float] = field(default_factory=dict, metadata={
        "help": "Relative mixing weight per task, e.g. task.weights.qa=3 (a task without one weighs 1)."})
    max_prompts: int | None = field(default=None, metadata={
        "help": "Cap on each task's training prompts (None: each task's own tasks.<name>.max_prompts)."})
    eval_prompts: int | None = field(default=None, metadata={
        "help": "Cap on each task's held-out prompts (None: each task's own tasks.<name>.eval_prompts)."})
    seed: int = field(default=0, metadata={"help": "Seed of the mixture: which rows fill each task's share."})


def is_mixture(cfg: Any) -> bool:
    """Whether the composed root config trains several tasks."""
    return OmegaConf.get_type(cfg, "task") is MixtureConfig or bool(cfg.get("tasks"))


def task_view(cfg: Any, key: str) -> Any:
    """The root config as a single-task run of ``tasks.<key>`` sees it: ``task`` is that task's config with the
    mixture's caps, so the task's own interpolations (``${task.classifier}``) resolve as they do alone."""
    view = copy.deepcopy(cfg)
    with open_dict(view):
        view.task = cfg.tasks[key]
        view.tasks = {}
        for cap in ("max_prompts", "eval_prompts"):
            if cfg.task[cap] is not None:
                view.task[cap] = cfg.task[cap]
    return view


def register_configs(plugins: Any) -> None:
    """Store ``task/mixture`` and, for every task config ``task/<name>``, ``tasks/<name>`` at package ``tasks.<name>``."""
    cs = ConfigStore.instance()
    if MIXTURE in plugins.tasks:
        log.warning("rlft: a plugin's task is named %r, which multi-task runs use; task=[...] will not work", MIXTURE)
        return
    cs.store(group="task", name=MIXTURE, node=MixtureConfig)
    cs.store(group="task_settings", name=MIXTURE, node={}, package="_global_")
    for name in plugins.tasks.all_names():
        node = cs.load(f"task/{name}.yaml").node
        cs.store(group="tasks", name=name, node=node, package=f"tasks.{name.partition('@')[0]}")


def _task_settings(name: str, algo: str | None) -> dict[str, Any]:
    """One task's recommended settings: for every algorithm, then (``algo``) those for that algorithm over them."""
    cs = ConfigStore.instance()
    node = cs.load(f"task_settings/{name}.yaml").node
    scoped = f"{algo_settings_name(name, algo)}.yaml" if algo is not None else None
    if scoped is not None and ObjectType.CONFIG == cs.get_type(f"task_algo_settings/{scoped}"):
        node = OmegaConf.merge(node, cs.load(f"task_algo_settings/{scoped}").node)
    return OmegaConf.to_container(node)


def recommended(names: Sequence[str], algo: str | None = None) -> dict[str, dict[str, Any]]:
    """The tasks' ``recommended:`` settings (with ``algo``: including those for that algorithm) combined: per
    key, the largest value the tasks need (a task that recommends nothing for the key counts the schema
    default); for a non-number, the first task's.

    With qa (``eval.max_new_tokens: 32``) and sentiment (none: default 48), evaluations get 48 tokens.
    """
    per_task = [_task_settings(name, algo) for name in names]
    wanted: dict[tuple[str, str], list[Any]] = {}
    for settings in per_task:
        for section, values in settings.items():
            for key, value in values.items():
                wanted.setdefault((section, key), []).append(value)
    out: dict[str, dict[str, Any]] = {}
    for (section, key), values in wanted.items():
        default = _DEFAULTS.get(section, {}).get(key)
        if len(values) < len(per_task) and _is_number(default):
            values = [*values, default]
        numbers = all(_is_number(v) for v in values)
        out.setdefault(section, {})[key] = max(values) if numbers else values[0]
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _task_list(value: str, plugins: Any) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        names = OverridesParser.create().parse_overrides([f"task={value}"])[0].value()
    except Exception as exc:
        raise ConfigError(f"task={value}: not a list of task names, e.g. task=[qa,sentiment] ({exc})") from None
    names = [str(n) for n in names]
    if not names:
        raise ConfigError("task=[]: name at least one task, e.g. task=[qa,sentiment]")
    for name in names:
        if plugins.tasks.is_ambiguous(name):
            plugins.tasks.get(name)  # raises, listing the qualified choices
        if name not in plugins.tasks:
            choices = plugins.tasks.names()
            raise ConfigError(f"unknown task {name!r} in task={value}{did_you_mean(name, choices)}; "
                              f"available: {', '.join(choices)}")
    bare = [n.partition("@")[0] for n in names]
    twice = sorted({n for n in bare if bare.count(n) > 1})
    if twice:
        raise ConfigError(f"task={value} lists {twice[0]!r} twice")
    return names


def expand_overrides(args: Sequence[str], plugins: Any) -> list[str]:
    """Rewrite ``task=[a,b]`` (or ``tasks=[a,b]``) into ``task=mixture tasks=[a,b]`` and store the mixture's
    config and combined recommended settings; a single-task command line comes back unchanged."""
    out, names, choice = list(args), None, None
    for i, arg in enumerate(args):
        key, sep, value = arg.partition("=")
        if sep and key in ("task", "tasks") and value.strip().startswith("["):
            if names is not None:
                raise ConfigError(f"{arg}: the tasks were already listed; give one list, e.g. task=[qa,sentiment]")
            names, where = _task_list(value, plugins), i
        elif sep and key == "task":
            choice = value
    if names is None:
        return out
    if choice not in (None, MIXTURE):
        raise ConfigError(f"task={choice} and {args[where]} both choose the task; give one, e.g. task=[qa,sentiment]")
    if len(names) == 1 and choice is None:  # task=[qa] is task=qa
        out[where] = f"task={names[0]}"
        return out
    cs = ConfigStore.instance()
    cs.store(group="task", name=MIXTURE, node=MixtureConfig(name="+".join(n.partition("@")[0] for n in names),
                                                              weights={n.partition("@")[0]: 1.0 for n in names}))
    cs.store(group="task_settings", name=MIXTURE, node=recommended(names), package="_global_")
    for algo in plugins.algorithms.all_names():  # each algorithm: the tasks' settings for it, combined
        cs.store(group="task_algo_settings", name=algo_settings_name(MIXTURE, algo), node=recommended(names, algo),
                 package="_global_")
    out[where:where + 1] = [*(["task=" + MIXTURE] if choice is None else []), f"tasks=[{','.join(names)}]"]
    return out


def mixing_weights(cfg: Any) -> dict[str, float]:
    """Normalised mixing weights of the run's tasks, in the order they were listed."""
    raw = {name: float(cfg.task.weights.get(name, 1.0)) for name in cfg.tasks}
    total = sum(raw.values())
    return {name: w / total for name, w in raw.items()}


def shares(weights: dict[str, float], total: int) -> dict[str, int]:
    """Split ``total`` rows by ``weights`` (largest remainder: counts sum to ``total``, each within 1 of its share).

    >>> shares({"a": 0.5, "b": 0.25, "c": 0.25}, 10)
    {'a': 5, 'b': 3, 'c': 2}
    """
    exact = {name: w * total for name, w in weights.items()}
    counts = {name: math.floor(x) for name, x in exact.items()}
    by_remainder = sorted(exact, key=lambda n: (counts[n] - exact[n], list(exact).index(n)))
    for name in by_remainder[:total - sum(counts.values())]:
        counts[name] += 1
    return counts


def mix(train: dict[str, Dataset], weights: dict[str, float], seed: int) -> Dataset:
    """One training set: task ``k`` fills ``shares(weights, total rows)[k]`` rows drawn from its split
    (shuffled, cycled when its share exceeds its split), in seeded random order, with a ``task`` column.
    Columns of other tasks are None; a column two tasks type differently is an error."""
    features: dict[str, Any] = {}
    for name, ds in train.items():
        if TASK_COLUMN in ds.column_names:
            raise DataError(f"task {name!r} has a column {TASK_COLUMN!r}, which multi-task training uses to route rows")
        for column, feature in ds.features.items():
            if features.setdefault(column, (feature, name))[0] != feature:
                other = features[column][1]
                raise DataError(f"tasks {other!r} and {name!r} both have a column {column!r} but of different types "
                                f"({features[column][0]} vs {feature}); they cannot share a training set")
    rng = np.random.default_rng(seed)
    counts = shares(weights, sum(len(ds) for ds in train.values()))
    parts = []
    for name, ds in train.items():
        order = np.concatenate([rng.permutation(len(ds)) for _ in range(max(1, -(-counts[name] // len(ds))))])
        part = ds.select(order[:counts[name]].tolist())
        for column, (feature, _) in features.items():
            if column not in part.column_names:
                part = part.add_column(column, [None] * len(part), feature=feature)
        part = part.add_column(TASK_COLUMN, [name] * len(part))
        parts.append(part.select_columns([*features, TASK_COLUMN]))
    mixed = concatenate_datasets(parts)
    return mixed.select(rng.permutation(len(mixed)).tolist())


class RoutedReward:
    """One task's reward inside a mixture: it scores only the rows whose ``task`` column names its task
    and returns None for the others (TRL: "not applicable"). Named ``<task>:<reward>``, same weight."""

    def __init__(self, task: str, reward: CheckedReward) -> None:
        self.task, self.reward = task, reward
        self.__name__ = f"{task}:{reward.__name__}"
        self.weight = reward.weight

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if TASK_COLUMN not in kwargs:
            raise DataError(f"reward {self.__name__!r} needs the {TASK_COLUMN!r} column of a multi-task training set")
        n = len(completions)
        rows = [i for i, task in enumerate(kwargs[TASK_COLUMN]) if task == self.task]
        out: list[float | None] = [None] * n
        if rows:
            pick = lambda v: [v[i] for i in rows] if isinstance(v, (list, tuple)) and len(v) == n else v  # noqa: E731
            values = self.reward([prompts[i] for i in rows], [completions[i] for i in rows],
                                 **{k: pick(v) for k, v in kwargs.items()})
            for i, value in zip(rows, values):
                out[i] = value
        return out


@dataclass
class TaskPart:
    """One task of a run: its splits, checked rewards (logging to ``log``), evaluators and headline metric.
    ``prefix`` (``"qa:"`` in a multi-task run, else empty) prefixes its metric names in the outputs;
    ``weight`` is its normalised share of the training mixture."""

    key: str
    task: Any
    splits: Any
    rewards: list[CheckedReward]
    evaluators: list[Any]
    headline: str
    log: RewardLog
    prefix: str = ""
    weight: float = 1.0


def build_parts(cfg: Any, ctx: Any, sink: Callable[[list[dict[str, Any]]], None]) -> list[TaskPart]:
    """Build every task of the run (one for a single-task run): task, capped splits, rewards, evaluators."""
    from core.run import build_rewards

    mixture = is_mixture(cfg)
    share = mixing_weights(cfg) if mixture else {cfg.task.name: 1.0}
    parts = []
    for key in cfg.tasks if mixture else [cfg.task.name]:
        view = task_view(cfg, key) if mixture else cfg
        task_cfg = view.task
        task = ctx.plugins.tasks.get(task_cfg.name)(task_cfg)
        task_ctx = dataclasses.replace(ctx, cfg=view, task=task)  # shares ctx's models and sandbox
        splits = task.splits()
        rewards = build_rewards(task_cfg.rewards, task_ctx, splits["train"].column_names)
        reward_log = RewardLog({r.__name__: r.weight for r in rewards}, sink, {"task": key} if mixture else None)
        for fn in rewards:
            fn.log = reward_log
        evaluators = [ctx.plugins.evaluators.get(name) for name in task_cfg.evaluators]
        parts.append(TaskPart(key, task, splits, rewards, evaluators, task_cfg.metric or "reward/total", reward_log,
                              f"{key}:" if mixture else "", share[key]))
        log.info("rlft: task %s: %d train / %d held-out prompts", task_cfg.name, len(splits["train"]), len(splits["test"]))
    return parts


def training_set(parts: list[TaskPart], cfg: Any) -> tuple[Dataset, list[Any]]:
    """The training dataset and the reward functions the trainer calls: a single task's own, or the
    mixture of every task's train split with each task's rewards routed to its own rows."""
    if len(parts) == 1 and not parts[0].prefix:
        return parts[0].splits["train"], list(parts[0].rewards)
    share = {p.key: p.weight for p in parts}
    dataset = mix({p.key: p.splits["train"] for p in parts}, share, cfg.task.seed)
    counts = {p.key: sum(1 for t in dataset[TASK_COLUMN] if t == p.key) for p in parts}
    log.info("rlft: mixture of %d train prompts: %s", len(dataset),
             ", ".join(f"{k} {counts[k]} ({share[k]:.0%})" for k in share))
    return dataset, [RoutedReward(p.key, r) for p in parts for r in p.rewards]


def prefixed(evaluation: Evaluation, prefix: str) -> Evaluation:
    """The evaluation with its metric names prefixed (``qa:`` in a multi-task run; ``""`` leaves them)."""
    return dataclasses.replace(evaluation, metrics={prefix + n: m for n, m in evaluation.metrics.items()})


def conclude_parts(parts: list[TaskPart], before: list[Evaluation] | None, after: list[Evaluation] | None,
                   max_perplexity_increase: float) -> dict[str, Any]:
    """The ``metrics.json`` document: :func:`core.results.conclude` for a single task; for several, each
    task's document with ``<task>:`` metric names, merged, plus ``headlines`` and ``weights`` (the first
    task's headline is ``headline``)."""
    if len(parts) == 1 and not parts[0].prefix:
        return conclude(parts[0].headline, before and before[0], after and after[0], max_perplexity_increase)
    doc: dict[str, Any] = {"headline": parts[0].prefix + parts[0].headline, "before": {}, "after": {}, "delta": {},
                           "flags": [], "headlines": {p.key: p.prefix + p.headline for p in parts},
                           "weights": {p.key: p.weight for p in parts}}
    for i, part in enumerate(parts):
        one = conclude(part.prefix + part.headline, before and prefixed(before[i], part.prefix),
                       after and prefixed(after[i], part.prefix), max_perplexity_increase)
        for section in ("before", "after", "delta"):
            doc[section].update(one[section])
        doc["flags"] += one["flags"]
    return doc
