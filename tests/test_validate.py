"""Pre-flight validation: every bad input becomes one line naming the key, before any model loads."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from core.cli import preflight
from core.errors import ConfigError, ConfigErrors
from core.validate import check_output_dir, validate
from tests.conftest import ROOT

DEBUG = ["experiment=debug", "report_to=[none]"]


def problems(compose_cfg, plugins, overrides, tmp_path):
    return validate(compose_cfg([*DEBUG, *overrides], tmp_path / "run"), plugins, tmp_path / "run")


def test_the_debug_config_is_sound(compose_cfg, plugins, tmp_path):
    assert problems(compose_cfg, plugins, [], tmp_path) == []


@pytest.mark.parametrize("override,expected", [
    ("algo.max_steps=-1", "algo.max_steps=-1: must be an integer >= 1"),
    ("algo.max_steps=0", "algo.max_steps=0: must be an integer >= 1"),
    ("algo.beta=-1", "algo.beta=-1.0: must be a number >= 0"),
    ("algo.lr=-1", "algo.lr=-1.0: must be a positive number"),
    ("algo.temperature=0", "algo.temperature=0.0: must be a positive number"),
    ("algo.num_generations=1", "algo.num_generations=1: must be an integer >= 2"),
    ("algo.top_p=1.5", "algo.top_p=1.5: must be in (0, 1]"),
    ("algo.lr_scheduler_type=cosin", "algo.lr_scheduler_type='cosin': must be one of linear, cosine"),
    ("algo.reward_normalization=zscor", "algo.reward_normalization='zscor': must be one of raw, zscore "
                                        "(did you mean 'zscore'?)"),
    ("+algo.trl.loss_typ=dr_grpo", "algo.trl.loss_typ: GRPOConfig has no such field (did you mean 'loss_type'?)"),
    ("algo.gradient_accumulation_steps=3", "completions must be >= 2 per prompt and divisible by"),
    ("model.peft=qlora", "model.peft='qlora': must be null (full fine-tuning) or lora"),
    ("model.dtype=float8", "model.dtype='float8': must be one of float32"),
    ("model.attn_implementation=eagr", "model.attn_implementation='eagr' is not one of eager, "),
    ("model.name_or_path=embedded:huge", "model.name_or_path='embedded:huge': embedded models are"),
    ("eval.temperature=-1", "eval.temperature=-1.0: must be a number >= 0 (0: greedy)"),
    ("eval.num_samples=0", "eval.num_samples=0: must be an integer >= 1"),
    ("eval.batch_size=0", "eval.batch_size=0: must be an integer >= 1"),
    ("eval.max_new_tokens=-5", "eval.max_new_tokens=-5: must be an integer >= 1"),
    ("sandbox.timeout_s=0", "sandbox.timeout_s must be a positive number, got 0"),
    ("sandbox.memory_mb=-1", "sandbox.memory_mb must be a positive integer, got -1"),
    ("task.max_prompts=0", "task.max_prompts=0: must be null (all) or an integer >= 1"),
    ("task.rewards=[{name: vader_sentiment, weight: nan}]",
     "task.rewards.0.weight=nan (vader_sentiment): must be a finite number"),
    ("task.rewards=[{name: vader_sentimnt}]", "task.rewards.0.name: unknown reward 'vader_sentimnt' "
                                              "(did you mean 'vader_sentiment'?)"),
    ("task.evaluators=[nope]", "task.evaluators.0: unknown evaluator 'nope'"),
    ("report_to=[nosuch]", "report_to: unknown backend 'nosuch'; must be none or one of"),
])
def test_bad_value_is_one_line_naming_the_key(compose_cfg, plugins, tmp_path, override, expected):
    found = problems(compose_cfg, plugins, [override], tmp_path)
    assert len(found) == 1 and expected in found[0], found
    assert "\n" not in found[0]


def test_rloo_refuses_zscore_and_grpo_only_keys(compose_cfg, plugins, tmp_path):
    found = problems(compose_cfg, plugins, ["algo=rloo", "algo.reward_normalization=zscore",
                                            "+algo.trl.multi_objective_aggregation=x"], tmp_path)
    assert found[0].startswith("algo.reward_normalization='zscore': must be raw with algo=rloo")
    assert found[1].startswith("algo.trl.multi_objective_aggregation: RLOOConfig has no such field")


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_missing_report_backend_says_how_to_install_it(compose_cfg, plugins, tmp_path):
    [line] = problems(compose_cfg, plugins, ["report_to=[wandb]"], tmp_path)
    assert "report_to: backend 'wandb' is not installed (pip install wandb)" in line


def test_hf_model_needs_a_name(compose_cfg, plugins, tmp_path):
    [line] = problems(compose_cfg, plugins, ["model=hf"], tmp_path)
    assert line.startswith("model.name_or_path is required: set model.name_or_path=")


def test_uncached_hub_model_fails_fast_when_offline(compose_cfg, plugins, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    [line] = problems(compose_cfg, plugins, ["model=hf", "model.name_or_path=nobody/no-such-model"], tmp_path)
    assert "not in the Hugging Face cache, and HF_HUB_OFFLINE is set" in line


def test_output_dir_problems(tmp_path):
    (tmp_path / "file").write_text("x")
    assert "is a file, not a directory" in check_output_dir(tmp_path / "file")[0]
    assert "cannot be created" in check_output_dir(tmp_path / "file" / "run")[0]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.json").write_text("{}")
    assert "already holds a run (metrics.json)" in check_output_dir(tmp_path / "old")[0]
    assert check_output_dir(tmp_path / "new" / "deeper") == []


def test_only_the_first_process_refuses_an_earlier_run(tmp_path, monkeypatch):
    """Under accelerate launch the other processes would see the files the first one has just written."""
    (tmp_path / "samples.jsonl").write_text("")
    monkeypatch.setenv("RANK", "1")
    assert check_output_dir(tmp_path) == []
    monkeypatch.setenv("RANK", "0")
    assert "already holds a run (samples.jsonl)" in check_output_dir(tmp_path)[0]


def test_several_problems_are_reported_together(plugins, tmp_path):
    with pytest.raises(ConfigErrors) as info:
        preflight([*DEBUG, "algo.lr=-1", "eval.batch_size=0", f"output_dir={tmp_path}"], plugins, full=True)
    assert [p.split("=")[0] for p in info.value.problems] == ["eval.batch_size", "algo.lr"]


def test_positional_group_choice_suggests_the_override(plugins):
    with pytest.raises(ConfigError, match=r"argument 'qa' is not an override: did you mean task=qa\?"):
        preflight(["qa"], plugins)
    with pytest.raises(ConfigError, match="expected key=value"):
        preflight(["frobnicate"], plugins)
    preflight(["--cfg", "job", "task=qa"], plugins)  # a Hydra flag's value is not a positional


def test_cli_refuses_before_creating_anything(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "core.run", *DEBUG, "algo.max_steps=0", "sandbox.memory_mb=-1",
                           f"hydra.run.dir={run_dir}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rlft: error:")]
    assert errors == ["rlft: error: algo.max_steps=0: must be an integer >= 1",
                      "rlft: error: sandbox.memory_mb must be a positive integer, got -1"], proc.stderr
    assert "Traceback" not in proc.stderr and not run_dir.exists()


@pytest.mark.parametrize("module,flag", [("core.eval", "--help"), ("core.tasks", "-h"), ("core.rewards.__main__", "--help")])
def test_commands_print_their_usage_and_do_nothing_else(module, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # core.eval would write outputs/eval/... here
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_:
        main([flag, "task=qa"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith(f"``python -m {module.removesuffix('.__main__')}``"), out
    assert "TASK" not in out and not list(tmp_path.iterdir())  # no table, no evaluation, nothing written


@pytest.mark.parametrize("override,expected", [
    ("task.data.limit=0", "task.data.limit=0: must be null (all rows) or an integer >= 1"),
    ("task.data.test_fraction=1.5", "task.data.test_fraction=1.5: must be between 0 and 1 (exclusive)"),
])
def test_data_settings_are_checked(compose_cfg, plugins, tmp_path, override, expected):
    assert problems(compose_cfg, plugins, ["task=qa", override], tmp_path) == [expected]


def test_sentiment_honours_task_data_test_fraction(compose_cfg):
    assert compose_cfg(["task=sentiment", "task.data.test_fraction=0.5"]).task.test_fraction == 0.5
    assert compose_cfg(["task=sentiment", "task.test_fraction=0.3"]).task.test_fraction == 0.3


def test_samples_file_is_created_on_first_write_only(tmp_path):
    from core.outputs import JsonlWriter

    writer = JsonlWriter(tmp_path / "s" / "samples.jsonl")
    writer.close()
    assert not (tmp_path / "s").exists()
