"""Config composition: every task, algorithm and model composes; bad overrides fail clearly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.cli import group_choices, preflight
from core.errors import ConfigError
from tests.conftest import ROOT


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
def test_each_algorithm_composes(compose_cfg, algo):
    cfg = compose_cfg([f"algo={algo}", "algo.lr=3e-5", "algo.max_steps=7"])
    assert (cfg.algo.name, cfg.algo.lr, cfg.algo.max_steps) == (algo, 3e-5, 7)


@pytest.mark.parametrize("model,expected", [("smollm2-135m", "embedded:smollm2-135m"), ("tiny", "embedded:tiny")])
def test_each_model_composes(compose_cfg, model, expected):
    assert compose_cfg([f"model={model}"]).model.name_or_path == expected


def test_hf_model_requires_a_name(compose_cfg, tmp_path):
    cfg = compose_cfg(["model=hf", f"model.name_or_path={tmp_path}", "model.peft=lora", "model.lora.r=4"])
    assert (cfg.model.name_or_path, cfg.model.peft, cfg.model.lora.r) == (str(tmp_path), "lora", 4)


def test_task_knobs_are_overrides(compose_cfg):
    cfg = compose_cfg(["task=sentiment", "task.max_prompts=64", "task.polarity=negative",
                       "task.rewards=[{name: vader_sentiment, weight: 2.0}]"])
    assert (cfg.task.max_prompts, cfg.task.polarity, cfg.task.rewards[0].weight) == (64, "negative", 2.0)


def test_debug_experiment_shrinks_the_run(compose_cfg):
    cfg = compose_cfg(["experiment=debug"])
    assert cfg.model.name_or_path == "embedded:tiny" and cfg.algo.max_steps == 2 and cfg.save_model is False


def test_tasks_recommend_settings_that_user_overrides_and_experiments_beat(compose_cfg):
    codegen = compose_cfg(["task=codegen"])
    assert codegen.algo.max_completion_length == 96 and codegen.eval.max_new_tokens == 256
    assert codegen.task.metric == "pass_at_k/pass@1" and "recommended" not in codegen.task
    assert compose_cfg(["task=codegen", "algo.max_completion_length=64"]).algo.max_completion_length == 64
    assert compose_cfg(["task=codegen", "experiment=debug"]).algo.max_completion_length == 8
    assert compose_cfg(["task=codegen", "algo=rloo"]).algo.max_completion_length == 96


def test_a_task_may_recommend_settings_for_one_algorithm(compose_cfg):
    """sentiment tunes its default GRPO run (recommended.with_algo.grpo) over its settings for any algorithm."""
    def knobs(*overrides):
        algo = compose_cfg(["task=sentiment", *overrides]).algo
        return algo.max_steps, algo.lr, algo.beta

    assert knobs() == (32, 2.5e-5, 0.1)
    assert knobs("algo=rloo") == (48, 1e-5, 0.04)  # another algorithm: only the settings for any
    assert knobs("algo=dpo")[1] == 5e-6  # DPO keeps its own learning rate
    assert knobs("algo.lr=3e-5", "algo.max_steps=4") == (4, 3e-5, 0.1)  # your overrides win
    assert knobs("experiment=debug")[0] == 2  # and experiments
    assert knobs("task.polarity=negative") == (32, 2.5e-5, 0.1)


def test_cfg_job_shows_the_algorithms_recommended_settings():
    import subprocess
    import sys

    job = subprocess.run([sys.executable, "-m", "core.run", "task=sentiment", "--cfg", "job"], capture_output=True,
                         text=True, check=True).stdout
    algo = job[job.index("\nalgo:"):]
    assert "  lr: 2.5e-05" in algo and "  beta: 0.1\n" in algo and "  max_steps: 32" in algo


def test_a_task_may_only_recommend_algo_and_eval_settings(tmp_path):
    from core.plugins import Plugins, register_task_configs
    from core.task import Task
    from core.errors import PluginError

    bad = tmp_path / "bad.yaml"
    bad.write_text("recommended:\n  model: {name_or_path: x}\n")

    class BadTask(Task):
        name = "bad_recommendation"
        config_file = bad

    import pluggy

    plugins = Plugins(pluggy.PluginManager("rlft"))
    plugins.tasks.add("bad_recommendation", BadTask, source="tests")
    with pytest.raises(PluginError, match=r"task 'bad_recommendation' .* may only set algo, eval, not 'model'"):
        register_task_configs(plugins)
    bad.write_text("recommended:\n  with_algo:\n    grpo: {seed: 3}\n")
    with pytest.raises(PluginError, match=r"recommended.with_algo.grpo: may only set algo, eval, not 'seed'"):
        register_task_configs(plugins)


def test_unknown_task_lists_choices_and_suggests(plugins):
    with pytest.raises(ConfigError, match=r"unknown task 'sentimnt' \(did you mean 'sentiment'\?\); available: .*sentiment"):
        preflight(["task=sentimnt"], plugins)


def test_unknown_override_key_names_it_and_suggests(plugins):
    with pytest.raises(ConfigError, match=r"unknown config key 'algo.lrr' \(did you mean 'lr'\?\)"):
        preflight(["algo.lrr=1e-5"], plugins)


def test_wrongly_typed_value_names_the_key(plugins):
    with pytest.raises(ConfigError, match="algo.max_steps"):
        preflight(["algo.max_steps=many"], plugins)


def test_group_choices_include_plugin_tasks(plugins):
    assert "sentiment" in group_choices("task", plugins)
    assert {"grpo", "rloo"} <= set(group_choices("algo", plugins))


@pytest.mark.parametrize("argv,expected", [
    (["task=sentimnt"], "did you mean 'sentiment'"),
    (["algo.lrr=1"], "unknown config key 'algo.lrr'"),
    (["model=hf", "model.name_or_path=/no/such/model", "experiment=debug"], "no such directory"),
])
def test_cli_errors_are_one_line_with_exit_status_2(argv, expected, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "core.run", *argv, f"hydra.run.dir={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rlft: error:")]
    assert len(errors) == 1 and expected in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_sweep_is_checked_job_by_job_before_anything_runs(plugins):
    from core.cli import _sweep_jobs

    assert _sweep_jobs(["seed=1,2", "algo.lr=range(1,3)", "task=qa", "+x=interval(0,1)"]) == [
        ["seed=1", "algo.lr=1", "task=qa"], ["seed=1", "algo.lr=2", "task=qa"],
        ["seed=2", "algo.lr=1", "task=qa"], ["seed=2", "algo.lr=2", "task=qa"]]
    cfg = preflight(["-m", "experiment=debug", "seed=1,2"], plugins, full=True)  # Hydra's own compose refuses 1,2
    assert cfg.seed == 1
    with pytest.raises(ConfigError, match=r"unknown config key 'algo.lrr'"):
        preflight(["--multirun", "experiment=debug", "seed=1,2", "algo.lrr=1"], plugins)
    with pytest.raises(ConfigError, match=r"model.attn_implementation='eagr'.*did you mean 'eager'"):  # the 2nd job's
        preflight(["-m", "experiment=debug", "model.attn_implementation=eager,eagr"], plugins, full=True)


def test_a_run_named_on_the_command_line_keeps_hydras_log_and_record_in_its_own_directory(plugins, tmp_path):
    from hydra import compose, initialize_config_dir

    from core.cli import CONF_DIR, run_dir_override

    def hydra_run_dir(*args: str) -> str | None:
        extra = run_dir_override(args, preflight(list(args), plugins))
        if not extra:
            return None
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=[*args, *extra], return_hydra_config=True).hydra.run.dir

    # (output_dir as quoted on a Hydra command line, the directory it names): each comes back as the directory
    for quoted, name in [("a b,c", "a b,c"), ("it\\'s", "it's"), ("x\\y", "x\\y"), ("x\\\\\\'y", "x\\'y"),
                         ("e=f", "e=f"), ("z\\\\", "z\\")]:
        assert hydra_run_dir(f"output_dir='{tmp_path}/{quoted}'") == f"{tmp_path}/{name}", name
    checkpoint = tmp_path / "run" / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    for name in ("trainer_state.json", "model.safetensors"):
        (checkpoint / name).write_text("{}")
    assert hydra_run_dir(f"resume={checkpoint}") == str(checkpoint.parent)  # the resumed run's directory
    assert hydra_run_dir(f"resume={checkpoint.parent}") == str(checkpoint.parent)
    assert hydra_run_dir() is None  # a default run's output_dir is Hydra's directory already
    assert hydra_run_dir(f"output_dir={tmp_path}", f"hydra.run.dir={tmp_path / 'elsewhere'}") is None  # yours wins
    assert run_dir_override(["-m", "seed=1,2", f"output_dir={tmp_path}"], preflight([f"output_dir={tmp_path}"],
                                                                                  plugins)) == []  # a sweep's jobs


def test_a_sweep_whose_jobs_share_one_output_dir_is_refused_before_any_job_runs(plugins, tmp_path):
    with pytest.raises(ConfigError, match=rf"output_dir='{tmp_path}': 2 jobs of this sweep would write to it; .*"
                                          rf"hydra.sweep.dir={tmp_path} \(job N writes to {tmp_path}/N\)"):
        preflight(["-m", "experiment=debug", "seed=1,2", f"output_dir={tmp_path}"], plugins, full=True)
    preflight(["-m", "experiment=debug", "seed=1,2", f"hydra.sweep.dir={tmp_path}"], plugins, full=True)
    preflight(["-m", "experiment=debug", f"output_dir={tmp_path}/a,{tmp_path}/b"], plugins, full=True)  # one each
