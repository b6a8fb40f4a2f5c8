"""The third-party task template installs with pip into a separate location and runs as ``task=keyword``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

TEMPLATE = ROOT / "examples" / "task-template"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The template pip-installed into a fresh target directory, as a user's environment would hold it."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(TEMPLATE)], check=True, timeout=300)
    assert (target / "rlft_task_keyword" / "keyword.yaml").exists(), "package data is installed"
    return target


def run_with(site, *args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_installed_template_is_listed(site, tmp_path):
    proc = run_with(site, "core.tasks", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("keyword ")]
    assert "rlft-task-keyword 0.1.0" in line and "uses_keyword*1" in line


def test_installed_template_task_composes_and_trains(site, tmp_path):
    assert not (ROOT / "conf" / "task" / "keyword.yaml").exists()
    proc = run_with(site, "core.run", "task=keyword", "experiment=debug", f"hydra.run.dir={tmp_path}",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "keyword/usage_rate" in metrics["before"] and "reward/uses_keyword" in metrics["after"]


def test_installed_template_passes_the_task_contract(site, tmp_path):
    proc = run_with(site, "pytest", str(ROOT / "tests" / "test_task_contract.py"), "-q", "-k", "keyword",
                    "-p", "no:cacheprovider", f"--rootdir={ROOT}", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "5 passed" in proc.stdout


def test_template_own_tests_run_the_rlft_contract(site, tmp_path):
    proc = run_with(site, "pytest", "-q", "-p", "no:cacheprovider", str(TEMPLATE / "tests"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_new_task_scaffold_installs_and_passes_the_contract(tmp_path):
    from core.new_task import scaffold

    package = scaffold("word_game", tmp_path / "pkg")
    assert (package / "rlft_task_word_game" / "word_game.yaml").exists()
    assert 'word_game = "rlft_task_word_game"' in (package / "pyproject.toml").read_text()
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(package)], check=True, timeout=300)
    proc = run_with(target, "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
