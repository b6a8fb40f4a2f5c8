"""Command-line plumbing shared by ``python -m core.run`` and friends: discovery, pre-flight, errors."""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from core.config import register_schemas
from core.errors import ConfigError, RlftError, did_you_mean
from core.plugins import Plugins, load_plugins, register_task_configs

__all__ = ["CONF_DIR", "discover", "exit_with_help", "group_choices", "preflight", "report_errors",
           "run_dir_override"]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("task", "algo", "model", "experiment")


@functools.lru_cache(maxsize=1)
def discover() -> Plugins:
    """Load the plugins once per process and make their configs composable."""
    from core.mixture import register_configs

    register_schemas()
    plugins = load_plugins()
    register_task_configs(plugins)
    register_configs(plugins)  # task=mixture and the tasks/ group of multi-task runs
    return plugins


def group_choices(group: str, plugins: Plugins) -> list[str]:
    """Options of a config group: YAML files in ``conf/<group>/`` plus plugin-registered ones."""
    names = {p.stem for p in (CONF_DIR / group).glob("*.yaml")}
    if group == "task":
        from core.mixture import MIXTURE

        names |= set(plugins.tasks) | {MIXTURE}
    if group == "algo":
        names |= set(plugins.algorithms)
    return sorted(names)


def _check_group(override: str, plugins: Plugins) -> None:
    key, _, value = override.lstrip("+").partition("=")
    if key in GROUPS and value not in ("", "null"):
        registry = {"task": plugins.tasks, "algo": plugins.algorithms}.get(key)
        if registry is not None and registry.is_ambiguous(value):
            registry.get(value)  # raises, listing the qualified choices
        choices = group_choices(key, plugins)
        if value not in choices:
            failed = plugins.failures_for(value) if key == "task" else []
            if failed:
                raise ConfigError(f"task {value!r} is unavailable: {failed[0]}")
            note = f"; note: {plugins.failures[0]}" if key == "task" and plugins.failures else ""
            raise ConfigError(f"unknown {key} {value!r}{did_you_mean(value, choices)}; "
                              f"available: {', '.join(choices)}{note}")


def _check_positional(args: Sequence[str], plugins: Plugins) -> None:
    """``python -m core.run qa`` (no ``task=``) gets a suggestion instead of Hydra's "missing EQUAL"."""
    previous = ""
    for arg in args:
        if "=" not in arg and not arg.startswith("-") and not previous.startswith("-"):
            groups = [g for g in GROUPS if arg in group_choices(g, plugins)]
            hint = f"did you mean {groups[0]}={arg}?" if groups else "expected key=value, e.g. task=qa algo.lr=1e-5"
            raise ConfigError(f"argument {arg!r} is not an override: {hint}")
        previous = arg


def _default_choice(group: str) -> str | None:
    for item in OmegaConf.load(CONF_DIR / "config.yaml").get("defaults", []):
        if isinstance(item, (dict, DictConfig)) and group in item:
            return item[group]
    return None


def _run_dir(cfg: Any, overrides: Sequence[str]) -> str | None:
    """The directory a run will write to, when it is known before Hydra starts (None when resuming)."""
    from core.algos.checkpoints import resumes

    if resumes(cfg.get("resume")):
        return None
    if not OmegaConf.is_interpolation(cfg, "output_dir"):
        return str(cfg.output_dir)
    for override in overrides:
        key, _, value = override.partition("=")
        if key == "hydra.run.dir" and "${" not in value:
            return value
    return None


def run_dir_override(args: Sequence[str], cfg: Any) -> list[str]:
    """``["hydra.run.dir=<dir>"]`` when the command line names a single run's directory (``output_dir=``, or
    ``resume=`` a run or checkpoint), so that Hydra's log (``run.log``) and ``.hydra/`` record go with the run's
    outputs, not into a new ``outputs/<task>/<time>/``; ``[]`` for a sweep, an explicit ``hydra.run.dir`` or a
    default run (whose output_dir is Hydra's directory already). ``cfg``: the composed config of ``args``."""
    if {"-m", "--multirun"} & set(args) or any(a.partition("=")[0] == "hydra.run.dir" for a in args):
        return []
    from core.algos.checkpoints import resume_checkpoint, resume_path

    if resume_path(cfg.get("resume")) is not None:
        directory = str(resume_checkpoint(cfg.resume, "").parent)
    elif OmegaConf.is_interpolation(cfg, "output_dir"):
        return []
    else:
        directory = str(cfg.output_dir)
    # Hydra's quoted values: a quote is escaped, and so is each backslash before a quote or the closing quote
    quoted = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), directory)
    return [f"hydra.run.dir='{quoted}'"]


def _unknown_key(exc: BaseException, overrides: list[str]) -> ConfigError | None:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        cause = cause.__cause__ or cause.__context__
    if cause is None or not getattr(cause, "full_key", None):
        return None
    full_key = str(cause.full_key)
    parent, _, leaf = full_key.rpartition(".")
    rest = [o for o in overrides if not o.lstrip("+~").startswith(full_key)]
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            node = compose("config", overrides=rest)
        keys = list(OmegaConf.select(node, parent).keys()) if parent else list(node.keys())
    except Exception:
        keys = []
    return ConfigError(f"unknown config key {full_key!r}{did_you_mean(leaf, keys)}; "
                       f"keys under {parent or 'the root'}: {', '.join(map(str, keys))}")


def _one_line(exc: BaseException) -> str:
    """The error and its root cause's first line, e.g. "Error merging override x=y: Value 'y' ..."."""
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    head = " ".join(str(exc).split())
    cause = str(root).strip().splitlines()[0] if root is not exc and str(root).strip() else ""
    return f"{head}: {cause}" if cause else head


def preflight(args: Sequence[str], plugins: Plugins, full: bool = False) -> Any:
    """Compose the config once before Hydra does, turning its errors into one clear line.

    :param args: the command line (overrides and Hydra flags); ``task=[a,b]`` selects several tasks
        (:func:`core.mixture.expand_overrides`).
    :param full: also validate the whole config (:func:`core.validate.validate`) and the run directory,
        raising :class:`core.errors.ConfigErrors` with one line per problem.
    """
    from core.mixture import expand_overrides

    args = expand_overrides(args, plugins)
    _check_positional(args, plugins)
    overrides = [o for o in args if "=" in o and not o.lstrip("+~").startswith("hydra") and not o.startswith("-")]
    for override in overrides:
        _check_group(override, plugins)
    if not any(o.lstrip("+").partition("=")[0] == "task" for o in overrides):
        _check_group(f"task={_default_choice('task')}", plugins)
    multirun = bool({"-m", "--multirun"} & set(args))
    try:
        jobs = _sweep_jobs(overrides) if multirun else [overrides]
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfgs = [compose("config", overrides=job) for job in jobs]
    except (HydraException, OmegaConfBaseException) as exc:
        raise _unknown_key(exc, overrides) or ConfigError(_one_line(exc)) from None
    if full:
        from core.validate import check_config

        for cfg in cfgs:  # a sweep's jobs write to directories Hydra makes for them
            check_config(cfg, plugins, None if multirun else _run_dir(cfg, args))
        _check_jobs_write_apart(cfgs)
    return cfgs[0]


def _check_jobs_write_apart(cfgs: Sequence[Any]) -> None:
    """Refuse a sweep whose jobs share one named ``output_dir`` before any job runs (the second would find the
    first's run there and stop)."""
    named = [str(cfg.output_dir) for cfg in cfgs if not OmegaConf.is_interpolation(cfg, "output_dir")]
    shared = next((d for d in named if named.count(d) > 1), None)
    if shared is not None:
        raise ConfigError(f"output_dir={shared!r}: {named.count(shared)} jobs of this sweep would write to it; leave "
                          f"output_dir unset and set hydra.sweep.dir={shared} (job N writes to {shared}/N)")


def _sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """Each job's overrides in a ``--multirun`` sweep, as Hydra's basic sweeper lists them (``seed=1,2
    algo.lr=1e-5,2e-5``: four jobs). A sweep only a sweeper plugin can draw from (``interval(0,1)``) is left out."""
    choices = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if not override.is_sweep_override():
            choices.append([override.input_line])
        elif override.value_type != ValueType.INTERVAL_SWEEP:
            choices.append([f"{override.get_key_element()}={v}" for v in override.sweep_string_iterator()])
    return [list(job) for job in itertools.product(*choices)]


def exit_with_help(argv: Sequence[str], usage: str | None) -> None:
    """Print ``usage`` (a command module's docstring) and exit 0 when ``argv`` asks for ``-h``/``--help``."""
    if "-h" in argv or "--help" in argv:
        print(inspect.cleandoc(usage or ""))
        raise SystemExit(0)


def report_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn``; an :class:`RlftError` becomes ``rlft: error: <one line>`` and exit status 2,
    Ctrl-C outside training (where :mod:`core.signals` handles it) one line and exit status 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            print("rlft: interrupted", file=sys.stderr)
            raise SystemExit(130) from None
        except RlftError as exc:
            logging.getLogger("rlft").debug("error", exc_info=True)
            for line in str(exc).splitlines() or [type(exc).__name__]:
                print(f"rlft: error: {line}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper
