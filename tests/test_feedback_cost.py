"""The judgements a run learned from: a ``human_rm`` reward model's training pairs plus a preference file's."""

from __future__ import annotations

import json

from core.config import RewardEntry
from core.feedback.cost import judgements_used


def _prefs(path, n: int) -> None:
    path.write_text("".join(json.dumps({"prompt": [{"role": "user", "content": f"q{i}"}],
                                        "chosen": [{"role": "assistant", "content": "yes"}],
                                        "rejected": [{"role": "assistant", "content": "no"}]}) + "\n"
                            for i in range(n)))


def test_a_run_without_human_feedback_has_no_judgement_count(compose_cfg):
    assert judgements_used(compose_cfg(["task=sentiment", "experiment=debug"])) is None


def test_judgements_of_reward_models_and_preference_files_add_up(compose_cfg, tmp_path):
    rm = tmp_path / "rm"
    rm.mkdir()
    (rm / "metrics.json").write_text(json.dumps({"train_pairs": 160, "heldout_pairs": 40}))
    cfg = compose_cfg(["task=sentiment", "experiment=debug"])
    cfg.task.rewards = [RewardEntry(name="human_rm", args={"path": str(rm)}),
                        RewardEntry(name="length_target")]
    assert judgements_used(cfg) == 160

    _prefs(tmp_path / "prefs.jsonl", 7)
    dpo = compose_cfg(["task=qa", "experiment=debug", "algo=dpo", f"algo.preferences={tmp_path}/prefs.jsonl"])
    assert judgements_used(dpo) == 7
    dpo.algo.max_pairs = 5
    assert judgements_used(dpo) == 5


def test_a_dpo_run_reports_the_judgements_behind_its_gain(compose_cfg, tmp_path):
    from core.run import run

    _prefs(tmp_path / "prefs.jsonl", 7)
    out = tmp_path / "run"
    cfg = compose_cfg(["task=qa", "experiment=debug", "algo=dpo", f"algo.preferences={tmp_path}/prefs.jsonl",
                       "algo.max_steps=2", "algo.batch_size=2", "algo.max_length=64", "eval.every=1"],
                      output_dir=out)
    metrics = run(cfg)
    assert metrics["sample_efficiency"]["judgements"] == 7
    assert "learning from 7 human judgements" in (out / "report.md").read_text()
