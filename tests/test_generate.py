"""``python -m core.generate``: samples of a model on one task's prompts, or on each task of a task list."""

from __future__ import annotations

import json
from collections import Counter

from core.generate import main


def test_samples_of_one_task_carry_its_rewards(tmp_path):
    out = tmp_path / "samples.jsonl"
    main(["embedded:tiny", "task=qa", "experiment=debug", "--num-prompts", "3", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(set(r) == {"prompt", "completion", "rewards"} for r in rows)
    assert all(set(r["rewards"]) == {"qa_f1", "qa_exact_match"} for r in rows)


def test_a_task_list_samples_each_task_with_its_own_rewards(tmp_path):
    out = tmp_path / "samples.jsonl"
    main(["embedded:tiny", "task=[qa,sentiment]", "experiment=debug", "--num-prompts", "2", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert Counter(r["task"] for r in rows) == {"qa": 2, "sentiment": 2}
    own = {"qa": {"qa_f1", "qa_exact_match"}, "sentiment": {"vader_sentiment", "fluency"}}
    assert all(set(r["rewards"]) == own[r["task"]] and None not in r["rewards"].values() for r in rows)
