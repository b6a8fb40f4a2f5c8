"""Plugin discovery: entry points, broken plugins, collisions, autoload switch."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core import PluginError, Task, hookimpl
from core.plugins import DISABLE_AUTOLOAD_ENV, PLUGINS_ENV, load_plugins


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


def test_two_plugins_claiming_one_task_name_fail_loudly():
    class Impostor(Task):
        name = "sentiment"

    class Plugin:
        @hookimpl
        def rlft_tasks(self):
            return [Impostor]

    with pytest.raises(PluginError, match=r"task 'sentiment' is defined twice: by 'sentiment \(rlft .*\)' and by"):
        load_plugins(extra=(Plugin(),))


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
