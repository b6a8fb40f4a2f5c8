"""Multi-task training (core.mixture): composing several tasks, the mixture, reward routing, per-task results."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from datasets import Dataset

from core.cli import preflight
from core.errors import ConfigError, DataError
from core.mixture import RoutedReward, mix, shares, task_view
from core.rewards.checked import CheckedReward, RewardLog
from tests.conftest import ROOT

TWO = ["task=[qa,sentiment]", "output_dir=unused"]


def test_two_tasks_compose_each_under_its_own_key(plugins):
    cfg = preflight([*TWO, "tasks.qa.max_prompts=7", "tasks.sentiment.polarity=negative", "task.weights.qa=3"], plugins)
    assert (cfg.task.name, dict(cfg.task.weights)) == ("qa+sentiment", {"qa": 3.0, "sentiment": 1.0})
    assert list(cfg.tasks) == ["qa", "sentiment"]
    assert (cfg.tasks.qa.metric, cfg.tasks.qa.max_prompts) == ("qa/f1", 7)
    sentiment = task_view(cfg, "sentiment").task  # as a single-task run sees it: ${task.classifier} resolves
    assert (sentiment.polarity, sentiment.rewards[0].name) == ("negative", "vader_sentiment")
    single = preflight(["task=qa", "task.max_prompts=5", "output_dir=unused"], plugins)
    assert (single.task.name, single.task.max_prompts, dict(single.tasks)) == ("qa", 5, {})


def test_recommended_settings_take_the_largest_and_overrides_win(plugins):
    both = preflight(TWO, plugins)
    # qa recommends 32 evaluation tokens, sentiment none (the default 48): the longer wins; sentiment's KL too
    assert (both.algo.max_steps, both.algo.beta, both.eval.max_new_tokens) == (32, 0.1, 48)
    assert both.algo.lr == 2.5e-5  # both tasks' settings for GRPO (recommended.with_algo) take part
    rloo = preflight([*TWO, "algo=rloo"], plugins)
    assert (rloo.algo.max_steps, rloo.algo.lr, rloo.algo.beta) == (48, 1e-5, 0.04)  # only those for any algorithm
    # nothing left over from the last mixture's settings for RLOO (sentiment's KL 0.04)
    other = preflight(["task=[qa,codegen]", "algo=rloo", "output_dir=unused"], plugins)
    assert (other.algo.lr, other.algo.beta) == (1e-5, 0.0)
    code = preflight(["task=[qa,codegen]", "output_dir=unused"], plugins)
    assert (code.algo.max_completion_length, code.eval.max_new_tokens) == (96, 256)
    assert preflight(["task=[qa,codegen]", "algo.max_completion_length=64", "output_dir=unused"],
                     plugins).algo.max_completion_length == 64
    assert preflight(["task=[qa,codegen]", "experiment=debug", "output_dir=unused"],
                     plugins).algo.max_completion_length == 8


@pytest.mark.parametrize("argv,expected", [
    (["task=[qa,sentimnt]"], r"unknown task 'sentimnt' in task=\[qa,sentimnt\] \(did you mean 'sentiment'\?\)"),
    (["task=[qa,qa]"], "lists 'qa' twice"),
    (["task=qa", "tasks=[qa,sentiment]"], "both choose the task"),
    ([*TWO, "+task.weights.news=1"], r"task.weights.news=1.0: 'news' is not one of the tasks \(qa, sentiment\)"),
    ([*TWO, "task.weights.news=1"], "unknown config key 'task.weights.news'"),
    ([*TWO, "task.weights.qa=0"], "task.weights.qa=0.0: must be a positive number"),
    ([*TWO, "task.weights.sentiment=-2"], "task.weights.sentiment=-2.0: must be a positive number"),
    (["task=mixture"], "task=mixture needs its tasks"),
])
def test_bad_task_lists_and_weights_fail_in_one_line(plugins, tmp_path, argv, expected):
    with pytest.raises(ConfigError, match=expected) as err:
        preflight([*argv, f"output_dir={tmp_path}"], plugins, full=True)
    assert len(str(err.value).splitlines()) == 1


def test_cfg_job_shows_every_task_and_the_combined_settings(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "core.run", "task=[qa,codegen]", f"hydra.run.dir={tmp_path}",
                           "--cfg", "job"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "name: qa+codegen" in proc.stdout and "max_completion_length: 96" in proc.stdout
    tasks = proc.stdout[proc.stdout.index("\ntasks:"):]
    assert "\n  qa:\n" in tasks and "\n  codegen:\n" in tasks


def test_shares_split_rows_by_weight_exactly():
    assert shares({"a": 0.5, "b": 0.25, "c": 0.25}, 10) == {"a": 5, "b": 3, "c": 2}
    counts = shares({"a": 2 / 3, "b": 1 / 3}, 1000)
    assert sum(counts.values()) == 1000 and abs(counts["a"] - 667) <= 1


def _tasks() -> dict[str, Dataset]:
    return {"qa": Dataset.from_dict({"prompt": [f"q{i}" for i in range(30)], "answers": [[f"a{i}"] for i in range(30)]}),
            "sentiment": Dataset.from_dict({"prompt": [f"s{i}" for i in range(10)], "polarity": ["positive"] * 10})}


def test_the_mixture_respects_weights_and_is_seeded():
    mixed = mix(_tasks(), {"qa": 0.25, "sentiment": 0.75}, seed=0)
    assert len(mixed) == 40 and Counter(mixed["task"]) == {"qa": 10, "sentiment": 30}
    sentiment_rows = [r for r in mixed if r["task"] == "sentiment"]
    assert Counter(r["prompt"] for r in sentiment_rows) == {f"s{i}": 3 for i in range(10)}, "a small task cycles evenly"
    assert all(r["answers"] is None and r["polarity"] == "positive" for r in sentiment_rows)
    assert mix(_tasks(), {"qa": 0.25, "sentiment": 0.75}, seed=0)["prompt"] == mixed["prompt"]
    assert mix(_tasks(), {"qa": 0.25, "sentiment": 0.75}, seed=1)["prompt"] != mixed["prompt"]


def test_columns_two_tasks_type_differently_are_refused():
    tasks = _tasks()
    tasks["sentiment"] = tasks["sentiment"].add_column("answers", list(range(10)))
    with pytest.raises(DataError, match="tasks 'qa' and 'sentiment' both have a column 'answers'"):
        mix(tasks, {"qa": 0.5, "sentiment": 0.5}, seed=0)


def test_each_row_is_scored_only_by_its_own_tasks_rewards():
    seen: dict[str, list] = {}

    def recorder(name):
        def fn(prompts, completions, **columns):
            seen[name] = [prompts, columns]
            return [float(len(c)) for c in completions]
        return fn

    rows = []
    log = RewardLog({"qa_f1": 1.0}, rows.extend, {"task": "qa"})
    qa = RoutedReward("qa", CheckedReward("qa_f1", recorder("qa"), 1.0, ("answers",), log))
    polarity = RoutedReward("sentiment", CheckedReward("vader", recorder("sentiment"), 0.5, ("polarity",)))
    batch = dict(prompts=["q0", "s0", "q1", "s1"], completions=["a", "bb", "ccc", "dddd"],
                 task=["qa", "sentiment", "qa", "sentiment"], answers=[["a"], None, ["c"], None],
                 polarity=[None, "positive", None, "negative"], completion_ids=[[1], [2], [3], [4]])
    assert qa(**batch) == [1.0, None, 3.0, None]
    assert polarity(**batch) == [None, 2.0, None, 4.0]
    assert seen["qa"][0] == ["q0", "q1"] and seen["qa"][1]["answers"] == [["a"], ["c"]]
    assert seen["sentiment"][1]["polarity"] == ["positive", "negative"]
    assert seen["qa"][1]["completion_ids"] == [[1], [3]]
    assert (qa.__name__, qa.weight, polarity.weight) == ("qa:qa_f1", 1.0, 0.5)
    assert [(r["task"], r["prompt"], list(r["rewards"])) for r in rows] == [("qa", "q0", ["qa_f1"]), ("qa", "q1", ["qa_f1"])]
    only_sentiment = {**batch, "task": ["sentiment"] * 4}
    assert qa(**only_sentiment) == [None] * 4, "no row of its task: not applicable everywhere"


def test_a_mixture_run_trains_one_model_and_reports_each_task(compose_cfg, plugins, tmp_path):
    from core.mixture import expand_overrides
    from core.run import run

    overrides = expand_overrides(["task=[qa,sentiment]", "experiment=debug", "algo.max_steps=3", "eval.every=2"],
                                 plugins)
    metrics = run(compose_cfg(overrides, tmp_path))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["headlines"] == {"qa": "qa:qa/f1", "sentiment": "sentiment:sentiment/target_compound"}
    assert saved["headline"] == "qa:qa/f1" and saved["weights"] == {"qa": 0.5, "sentiment": 0.5}
    for name in ("qa:qa/f1", "qa:reward/qa_f1", "qa:quality/perplexity", "sentiment:sentiment/target_compound",
                 "sentiment:reward/vader_sentiment"):
        assert {"value", "ci"} <= set(saved["before"][name]) and {"value", "ci"} <= set(saved["after"][name])
        assert saved["delta"][name]["verdict"] in {"improved", "worse", "no detectable change", "increased", "decreased"}
    assert not [n for n in saved["after"] if not n.startswith(("qa:", "sentiment:"))]
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    own = {"qa": {"qa_f1", "qa_exact_match"}, "sentiment": {"vader_sentiment", "fluency"}}
    assert all(set(r["rewards"]) == own[r["task"]] for r in rows), "every sample scored by its own task's rewards only"
    train = [r for r in rows if r["stage"] == "train"]
    assert len(train) == 3 * 2 * 2 and {r["task"] for r in rows if r["stage"] == "after"} == {"qa", "sentiment"}
    held_out = Counter((r["task"], r["stage"]) for r in rows if r["stage"] != "train")
    assert held_out == {(t, s): 4 for t in own for s in ("before", "step-2", "after")}, "each task's own prompts"
    report = (tmp_path / "report.md").read_text()
    assert "Headline qa:qa/f1" in report and "Headline sentiment:sentiment/target_compound" in report
    # the learning curve follows every task's headline, each with its sample efficiency
    heads = list(saved["headlines"].values())
    assert [p["step"] for p in saved["curve"]] == [0, 2, 3]
    for point, stage in zip(saved["curve"], ("before", None, "after")):
        assert list(point["metrics"]) == heads and point["value"] == point["metrics"]["qa:qa/f1"]["value"]
        for name in heads:
            if stage:
                assert point["metrics"][name]["value"] == saved[stage][name]["value"], (stage, name)
    assert list(saved["sample_efficiency_per_task"]) == heads
    assert saved["sample_efficiency"] == saved["sample_efficiency_per_task"]["qa:qa/f1"]
    assert all({"final_gain", "completions_to_50%"} <= set(e) for e in saved["sample_efficiency_per_task"].values())
    assert "![learning curve of qa:qa/f1](report_curve.png)" in report
    assert "![learning curve of sentiment:sentiment/target_compound](report_curve_1.png)" in report
    assert "| step | completions | wall (s) | qa:qa/f1 | sentiment:sentiment/target_compound |" in report
    assert "sentiment:sentiment/target_compound: final gain" in report
