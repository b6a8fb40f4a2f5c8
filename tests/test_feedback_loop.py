"""From judgements to training on the embedded tiny model: pair generation, a simulated rater,
a reward model (TRL RewardTrainer) that learns a clear rule, ``human_rm`` as a reward, ``algo=dpo``."""

from __future__ import annotations

import json
import random

import pytest

from core.feedback.store import Store

MARGIN = 0.4  # held-out pairwise accuracy must beat chance (0.5) by this much (measured: 1.0)


def rule_preferences(path, n: int = 120, seed: int = 0) -> None:
    """Pairs that follow one clear rule: the answer that contains the correct number is preferred."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            k = rng.randint(2, 99)
            prompt = [{"role": "user", "content": f"Tom has {k} apples. How many apples has Tom?"}]
            good = rng.choice(["{k}", "Tom has {k}.", "{k} apples", "It is {k}."]).format(k=k)
            bad = rng.choice(["many", "Tom has some.", "a few apples", "I do not know."])
            chosen, rejected = (good, bad)
            f.write(json.dumps({"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                                "rejected": [{"role": "assistant", "content": rejected}], "in_pairs": True}) + "\n")


@pytest.fixture(scope="module")
def prefs(tmp_path_factory):
    path = tmp_path_factory.mktemp("prefs") / "prefs.jsonl"
    rule_preferences(path)
    return path


@pytest.fixture(scope="module")
def trained_rm(prefs, tmp_path_factory):
    from core.feedback.rm import train_rm

    out = tmp_path_factory.mktemp("rm") / "rm"
    return out, train_rm(prefs, out, base="embedded:tiny", epochs=4, lr=1e-3, batch_size=8)


def test_reward_model_learns_the_rule(trained_rm):
    out, metrics = trained_rm
    assert metrics["heldout_pairs"] == 24 and metrics["train_pairs"] == 96 and metrics["lora"] is False
    assert metrics["heldout_accuracy"] >= 0.5 + MARGIN, metrics
    assert metrics["heldout_accuracy"] > metrics["heldout_accuracy_before"], metrics  # training, not the random head
    assert json.loads((out / "metrics.json").read_text())["heldout_accuracy"] == metrics["heldout_accuracy"]


def test_human_rm_is_a_reward_by_name(trained_rm, plugins):
    out, _ = trained_rm
    fn = plugins.rewards.get("human_rm").build({"path": str(out)})
    prompt = [{"role": "user", "content": "Tom has 41 apples. How many apples has Tom?"}]
    good, bad = [{"role": "assistant", "content": "Tom has 41."}], [{"role": "assistant", "content": "many"}]
    scores = fn([prompt, prompt], [good, bad])
    assert len(scores) == 2 and scores[0] > scores[1]


def test_generate_pairs_and_simulated_rater(tmp_path, plugins):
    from core.feedback.pairs import FeedbackSettings, generate_pairs, load_task
    from core.feedback.simulate import simulate

    cfg, ctx, splits = load_task(["task=qa", "model=tiny"])
    store = Store(tmp_path / "sim.db")
    n = generate_pairs(cfg, ctx, splits["train"], FeedbackSettings(pairs=4, batch_size=4, max_new_tokens=6), store)
    assert n == 4 and store.progress()["generation"]["state"] == "done"
    pair = store.pair(1)
    assert pair["task"] == "qa" and pair["model_a"] == "embedded:tiny" and "answers" in pair["columns"]
    assert isinstance(pair["reward_a"], float) and isinstance(pair["reward_b"], float)
    counts = simulate(store, "length_target", ctx, reward_args={"max_len": 3})
    assert sum(counts.values()) == 4 and len(store.judgements()) == 4


def test_dpo_runs_through_core_run(prefs, compose_cfg, tmp_path):
    from core.run import run

    cfg = compose_cfg(["task=qa", "experiment=debug", "algo=dpo", f"algo.preferences={prefs}", "algo.max_steps=2",
                       "algo.batch_size=2", "algo.max_length=64"], output_dir=tmp_path)
    metrics = run(cfg)
    assert set(metrics) >= {"before", "after", "delta"}
    assert (tmp_path / "metrics.json").is_file()


def test_dpo_without_preferences_is_one_clear_error(compose_cfg, tmp_path):
    from core.errors import DataError
    from core.run import run

    cfg = compose_cfg(["task=qa", "experiment=debug", "algo=dpo", f"algo.preferences={tmp_path}/none.jsonl"],
                      output_dir=tmp_path)
    with pytest.raises(DataError, match="none.jsonl"):
        run(cfg)
