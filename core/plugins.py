"""Discover plugins (entry-point group ``rlft``) and collect what they contribute.

Like pytest, rlft's own tasks are plugins registered through its own entry points; set
``RLFT_DISABLE_PLUGIN_AUTOLOAD=1`` to load only those (third-party packages are skipped)
and ``RLFT_PLUGINS=mod1,mod2`` to register extra plugin modules by import path.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import types
from dataclasses import dataclass, field
from importlib.metadata import entry_points, packages_distributions
from typing import Any

import pluggy
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from core import hookspecs
from core.errors import PluginError
from core.evaluators import EvaluatorSpec, as_evaluator_spec
from core.registry import Registry
from core.rewards.spec import RewardSpec, as_reward_spec

__all__ = ["ENTRY_POINT_GROUP", "DISABLE_AUTOLOAD_ENV", "PLUGINS_ENV", "PluginFailure", "Plugins", "load_plugins",
           "register_task_configs", "algo_settings_name"]

log = logging.getLogger("rlft.plugins")

ENTRY_POINT_GROUP = "rlft"
DISABLE_AUTOLOAD_ENV = "RLFT_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "RLFT_PLUGINS"
OWN_DISTRIBUTION = "rlft"
CORE_PLUGINS = ("core.rewards.builtin", "core.algos")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be used, and why (one line)."""

    plugin: str
    package: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} from package {self.package!r} failed: {self.error}"


@dataclass
class Plugins:
    """The plugin manager plus everything the plugins contributed, by name."""

    pm: pluggy.PluginManager
    tasks: Registry[type] = field(default_factory=lambda: Registry("task"))
    rewards: Registry[RewardSpec] = field(default_factory=lambda: Registry("reward"))
    evaluators: Registry[EvaluatorSpec] = field(default_factory=lambda: Registry("evaluator"))
    algorithms: Registry[type] = field(default_factory=lambda: Registry("algorithm"))
    failures: list[PluginFailure] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        """Shortcut to ``pm.hook`` for lifecycle notifications."""
        return self.pm.hook

    @property
    def clashes(self) -> list[str]:
        """One warning line per name two packages both contributed."""
        return [c for r in (self.tasks, self.rewards, self.evaluators, self.algorithms) for c in r.clashes]

    def failures_for(self, name: str) -> list[PluginFailure]:
        """Failed plugins that plausibly provided ``name`` (it appears in the plugin's or package's name)."""
        bare = name.partition("@")[0].lower().replace("-", "_")
        matching = [f for f in self.failures
                    if bare and (bare in f.plugin.lower().replace("-", "_")
                                 or bare in f.package.lower().replace("-", "_"))]
        return matching


def _distribution_label(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "?"


def _register_entry_points(pm: pluggy.PluginManager, plugins: Plugins) -> None:
    autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "").lower() in ("", "0", "false")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        if not autoload and (dist is None or dist.name != OWN_DISTRIBUTION):
            continue
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        label = _distribution_label(ep)
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must not take the others down
            failure = PluginFailure(ep.name, label, f"{type(exc).__name__}: {exc}")
            plugins.failures.append(failure)
            log.warning("rlft: %s; its tasks are unavailable", failure)
            continue
        plugins.packages[ep.name] = label
        plugins.distributions[ep.name] = dist.name if dist is not None else ep.name


@functools.lru_cache(maxsize=1)
def _installed_modules() -> dict[str, list[str]]:
    return dict(packages_distributions())


def _module_distribution(obj: object, default: str) -> str:
    """The distribution that installed the module ``obj`` comes from (``default`` when none does)."""
    module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    top = (module or "").partition(".")[0]
    dists = _installed_modules().get(top, [])
    return dists[0] if len(dists) == 1 else default


def _register_modules(pm: pluggy.PluginManager, plugins: Plugins, names: list[str], package: str | None) -> None:
    for name in names:
        if not pm.has_plugin(name):
            try:
                module = importlib.import_module(name)
                pm.register(module, name=name)
            except Exception as exc:
                raise PluginError(f"plugin module {name!r} ({package or '$' + PLUGINS_ENV}) failed to import: "
                                  f"{type(exc).__name__}: {exc}") from exc
            plugins.distributions[name] = package or _module_distribution(module, name)


def _collect(plugins: Plugins, hook_name: str, registry: Registry, convert: Any) -> None:
    """Call one collection hook plugin by plugin, so a failing plugin is named and skipped."""
    for impl in getattr(plugins.pm.hook, hook_name).get_hookimpls():
        source = f"{impl.plugin_name} ({plugins.packages.get(impl.plugin_name, 'core')})"
        distribution = plugins.distributions.get(impl.plugin_name, OWN_DISTRIBUTION)
        try:
            items = impl.function() or []
            converted = [convert(item) for item in items]
        except Exception as exc:
            failure = PluginFailure(impl.plugin_name, plugins.packages.get(impl.plugin_name, "?"),
                                    f"{hook_name}() raised {type(exc).__name__}: {exc}")
            plugins.failures.append(failure)
            log.warning("rlft: %s", failure)
            continue
        for name, item in converted:
            registry.add(name, item, source, distribution)


def _task_item(cls: Any) -> tuple[str, Any]:
    if not isinstance(getattr(cls, "name", None), str):
        raise TypeError(f"{cls!r} is not a Task subclass with a name")
    return cls.name, cls


def load_plugins(extra: tuple[object, ...] = ()) -> Plugins:
    """Build the plugin manager, load core, entry-point and ``RLFT_PLUGINS`` plugins, collect contributions.

    :param extra: plugin objects to register as well (tests use this).
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm)
    _register_modules(pm, plugins, list(CORE_PLUGINS), OWN_DISTRIBUTION)
    _register_entry_points(pm, plugins)
    env_modules = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    _register_modules(pm, plugins, env_modules, None)
    for obj in extra:
        name = pm.register(obj)
        if name is not None:
            plugins.distributions[name] = _module_distribution(obj, "local")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements a hook rlft does not define: {exc}") from None
    _collect(plugins, "rlft_tasks", plugins.tasks, _task_item)
    _collect(plugins, "rlft_rewards", plugins.rewards, lambda r: (as_reward_spec(r).name, as_reward_spec(r)))
    _collect(plugins, "rlft_evaluators", plugins.evaluators,
             lambda e: (as_evaluator_spec(e).name, as_evaluator_spec(e)))
    _collect(plugins, "rlft_algorithms", plugins.algorithms, _task_item)
    return plugins


#: Root config sections a task may recommend settings for (its YAML's ``recommended:`` key).
RECOMMENDABLE = ("algo", "eval")
#: Key under ``recommended:`` holding settings for one algorithm only: ``with_algo: {grpo: {algo: {lr: ...}}}``.
WITH_ALGO = "with_algo"


def algo_settings_name(task: str, algo: str) -> str:
    """The ``task_algo_settings`` option holding ``task``'s recommendations for ``algo`` (``${task}_${algo}``)."""
    return f"{task}_{algo}"


def _check_sections(settings: Any, where: str) -> None:
    unknown = sorted(set(settings) - set(RECOMMENDABLE))
    if unknown:
        raise ValueError(f"{where} may only set {', '.join(RECOMMENDABLE)}, not {unknown[0]!r}")


def register_task_configs(plugins: Plugins) -> None:
    """Store each task's schema (merged with its YAML defaults) as Hydra config ``task/<name>@<distribution>``,
    and as ``task/<name>`` too when no other package claims that name; its ``recommended:`` algo/eval
    settings go to ``task_settings/<same name>``, which the root config merges after the chosen algo and
    before experiments and command-line overrides; its ``recommended.with_algo.<algo>`` settings go to
    ``task_algo_settings/<name>_<algo>``, merged after those when that algorithm is chosen."""
    cs = ConfigStore.instance()
    for name in plugins.tasks.all_names():
        cls = plugins.tasks.get(name)
        try:
            node = OmegaConf.structured(cls.config_class)
            recommended, with_algo = {}, {}
            if cls.config_file:
                defaults = OmegaConf.load(cls.config_file)
                recommended = defaults.pop("recommended", None) or {}
                with_algo = recommended.pop(WITH_ALGO, None) or {}
                _check_sections(recommended, "recommended:")
                for algo, settings in with_algo.items():
                    _check_sections(settings, f"recommended.{WITH_ALGO}.{algo}:")
                node = OmegaConf.merge(node, defaults)
            node.name = name
        except Exception as exc:
            raise PluginError(f"task {name!r} from {plugins.tasks.source(name)} has an invalid config "
                              f"{cls.config_file or cls.config_class.__name__}: {exc}".replace("\n", " ")) from exc
        cs.store(group="task", name=name, node=node, provider=plugins.tasks.source(name))
        cs.store(group="task_settings", name=name, node=OmegaConf.create(recommended), package="_global_",
                 provider=plugins.tasks.source(name))
        for algo, settings in with_algo.items():
            cs.store(group="task_algo_settings", name=algo_settings_name(name, algo), node=OmegaConf.create(settings),
                     package="_global_", provider=plugins.tasks.source(name))
