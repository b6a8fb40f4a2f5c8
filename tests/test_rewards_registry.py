"""Generic rewards by name: registration, listing, composition by config, and the errors users can cause."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from core.context import RunContext
from core.errors import ConfigError, DataError
from core.rewards.builtin import GENERIC_EVALUATORS, GENERIC_REWARDS
from core.rewards.spec import as_reward_spec
from core.run import build_rewards

GENERIC = ["fluency", "relevance", "distinct_n", "self_bleu_diversity", "repetition_penalty", "length_target",
           "regex_match", "valid_json", "truncation_penalty", "safety_penalty", "human_rm"]

def test_every_generic_reward_and_evaluator_is_registered_by_core(plugins):
    assert sorted(as_reward_spec(r).name for r in GENERIC_REWARDS) == sorted(GENERIC)
    for name in GENERIC:
        assert plugins.rewards.source(name).startswith("core.rewards.builtin")
        assert plugins.rewards.get(name).description
    for name in ("relevance", "diversity", "length"):
        assert plugins.evaluators.source(name).startswith("core.rewards.builtin")
    assert len(GENERIC_EVALUATORS) == 3


def test_listing_shows_source_description_columns_and_args(plugins, capsys):
    from core.rewards.__main__ import main

    main([])
    out = capsys.readouterr().out
    for name in GENERIC + ["vader_sentiment"]:
        assert f"\n  {name}\n" in out
    block = out.split("\n  vader_sentiment\n")[1].split("\n  ")[0:4]
    assert any("columns: polarity" in line for line in block)
    assert any("source: sentiment" in line for line in block)
    assert "args: min_len=1, max_len=50, unit='words', tokenizer=None" in out
    assert "\n  diversity " in out.split("\nevaluators (use")[1]


def test_listing_suggests_a_name_for_a_typo(plugins, capsys):
    from core.rewards.__main__ import main

    with pytest.raises(SystemExit):
        main(["distinct_m"])
    assert "did you mean 'distinct_n'?" in capsys.readouterr().err


def _ctx(compose_cfg, plugins, tmp_path, overrides):
    cfg = compose_cfg(["model=tiny", *overrides], tmp_path)
    ctx = RunContext(cfg=cfg, output_dir=tmp_path, plugins=plugins)
    ctx.task = plugins.tasks.get(cfg.task.name)(cfg.task)
    return ctx


def test_composing_a_task_reward_with_a_generic_one_by_config(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, [
        "task=sentiment", "task.rewards=[{name: vader_sentiment, weight: 1.0}, {name: distinct_n, weight: 0.5}]"])
    ds = ctx.task.splits()["train"]
    rewards = build_rewards(ctx.cfg.task.rewards, ctx, ds.column_names)
    assert [(r.__name__, r.weight) for r in rewards] == [("vader_sentiment", 1.0), ("distinct_n", 0.5)]
    prompts = [ds[0]["prompt"]] * 2
    completions = [[{"role": "assistant", "content": t}] for t in ("What a great day!", "What a great day!")]
    columns = {"polarity": ["positive", "negative"], "topic": ["x", "x"]}
    assert rewards[0](prompts, completions, **columns) == pytest.approx([0.6588, -0.6588])
    assert rewards[1](prompts, completions, **columns) == [0.0, 0.0]  # identical siblings: no new bigram


def test_generic_reward_args_come_from_config(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, [
        "task=dialogue", "task.rewards=[{name: length_target, weight: 2, args: {min_len: 2, max_len: 3}}, "
                         "{name: regex_match, weight: 1, args: {pattern: '^Sure'}}]"])
    [length, regex] = build_rewards(ctx.cfg.task.rewards, ctx, ["prompt"])
    assert length(["p"], ["one"]) == [-0.5] and length.weight == 2.0
    assert regex(["p", "p"], ["Sure thing.", "No."]) == [1.0, 0.0]


def test_unknown_reward_name_suggests_the_closest(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, ["task=sentiment", "task.rewards=[{name: distinct_m}]"])
    with pytest.raises(ConfigError, match=r"unknown reward 'distinct_m' \(did you mean 'distinct_n'\?\)"):
        build_rewards(ctx.cfg.task.rewards, ctx, ["prompt", "polarity"])


def test_unknown_reward_argument_suggests_the_closest(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, ["task=sentiment", "task.rewards=[{name: length_target, args: {max_lenn: 3}}]"])
    with pytest.raises(ConfigError, match=r"'length_target' has no argument 'max_lenn' \(did you mean 'max_len'\?\)"):
        build_rewards(ctx.cfg.task.rewards, ctx, ["prompt"])


def test_weight_that_is_not_a_number_names_the_reward(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, ["task=sentiment"])
    entries = OmegaConf.create([{"name": "distinct_n", "weight": "heavy", "args": {}}])
    with pytest.raises(ConfigError, match="reward 'distinct_n': weight 'heavy' is not a number"):
        build_rewards(entries, ctx, ["prompt"])


def test_missing_dataset_column_names_the_reward_and_the_column(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, [
        "task=dialogue", "task.rewards=[{name: relevance}, {name: vader_sentiment}]"])
    columns = ctx.task.splits()["train"].column_names
    with pytest.raises(DataError, match="reward 'vader_sentiment' needs dataset column 'polarity'.*'dialogue'"):
        build_rewards(ctx.cfg.task.rewards, ctx, columns)


def test_every_generic_reward_survives_edge_case_inputs(compose_cfg, plugins, tmp_path):
    ctx = _ctx(compose_cfg, plugins, tmp_path, ["task=dialogue"])
    entries = OmegaConf.create([{"name": n, "weight": 1.0, "args": {"pattern": "x"} if n == "regex_match" else {}}
                                for n in GENERIC if n != "human_rm"])  # human_rm needs a trained model
    rewards = build_rewards(entries, ctx, ["prompt"])
    prompt = [{"role": "user", "content": "Hello?"}]
    texts = ["", "Bonjour, ça va ? ✓ 日本語", "word " * 3000, "   \n\t", "<|im_end|> {\"a\": 1}"]
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    for fn in rewards:
        values = fn([prompt] * len(texts), completions)
        assert len(values) == len(texts) and all(isinstance(v, float) and math.isfinite(v) for v in values), \
            fn.__name__
