"""Shared fixtures: discovered plugins, config composition, the tiny model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ["RLFT_EVAL_CACHE"] = tempfile.mkdtemp(prefix="rlft-eval-cache-")  # never the user's cache (core.eval_cache)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _own_eval_cache(tmp_path_factory, monkeypatch):
    """Each test starts with no cached before-training completions, so every run it makes samples its own."""
    monkeypatch.setenv("RLFT_EVAL_CACHE", str(tmp_path_factory.mktemp("eval-cache")))


@pytest.fixture(scope="session")
def plugins():
    """Plugins discovered the way ``python -m core.run`` discovers them."""
    from core.cli import discover

    return discover()


@pytest.fixture(scope="session")
def compose_cfg(plugins):
    """``compose_cfg(["task=qa", ...])`` -> the composed root config (Hydra compose API)."""
    from hydra import compose, initialize_config_dir

    from core.cli import CONF_DIR

    def compose_with(overrides=(), output_dir: str | Path = "unused"):
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=[*overrides, f"output_dir={output_dir}"])

    return compose_with


@pytest.fixture(scope="session")
def tiny_model():
    """The 2-layer random Llama with SmolLM2's tokenizer (``model=tiny``), loaded once."""
    from core.models import load_model

    return load_model("embedded:tiny")


@pytest.fixture(scope="session")
def debug_run(plugins, tmp_path_factory):
    """One finished ``experiment=debug`` run with a learning curve: ``(output_dir, metrics)``."""
    from hydra import compose, initialize_config_dir

    from core.cli import CONF_DIR
    from core.run import run

    out = tmp_path_factory.mktemp("debug-run")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["experiment=debug", "algo.max_steps=3", "eval.every=2",
                                           f"output_dir={out}"])
    return out, run(cfg)
