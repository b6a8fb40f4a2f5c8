"""``python -m core.eval``: several models on one task, side by side, with intervals and paired verdicts."""

from __future__ import annotations

import json

from core.eval import main, split_argv


def test_model_paths_are_split_from_overrides():
    overrides, models = split_argv(["task=qa", "model.name_or_path=a", "b", "eval.seeds=[0,1]", "c"])
    assert overrides == ["task=qa", "eval.seeds=[0,1]"] and models == ["a", "b", "c"]


def test_two_models_side_by_side(tmp_path, capsys):
    doc = main(["experiment=debug", f"output_dir={tmp_path}", "model.name_or_path=embedded:tiny", "embedded:tiny"])
    assert [m["model"] for m in doc["models"]] == ["embedded:tiny", "embedded:tiny"]
    first, second = doc["models"]
    headline = doc["headline"]
    assert "delta" not in first and second["delta"][headline]["verdict"] == "no detectable change"
    assert first["metrics"][headline] == second["metrics"][headline]  # same weights, greedy: same completions
    assert json.loads((tmp_path / "eval.json").read_text()) == doc
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["metric", "embedded:tiny", "embedded:tiny"] and table[1].startswith(f"* {headline}")


def test_a_path_that_is_not_a_model_is_one_clear_line(tmp_path, capsys):
    import pytest

    (tmp_path / "notes").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["experiment=debug", f"output_dir={tmp_path}/out", f"model.name_or_path={tmp_path}/notes"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert err[0].startswith(f"rlft: error: model.name_or_path='{tmp_path}/notes' could not be loaded")


def test_a_task_list_is_evaluated_per_task(tmp_path, capsys):
    doc = main(["task=[qa,sentiment]", "experiment=debug", f"output_dir={tmp_path}", "model.name_or_path=embedded:tiny",
                "embedded:tiny"])
    heads = {"qa": "qa:qa/f1", "sentiment": "sentiment:sentiment/target_compound"}
    assert doc["headlines"] == heads and doc["headline"] == "qa:qa/f1" and doc["task"] == "qa+sentiment"
    first, second = doc["models"]
    assert all(n.startswith(("qa:", "sentiment:")) for n in first["metrics"])
    for task, name in heads.items():
        assert {f"{task}:reward/total", f"{task}:quality/perplexity"} <= set(first["metrics"])
        assert first["metrics"][name]["n"] == 4  # each task on its own held-out prompts (eval_prompts=4)
        assert second["delta"][name]["verdict"] == "no detectable change"
    assert set(second["delta"]) == set(first["metrics"])
    table = capsys.readouterr().out.splitlines()
    assert [row.split()[1] for row in table[1:3]] == list(heads.values()) and table[1].startswith("* ")
