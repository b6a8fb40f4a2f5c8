"""The rlft plugin contract: every hook a plugin may implement.

A plugin is any module or object with functions named after these hooks and marked with
``@core.hookimpl``. Built-in tasks and third-party packages are discovered the same way,
through the ``rlft`` entry-point group::

    # pyproject.toml of a third-party package
    [project.entry-points.rlft]
    sql = "rlft_task_sql"

    # rlft_task_sql/__init__.py
    from core import hookimpl

    @hookimpl
    def rlft_tasks():
        return [SqlTask]

Collection hooks (``rlft_tasks``, ``rlft_rewards``, ``rlft_evaluators``, ``rlft_algorithms``,
``rlft_trainer_callbacks``) are called on every plugin and their lists are concatenated.
Lifecycle hooks are notifications: their return values are ignored. No hook is ``firstresult``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from transformers import TrainerCallback

    from core.algos.base import Algorithm
    from core.context import RunContext
    from core.evaluators import EvaluatorSpec
    from core.rewards.spec import RewardSpec
    from core.task import Task

__all__ = ["hookspec", "hookimpl"]

hookspec = pluggy.HookspecMarker("rlft")
hookimpl = pluggy.HookimplMarker("rlft")


@hookspec
def rlft_tasks() -> list[type[Task]]:
    """Contribute task classes.

    Each class names itself (``Task.name``), declares its config schema (``Task.config_class``)
    and may ship a YAML of documented defaults (``Task.config_file``). rlft stores that config in
    Hydra's ConfigStore under the ``task`` group, so ``task=<name>`` composes with no file copied
    into ``conf/``. Two plugins that claim the same task name are an error naming both.

    :return: a list of :class:`core.Task` subclasses.
    """


@hookspec
def rlft_rewards() -> list[RewardSpec]:
    """Contribute reward functions by name, usable by any task's ``rewards:`` list.

    A reward follows TRL's signature ``fn(prompts, completions, **columns) -> list[float | None]``
    so it also works as a plain ``GRPOTrainer(reward_funcs=[...])``. Wrap it with
    :func:`core.reward` to give it a name, a description and its required dataset columns.

    :return: a list of :class:`core.RewardSpec`.
    """


@hookspec
def rlft_evaluators() -> list[EvaluatorSpec]:
    """Contribute held-out evaluators by name, usable by any task's ``evaluators:`` list.

    An evaluator is ``fn(prompts, completions, **columns) -> dict[str, float]``; completions
    for the same prompt are contiguous, and ``prompts`` and every column are repeated once per
    completion (``len(prompts) == len(completions)``, as for rewards). Wrap it with :func:`core.evaluator`.

    :return: a list of :class:`core.EvaluatorSpec`.
    """


@hookspec
def rlft_algorithms() -> list[type[Algorithm]]:
    """Contribute RL algorithms selectable with ``algo=<name>``.

    :return: a list of :class:`core.algos.Algorithm` subclasses, each with a unique ``name``
        and a config schema stored under Hydra's ``algo`` group.
    """


@hookspec
def rlft_trainer_callbacks(run: RunContext) -> list[TrainerCallback]:
    """Contribute ``transformers.TrainerCallback`` objects to the training loop.

    :param run: the run being trained (config, task, output directory).
    :return: a list of callbacks, appended after rlft's own.
    """


@hookspec
def rlft_run_start(run: RunContext) -> None:
    """Called once the task, model and rewards are built, before the first evaluation.

    :param run: the run about to start.
    """


@hookspec
def rlft_evaluated(run: RunContext, stage: str, metrics: dict[str, float], evaluation: Any) -> None:
    """Called after each held-out evaluation.

    :param run: the current run.
    :param stage: ``"before"`` (base model), ``"step-<N>"`` (periodic) or ``"after"`` (trained model).
    :param metrics: metric name -> point value for that stage.
    :param evaluation: the full :class:`core.evaluate.Evaluation` (per-sample values, intervals).

    In a multi-task run (``task=[qa,sentiment]``) it is called once per task and stage, with that
    task's evaluation and metric names prefixed ``<task>:``.
    """


@hookspec
def rlft_train_log(run: RunContext, step: int, logs: dict[str, Any]) -> None:
    """Called whenever the trainer logs (loss, reward means per component, KL...).

    :param run: the current run.
    :param step: the global optimizer step.
    :param logs: what the trainer logged at that step.
    """


@hookspec
def rlft_run_end(run: RunContext, metrics: dict[str, Any]) -> None:
    """Called after the outputs are written.

    :param run: the finished run.
    :param metrics: the ``metrics.json`` document: ``headline``, ``before``/``after`` (value, interval),
        ``delta`` (paired interval and verdict) and ``flags`` (see :mod:`core.results`).
    """
