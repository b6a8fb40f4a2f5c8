"""Plugin discovery: entry points, broken plugins, collisions, autoload switch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core import PluginError, Task, hookimpl
from core.cli import preflight
from core.errors import ConfigError
from core.registry import Registry
from core.plugins import DISABLE_AUTOLOAD_ENV, PLUGINS_ENV, load_plugins, register_task_configs
from tests.conftest import ROOT


def make_distribution(root: Path, dist: str, module: str, source: str, entry_name: str | None = None) -> None:
    """Write an installed-looking distribution (module + dist-info with an ``rlft`` entry point)."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[rlft]\n{entry_name or module} = {module}\n")


GOOD_PLUGIN = """
from core import Task, hookimpl

class Echo(Task):
    name = "echo_task"

@hookimpl
def rlft_tasks():
    return [Echo]
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    return tmp_path


def test_builtin_tasks_come_from_rlft_entry_points(plugins):
    assert {"sentiment"} <= set(plugins.tasks)
    assert "rlft 0.1.0" in plugins.tasks.source("sentiment")
    assert {"grpo", "rloo"} <= set(plugins.algorithms)


def test_third_party_distribution_is_discovered(site):
    make_distribution(site, "rlft-task-echo", "rlft_task_echo", GOOD_PLUGIN)
    plugins = load_plugins()
    assert "echo_task" in plugins.tasks
    assert "rlft-task-echo 1.2.3" in plugins.tasks.source("echo_task")


def test_plugin_raising_on_import_is_reported_and_others_still_load(site, caplog):
    make_distribution(site, "rlft-task-broken", "rlft_task_broken", "raise RuntimeError('boom at import')\n")
    make_distribution(site, "rlft-task-echo", "rlft_task_echo", GOOD_PLUGIN)
    plugins = load_plugins()
    assert "echo_task" in plugins.tasks and "sentiment" in plugins.tasks
    [failure] = [f for f in plugins.failures if f.plugin == "rlft_task_broken"]
    assert failure.package == "rlft-task-broken 1.2.3"
    assert "RuntimeError: boom at import" in failure.error
    assert "rlft-task-broken 1.2.3" in caplog.text


def test_autoload_switch_skips_third_party_but_keeps_builtins(site, monkeypatch):
    make_distribution(site, "rlft-task-echo", "rlft_task_echo", GOOD_PLUGIN)
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    plugins = load_plugins()
    assert "echo_task" not in plugins.tasks
    assert "sentiment" in plugins.tasks


def test_plugins_env_registers_modules_explicitly(site, monkeypatch):
    (site / "my_local_plugin.py").write_text(GOOD_PLUGIN)
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    monkeypatch.setenv(PLUGINS_ENV, "my_local_plugin")
    assert "echo_task" in load_plugins().tasks


EVIL_PLUGIN = """
from core import Task, hookimpl

class Impostor(Task):
    name = "sentiment"

@hookimpl
def rlft_tasks():
    return [Impostor]
"""


def test_clashing_task_name_warns_once_and_breaks_nothing_else(site, caplog):
    make_distribution(site, "rlft-task-evil", "rlft_task_evil", EVIL_PLUGIN)
    plugins = load_plugins()
    [clash] = plugins.clashes
    assert "'sentiment'" in clash and "'rlft'" in clash and "'rlft-task-evil'" in clash
    assert caplog.text.count("claimed by two packages") == 1
    with pytest.raises(ConfigError, match=r"task 'sentiment' is ambiguous: packages rlft, rlft-task-evil all "
                                          r"provide it; use one of: sentiment@rlft, sentiment@rlft-task-evil"):
        plugins.tasks.get("sentiment")
    assert plugins.tasks.get("sentiment@rlft").__module__ == "plugins.sentiment.task"
    assert plugins.tasks.get("sentiment@rlft-task-evil").__name__ == "Impostor"
    assert "qa" in plugins.tasks and plugins.tasks.get("qa@rlft") is plugins.tasks.get("qa")
    assert {"sentiment@rlft", "sentiment@rlft-task-evil"} <= set(plugins.tasks.names())


def test_clash_on_the_command_line_lists_qualified_choices_and_they_compose(site):
    make_distribution(site, "rlft-task-evil", "rlft_task_evil", EVIL_PLUGIN)
    plugins = load_plugins()
    register_task_configs(plugins)
    with pytest.raises(ConfigError, match="use one of: sentiment@rlft, sentiment@rlft-task-evil"):
        preflight(["task=sentiment", "output_dir=."], plugins)
    with pytest.raises(ConfigError, match="ambiguous"):  # the default task is the clashing name
        preflight(["output_dir=."], plugins)
    cfg = preflight(["task=sentiment@rlft", "output_dir=."], plugins)
    assert cfg.task.name == "sentiment@rlft" and plugins.tasks.get(cfg.task.name).name == "sentiment"
    assert preflight(["task=qa", "output_dir=."], plugins).task.name == "qa"


def test_core_tasks_lists_both_packages_when_a_name_clashes(site):
    make_distribution(site, "rlft-task-evil", "rlft_task_evil", EVIL_PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    proc = subprocess.run([sys.executable, "-m", "core.tasks"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "sentiment@rlft " in proc.stdout and "sentiment@rlft-task-evil" in proc.stdout
    assert "qa " in proc.stdout
    assert "claimed by two packages, 'rlft'" in proc.stderr and "Traceback" not in proc.stderr


def test_broken_task_plugin_is_named_when_its_task_is_asked_for(site):
    make_distribution(site, "rlft-task-broken", "rlft_task_broken", "raise RuntimeError('boom at import')\n")
    plugins = load_plugins()
    with pytest.raises(ConfigError, match=r"task 'broken' is unavailable: plugin 'rlft_task_broken' from package "
                                          r"'rlft-task-broken 1.2.3' failed: RuntimeError: boom at import"):
        preflight(["task=broken"], plugins)
    with pytest.raises(ConfigError, match=r"unknown task 'nothere'.*note: plugin 'rlft_task_broken'"):
        preflight(["task=nothere"], plugins)


def test_clash_with_an_unpackaged_plugin_is_contained():
    class Impostor(Task):
        name = "sentiment"

    class Plugin:
        @hookimpl
        def rlft_tasks(self):
            return [Impostor]

    plugins = load_plugins(extra=(Plugin(),))  # a test-local plugin's package is "local"
    assert plugins.tasks.get("sentiment@local") is Impostor
    assert plugins.tasks.is_ambiguous("sentiment")


def test_hook_that_raises_names_the_plugin_and_spares_the_rest():
    class Plugin:
        @hookimpl
        def rlft_tasks(self):
            raise ValueError("cannot build")

    plugins = load_plugins(extra=(Plugin(),))
    assert "sentiment" in plugins.tasks
    assert any("rlft_tasks() raised ValueError: cannot build" in f.error for f in plugins.failures)


def test_misspelled_hook_is_rejected():
    class Plugin:
        @hookimpl
        def rlft_taks(self):
            return []

    with pytest.raises(PluginError, match="rlft_taks"):
        load_plugins(extra=(Plugin(),))


def test_same_qualified_name_twice_keeps_the_first_and_warns():
    registry = Registry("reward")
    registry.add("f1", len, "a (pkg 1.0)", "pkg")
    registry.add("f1", abs, "b (pkg 1.0)", "pkg")
    assert registry.get("f1") is len and registry.get("f1@pkg") is len
    assert "contributed twice within package 'pkg'" in registry.clashes[0]
