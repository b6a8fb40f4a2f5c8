"""Command-line plumbing shared by ``python -m core.run`` and friends: discovery, pre-flight, errors."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from core.config import register_schemas
from core.errors import ConfigError, RlftError, did_you_mean
from core.plugins import Plugins, load_plugins, register_task_configs

__all__ = ["CONF_DIR", "discover", "group_choices", "preflight", "report_errors"]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("task", "algo", "model", "experiment")


@functools.lru_cache(maxsize=1)
def discover() -> Plugins:
    """Load the plugins once per process and make their configs composable."""
    register_schemas()
    plugins = load_plugins()
    register_task_configs(plugins)
    return plugins


def group_choices(group: str, plugins: Plugins) -> list[str]:
    """Options of a config group: YAML files in ``conf/<group>/`` plus plugin-registered ones."""
    names = {p.stem for p in (CONF_DIR / group).glob("*.yaml")}
    if group == "task":
        names |= set(plugins.tasks)
    if group == "algo":
        names |= set(plugins.algorithms)
    return sorted(names)


def _check_group(override: str, plugins: Plugins) -> None:
    key, _, value = override.lstrip("+").partition("=")
    if key in GROUPS and value not in ("", "null"):
        choices = group_choices(key, plugins)
        if value not in choices:
            raise ConfigError(f"unknown {key} {value!r}{did_you_mean(value, choices)}; available: {', '.join(choices)}")


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


def preflight(overrides: Sequence[str], plugins: Plugins) -> Any:
    """Compose the config once before Hydra does, turning its errors into one clear line."""
    overrides = [o for o in overrides if "=" in o and not o.lstrip("+~").startswith("hydra") and not o.startswith("-")]
    for override in overrides:
        _check_group(override, plugins)
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _unknown_key(exc, overrides) or ConfigError(_one_line(exc)) from None


def report_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn``; an :class:`RlftError` becomes ``rlft: error: <one line>`` and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RlftError as exc:
            logging.getLogger("rlft").debug("error", exc_info=True)
            print(f"rlft: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper
