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


def test_human_rm_scores_a_trainers_raw_decode_as_the_stored_text(trained_rm, plugins):
    """Pairs are stored stripped; GRPO passes raw decodes (" sausage ..."), which tokenize differently. Before
    render_pair_text stripped them, the word rule's reward model ranked GRPO's rule-following samples below the
    others (AUC 0.45 raw against 0.87 stripped, 2026-12-02), and GRPO with human_rm unlearned the rule."""
    out, _ = trained_rm
    fn = plugins.rewards.get("human_rm").build({"path": str(out)})
    chat = [{"role": "user", "content": "Tom has 41 apples. How many apples has Tom?"}]
    stored, raw = ([{"role": "assistant", "content": text}] for text in ("Tom has 41.", " Tom has 41.\n"))
    assert fn([chat, chat], [stored, raw]) == pytest.approx(fn([chat, chat], [stored, stored]))
    plain = "Tom has 41 apples. How many apples has Tom?"
    assert fn([plain, plain], ["41", " 41"]) == pytest.approx(fn([plain, plain], ["41", "41"]))


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


def test_pair_generation_is_seeded(tmp_path):
    from core.feedback.pairs import FeedbackSettings, generate_pairs, load_task

    cfg, ctx, splits = load_task(["task=qa", "model=tiny"])

    def pairs(seed: int, db: str) -> list[tuple[str, str]]:
        store = Store(tmp_path / db)
        settings = FeedbackSettings(pairs=4, batch_size=2, max_new_tokens=8, seed=seed)
        generate_pairs(cfg, ctx, splits["train"], settings, store)
        return [(store.pair(i)["completion_a"], store.pair(i)["completion_b"]) for i in range(1, 5)]

    first = pairs(0, "a.db")
    assert pairs(0, "b.db") == first  # the same seed samples the same pairs
    assert pairs(1, "c.db") != first


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


# -- the loop raises a property: simulated rater -> export -> reward model -> GRPO with human_rm, and DPO ----------
#
# The tiny model is a random 3M-parameter Llama: its samples are near-uniform over SmolLM2's 49k tokens (no word is
# in more than ~0.6% of its replies), and a random-weight reward model can only learn tokens it has seen, so the rule
# must be about a few words the policy already reaches. Its greedy first word is less spread out: on sentiment
# prompts " URL", " sausage" and " smartphone" open the greedy reply to about a fifth of the prompts (train and
# held out), and sampling at temperature 0.5 opens ~8-13% of replies with one of them (1.2% at temperature 1).
# The rule: "the reply starts with URL, sausage or smartphone". Pairs are the tiny model's own samples, one side of
# each opened with one of the words; a simulated rater (``regex_match``) judges them through the store, as in
# ``--simulate``; the export trains the reward model, which is then GRPO's only reward, and DPO.
# GRPO with human_rm had lowered the rule to 0.0 (0.19 before, lr 1e-3 to 1e-2). Two causes, measured 2026-12-02:
# - human_rm scored GRPO's raw decodes (" sausage ...", token "Ġsausage") while the pairs are stored stripped
#   ("sausage", tokens "s aus age"): on 512 GRPO-like samples (64 held-out prompts x 8, 4 tokens, T=0.5) the
#   reward model ranked rule-following ones *below* the others (AUC 0.45; 0.87 once stripped, as now rendered).
# - lr 1e-2 is too large for GRPO here: even the true rule as the reward drops the rule to 0.0 (Adam's first step
#   scrambles the model; the rule is never sampled again); at lr 1e-3 the true rule raises it 0.19 -> 0.52.

TASK = "sentiment"
WORDS = ("URL", "sausage", "smartphone")
RULE = {"name": "regex_match", "args": {"pattern": r"^\s*(?:" + "|".join(WORDS) + ")"}}
WORD_PAIRS = 200  # judged pairs: 160 train the reward model, 40 are its held-out pairs
WORD_RM_MARGIN = 0.15  # held-out pairwise accuracy >= 0.65; measured 2026-12-02: 0.925 (untrained 0.575)
DPO = ["algo.max_steps=5", "algo.batch_size=8", "algo.max_length=160", "algo.lr=1e-2"]
DPO_GAIN = 0.3  # held-out rule rate (64 prompts, greedy); measured 2026-12-02: 0.19 -> 0.64 in 5 steps
GRPO = ["algo=grpo", "~task_settings", "algo.beta=0.0", "algo.lr=2e-3", "algo.max_steps=16", "algo.prompts_per_step=4",
        "algo.num_generations=8", "algo.max_completion_length=4", "algo.temperature=0.5"]
GRPO_GAIN = 0.2  # held-out rule rate (64 prompts, greedy); measured 2026-12-02: 0.19 -> 0.55 (lr 1e-3: -> 0.28)


@pytest.fixture(scope="module")
def word_loop(tmp_path_factory):
    """``(prefs.jsonl, reward model dir, RM metrics)`` for the word rule, from the tiny model's own samples."""
    import torch

    from core.feedback.export import export
    from core.feedback.pairs import load_task
    from core.feedback.rm import train_rm
    from core.feedback.simulate import simulate
    from core.generation import generate
    from core.models import load_model

    root = tmp_path_factory.mktemp("word")
    cfg, ctx, splits = load_task([f"task={TASK}", "model=tiny"])
    model, tokenizer = load_model(cfg.model)
    rows = splits["train"].select(range(WORD_PAIRS))
    torch.manual_seed(0)
    samples = generate(model, tokenizer, list(rows["prompt"]), num_samples=2, max_new_tokens=8, temperature=1.0)
    rng = random.Random(0)
    pairs = []
    for i, prompt in enumerate(rows["prompt"]):
        good, other = f"{rng.choice(WORDS)} {samples[2 * i]}", samples[2 * i + 1]
        a, b = (good, other) if rng.random() < 0.5 else (other, good)
        pairs.append({"prompt": prompt, "prompt_text": "", "completion_a": a, "completion_b": b, "model_a": "tiny",
                      "model_b": "tiny", "task": TASK, "columns": {}})
    store = Store(root / "sim.db")
    store.add_pairs(pairs)
    counts = simulate(store, RULE["name"], ctx, reward_args=RULE["args"])
    assert counts.get("a", 0) + counts.get("b", 0) >= WORD_PAIRS - 8, counts  # a sample rarely opens with a word
    export(store, root / "prefs")
    metrics = train_rm(root / "prefs.jsonl", root / "rm", base="embedded:tiny", epochs=8, lr=1e-3, batch_size=8)
    return root / "prefs.jsonl", root / "rm", metrics


def rule_rate(metrics: dict, stage: str) -> float:
    """Held-out share of greedy completions that follow the rule (the 0-weight ``regex_match`` component)."""
    return metrics[stage][f"reward/{RULE['name']}"]["value"]


def word_run(compose_cfg, tmp_path, overrides: list[str], rewards: list[dict]) -> dict:
    """``core.run`` on the task with ``rewards`` plus the rule as a 0-weight component; held-out greedy eval."""
    from core.config import RewardEntry
    from core.run import run

    cfg = compose_cfg([f"task={TASK}", "experiment=debug", "task.max_prompts=null", "task.eval_prompts=64",
                       "eval.max_new_tokens=4", "eval.language_quality=false", "eval.interpret=false",
                       "algo.bf16=false", *overrides], output_dir=tmp_path)
    cfg.task.rewards = [RewardEntry(**entry) for entry in [*rewards, {**RULE, "weight": 0.0}]]
    return run(cfg)


def test_reward_model_learns_the_word_rule(word_loop):
    _, _, metrics = word_loop
    print("RM", metrics)
    assert metrics["heldout_accuracy"] >= 0.5 + WORD_RM_MARGIN, metrics


def test_dpo_raises_the_rule_on_heldout_prompts(word_loop, compose_cfg, tmp_path):
    prefs, _, _ = word_loop
    metrics = word_run(compose_cfg, tmp_path, ["algo=dpo", f"algo.preferences={prefs}", *DPO], [])
    print("DPO rule rate", rule_rate(metrics, "before"), "->", rule_rate(metrics, "after"))
    assert rule_rate(metrics, "after") >= rule_rate(metrics, "before") + DPO_GAIN, metrics["delta"]



def test_grpo_with_human_rm_raises_the_rule_on_heldout_prompts(word_loop, compose_cfg, tmp_path):
    _, rm, _ = word_loop
    metrics = word_run(compose_cfg, tmp_path, GRPO, [{"name": "human_rm", "weight": 1.0, "args": {"path": str(rm)}}])
    print("GRPO rule rate", rule_rate(metrics, "before"), "->", rule_rate(metrics, "after"))
    assert rule_rate(metrics, "after") >= rule_rate(metrics, "before") + GRPO_GAIN, metrics["delta"]
