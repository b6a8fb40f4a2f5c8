"""Pre-flight validation of a whole composed run config, before any model or dataset is loaded.

Every problem found becomes one line naming the key and the accepted range; all of them are
reported together (:class:`core.errors.ConfigErrors`), so one attempt shows everything to fix.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from omegaconf import OmegaConf

from core.errors import ConfigErrors, RlftError, did_you_mean

__all__ = ["validate", "check_config", "check_output_dir", "RUN_MARKERS"]

#: files whose presence marks a directory as holding an earlier run's outputs.
RUN_MARKERS = ("metrics.json", "samples.jsonl")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ranges(node: Any, prefix: str, rules: dict[str, tuple[Callable[[Any], bool], str]]) -> list[str]:
    problems = []
    for key, (ok, accepted) in rules.items():
        if node is None or key not in node:
            continue
        value = node.get(key)
        if not ok(value):
            problems.append(f"{prefix}.{key}={value!r}: must be {accepted}")
    return problems


def _positive(v: Any) -> bool:
    return _number(v) and v > 0


def _non_negative(v: Any) -> bool:
    return _number(v) and v >= 0


def _int_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _optional(ok: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or ok(v)


ALGO_RULES = {
    "lr": (_positive, "a positive number, e.g. 1e-5"),
    "max_steps": (_int_at_least(1), "an integer >= 1"),
    "prompts_per_step": (_int_at_least(1), "an integer >= 1"),
    "num_generations": (_int_at_least(2), "an integer >= 2 (group advantages need two completions per prompt)"),
    "max_completion_length": (_int_at_least(1), "an integer >= 1"),
    "temperature": (_positive, "a positive number (sampling needs temperature > 0)"),
    "top_p": (lambda v: _number(v) and 0 < v <= 1, "in (0, 1]"),
    "beta": (_non_negative, "a number >= 0"),
    "epsilon": (_positive, "a positive number"),
    "num_iterations": (_int_at_least(1), "an integer >= 1"),
    "gradient_accumulation_steps": (_int_at_least(1), "an integer >= 1"),
    "max_grad_norm": (_positive, "a positive number"),
    "warmup_steps": (_non_negative, "a number >= 0"),
    "weight_decay": (_non_negative, "a number >= 0"),
    "logging_steps": (_int_at_least(1), "an integer >= 1"),
    "save_steps": (_int_at_least(0), "an integer >= 0 (0: only the final model)"),
    "keep_checkpoints": (_int_at_least(1), "an integer >= 1"),
}
EVAL_RULES = {
    "max_new_tokens": (_int_at_least(1), "an integer >= 1"),
    "num_samples": (_int_at_least(1), "an integer >= 1"),
    "temperature": (_non_negative, "a number >= 0 (0: greedy)"),
    "batch_size": (_int_at_least(1), "an integer >= 1"),
    "every": (_int_at_least(0), "an integer >= 0 (0: only before and after)"),
    "confidence": (lambda v: _number(v) and 0 < v < 1, "between 0 and 1 (exclusive), e.g. 0.95"),
    "bootstrap_resamples": (_int_at_least(1), "an integer >= 1"),
}
TASK_RULES = {
    "max_prompts": (_optional(_int_at_least(1)), "null (all) or an integer >= 1"),
    "eval_prompts": (_optional(_int_at_least(1)), "null (all) or an integer >= 1"),
}
DATA_RULES = {  # core.data.DataConfig, which tasks mount at task.data
    "limit": (_optional(_int_at_least(1)), "null (all rows) or an integer >= 1"),
    "test_fraction": (lambda v: _number(v) and 0 < v < 1, "between 0 and 1 (exclusive)"),
}
LORA_RULES = {
    "r": (_int_at_least(1), "an integer >= 1"),
    "alpha": (_positive, "a positive number"),
    "dropout": (lambda v: _number(v) and 0 <= v < 1, "in [0, 1)"),
}


def _algo(cfg: Any, plugins: Any) -> list[str]:
    from core.algos.base import per_device_batch_size

    problems = _ranges(cfg.algo, "algo", ALGO_RULES)
    from transformers import SchedulerType
    from transformers.training_args import OptimizerNames

    schedulers = [s.value for s in SchedulerType]
    if cfg.algo.lr_scheduler_type not in schedulers:
        problems.append(f"algo.lr_scheduler_type={cfg.algo.lr_scheduler_type!r}: must be one of {', '.join(schedulers)}")
    optimizers = [o.value for o in OptimizerNames]
    if cfg.algo.optim not in optimizers:
        problems.append(f"algo.optim={cfg.algo.optim!r}: not a transformers optimizer name"
                        f"{did_you_mean(str(cfg.algo.optim), optimizers)}, e.g. adamw_torch_fused, adamw_torch")
    if not problems:
        try:
            per_device_batch_size(cfg.algo)
        except RlftError as exc:
            problems.append(str(exc))
    try:
        algorithm = plugins.algorithms.get(cfg.algo.name)
    except RlftError as exc:
        return problems + [f"algo.name: {exc}"]
    from core.algos.checkpoints import resumes

    if resumes(cfg.get("resume")) and not algorithm.resumable:
        problems.append(f"resume={cfg.resume}: algo={cfg.algo.name} cannot resume a run (its trainer does not load "
                        f"checkpoints); start a new run")
    return problems + list(algorithm(cfg.algo).check())


def _task(task: Any, plugins: Any, prefix: str = "task") -> list[str]:
    problems = _ranges(task, prefix, TASK_RULES)
    for i, entry in enumerate(task.get("rewards") or []):
        try:
            plugins.rewards.get(entry.name)
        except RlftError as exc:
            problems.append(f"{prefix}.rewards.{i}.name: {exc}")
        if not _number(entry.weight):
            problems.append(f"{prefix}.rewards.{i}.weight={entry.weight!r} ({entry.name}): must be a finite number")
    if OmegaConf.is_dict(task.get("data")):
        problems += _ranges(task.data, f"{prefix}.data", DATA_RULES)
    for i, name in enumerate(task.get("evaluators") or []):
        try:
            plugins.evaluators.get(name)
        except RlftError as exc:
            problems.append(f"{prefix}.evaluators.{i}: {exc}")
    return problems


def _tasks(cfg: Any, plugins: Any) -> list[str]:
    """The task, or a multi-task run's mixture (weights, caps) and each of its tasks (core.mixture)."""
    from core.mixture import MixtureConfig, is_mixture, task_view

    if not is_mixture(cfg):
        return _task(cfg.task, plugins)
    names = list(cfg.get("tasks") or {})
    if OmegaConf.get_type(cfg, "task") is not MixtureConfig:
        return [f"tasks={names} is set but task={cfg.task.name}: list the tasks in task=[...], e.g. task=[qa,sentiment]"]
    if not names:
        return ["task=mixture needs its tasks: use task=[qa,sentiment]"]
    problems = _ranges(cfg.task, "task", TASK_RULES)
    for name, weight in cfg.task.weights.items():
        if name not in names:
            problems.append(f"task.weights.{name}={weight!r}: {name!r} is not one of the tasks ({', '.join(names)})"
                            f"{did_you_mean(str(name), names)}")
        elif not (_number(weight) and weight > 0):
            problems.append(f"task.weights.{name}={weight!r}: must be a positive number")
    for name in names:
        problems += _task(task_view(cfg, name).task, plugins, f"tasks.{name}")
    return problems


def _sandbox(cfg: Any) -> list[str]:
    from core.sandbox.config import SandboxConfig

    if cfg.get("sandbox") is None:
        return []
    try:
        SandboxConfig(**OmegaConf.to_container(cfg.sandbox, resolve=True))
    except (TypeError, ValueError) as exc:
        return [str(exc).splitlines()[0]]
    return []


def _hub_reachable(timeout: float = 3.0) -> bool:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = urlparse(endpoint).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _model(cfg: Any) -> list[str]:
    from core.models import DTYPES, EMBEDDED_MODELS, EMBEDDED_PREFIX, attention_problem

    model = cfg.model
    problems = []
    if OmegaConf.is_missing(model, "name_or_path") or not model.name_or_path:
        return ["model.name_or_path is required: set model.name_or_path=<Hugging Face id or local directory> "
                "(or choose model=smollm2-135m / model=tiny)"]
    name = str(model.name_or_path)
    if model.peft not in (None, "lora"):
        problems.append(f"model.peft={model.peft!r}: must be null (full fine-tuning) or lora")
    elif model.peft == "lora":
        problems += _ranges(model.lora, "model.lora", LORA_RULES)
    if model.dtype not in DTYPES:
        problems.append(f"model.dtype={model.dtype!r}: must be one of {', '.join(DTYPES)}")
    if problem := attention_problem(model.get("attn_implementation")):
        problems.append(problem)
    if name.startswith(EMBEDDED_PREFIX):
        if name[len(EMBEDDED_PREFIX):] not in EMBEDDED_MODELS:
            problems.append(f"model.name_or_path={name!r}: embedded models are "
                            f"{', '.join(EMBEDDED_PREFIX + n for n in EMBEDDED_MODELS)}")
    elif name.startswith(("/", ".", "~")) or Path(name).expanduser().exists():
        if not Path(name).expanduser().is_dir():
            problems.append(f"model.name_or_path={name!r}: no such directory")
    else:
        problems += _hub_model(name, model.get("revision"))
    return problems


def _hub_model(name: str, revision: str | None) -> list[str]:
    """A Hub id not in the local cache while the Hub is unreachable fails now, not after minutes of retries."""
    from huggingface_hub import try_to_load_from_cache

    try:
        if isinstance(try_to_load_from_cache(name, "config.json", revision=revision), str):
            return []
    except Exception as exc:  # an id the Hub would reject anyway, e.g. "a/b/c"
        return [f"model.name_or_path={name!r}: not a local directory nor a valid Hugging Face id ({exc})"]
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if offline or not _hub_reachable():
        why = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face Hub is unreachable"
        return [f"model.name_or_path={name!r}: not a local directory, not in the Hugging Face cache, and {why}; "
                f"use a local directory or model=smollm2-135m"]
    return []


def _report_to(cfg: Any) -> list[str]:
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    backends = list(cfg.get("report_to") or [])
    if backends in ([], ["none"], ["all"]):
        return []
    available = get_available_reporting_integrations()
    problems = []
    for backend in backends:
        if backend not in INTEGRATION_TO_CALLBACK:
            problems.append(f"report_to: unknown backend {backend!r}; must be none or one of "
                            f"{', '.join(sorted(INTEGRATION_TO_CALLBACK))}")
        elif backend not in available:
            problems.append(f"report_to: backend {backend!r} is not installed (pip install {backend}); "
                            f"installed: {', '.join(available) or 'none'}; or set report_to=[none]")
    return problems


def check_output_dir(path: str | Path, key: str = "output_dir") -> list[str]:
    """Problems with using ``path`` as a fresh run directory (it may not exist yet).

    Only the first process of a multi-process launch looks for an earlier run: the others would find the
    files it has just started writing (it exits with this error for all of them otherwise).
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        return [f"{key}={str(path)!r}: is a file, not a directory"]
    first_process = int(os.environ.get("RANK", "0")) == 0
    held = [m for m in RUN_MARKERS if first_process and (path / m).exists()]
    if held:
        return [f"{key}={str(path)!r}: already holds a run ({held[0]}); choose a new directory or remove it"]
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return [f"{key}={str(path)!r}: cannot be created, {str(parent)!r} is a file"]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"{key}={str(path)!r}: cannot be created, {str(parent)!r} is not writable"]
    return []


def validate(cfg: Any, plugins: Any, output_dir: str | Path | None = None) -> list[str]:
    """Every problem of the composed config ``cfg``, one line each (empty when it is sound).

    :param output_dir: the run directory to check; None skips the check (e.g. not yet known).
    """
    problems = []
    if cfg.get("eval") is not None and cfg.eval.enabled:
        problems += _ranges(cfg.eval, "eval", EVAL_RULES)
    problems += _algo(cfg, plugins) + _tasks(cfg, plugins) + _sandbox(cfg) + _model(cfg) + _report_to(cfg)
    if output_dir is not None:
        problems += check_output_dir(output_dir)
    return problems


def check_config(cfg: Any, plugins: Any, output_dir: str | Path | None = None) -> None:
    """Raise :class:`ConfigErrors` listing every problem :func:`validate` finds."""
    problems = validate(cfg, plugins, output_dir)
    if problems:
        raise ConfigErrors(problems)
