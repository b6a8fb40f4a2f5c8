"""The reward guard: bad reward output stops the run with a line naming the reward."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from core.config import RewardEntry
from core.context import RunContext
from core.errors import ConfigError, DataError, RewardError
from core.rewards.checked import CheckedReward, RewardLog
from core.rewards.spec import RewardSpec, as_reward_spec, reward
from core.run import build_rewards

PROMPTS = ["a", "b"]
COMPLETIONS = ["good", "bad"]


def checked(fn, **kw):
    return CheckedReward("r", fn, **kw)


@pytest.mark.parametrize("values,message", [
    ([1.0], "returned 1 values for 2 completions"),
    ([1.0, math.nan], "returned nan for completion 1 ('bad')"),
    ([math.inf, 0.0], "returned inf for completion 0"),
    ([1.0, "x"], "returned a str for completion 1"),
])
def test_bad_values_raise_naming_the_reward(values, message):
    with pytest.raises(RewardError, match=f"reward 'r' {message}".replace("(", r"\(").replace(")", r"\)")):
        checked(lambda p, c, **_: values)(PROMPTS, COMPLETIONS)


def test_a_raising_reward_is_named():
    def broken(prompts, completions, **_):
        raise KeyError("gold")

    with pytest.raises(RewardError, match="reward 'r' raised KeyError: 'gold'"):
        checked(broken)(PROMPTS, COMPLETIONS)


def test_none_means_not_applicable_and_passes_through():
    assert checked(lambda p, c, **_: [None, 1])(PROMPTS, COMPLETIONS) == [None, 1.0]


def test_missing_column_names_reward_and_column():
    fn = checked(lambda p, c, **_: [0.0, 0.0], columns=("answer",))
    with pytest.raises(DataError, match="reward 'r' needs dataset column 'answer', but the dataset has only: topic"):
        fn(PROMPTS, COMPLETIONS, topic=["x", "y"], trainer_state=None)


def test_reward_log_emits_raw_and_weighted_components_once_all_are_in():
    rows = []
    log = RewardLog({"a": 1.0, "b": 0.5}, rows.extend)
    CheckedReward("a", lambda p, c, **_: [1.0, 0.0], 1.0, log=log)(PROMPTS, COMPLETIONS)
    assert rows == []
    CheckedReward("b", lambda p, c, **_: [2.0, None], 0.5, log=log)(PROMPTS, COMPLETIONS)
    assert rows[0]["rewards"] == {"a": {"raw": 1.0, "weighted": 1.0}, "b": {"raw": 2.0, "weighted": 1.0}}
    assert rows[0]["total"] == 2.0 and rows[1]["total"] == 0.0
    assert rows[1]["rewards"]["b"] == {"raw": None, "weighted": None}


def test_plain_trl_function_becomes_a_spec_named_after_it():
    def my_reward(prompts, completions, **_):
        """Scores things."""
        return [0.0] * len(completions)

    spec = as_reward_spec(my_reward)
    assert (spec.name, spec.description) == ("my_reward", "Scores things.")


def test_reward_args_are_bound_and_checked():
    @reward("scaled")
    def scaled(prompts, completions, *, factor=1.0, **_):
        return [factor] * len(completions)

    assert scaled.reward_spec.build({"factor": 3.0})(PROMPTS, COMPLETIONS) == [3.0, 3.0]
    with pytest.raises(ConfigError, match=r"reward 'scaled' has no argument 'factr' \(did you mean 'factor'\?\)"):
        scaled.reward_spec.build({"factr": 3.0})


def _ctx(plugins, compose_cfg, tmp_path):
    return RunContext(cfg=compose_cfg(["experiment=debug"], tmp_path), output_dir=tmp_path, plugins=plugins)


def entries(*items):
    return OmegaConf.create([OmegaConf.structured(RewardEntry(**i)) for i in items])


def test_unknown_reward_name_suggests(plugins, compose_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown reward 'vader_sentimnt' \(did you mean 'vader_sentiment'\?\)"):
        build_rewards(entries({"name": "vader_sentimnt"}), _ctx(plugins, compose_cfg, tmp_path), ["prompt"])


def test_non_numeric_weight_is_named(plugins, compose_cfg, tmp_path):
    bad = OmegaConf.create([{"name": "vader_sentiment", "weight": "heavy", "args": {}}])
    with pytest.raises(ConfigError, match="reward 'vader_sentiment': weight 'heavy' is not a number"):
        build_rewards(bad, _ctx(plugins, compose_cfg, tmp_path), ["prompt", "polarity"])


def test_required_column_missing_from_task_is_named(plugins, compose_cfg, tmp_path):
    with pytest.raises(DataError, match="reward 'vader_sentiment' needs dataset column 'polarity'"):
        build_rewards(entries({"name": "vader_sentiment"}), _ctx(plugins, compose_cfg, tmp_path), ["prompt"])


def test_factory_rewards_receive_the_run_context(plugins, compose_cfg, tmp_path):
    seen = {}

    class Factory:
        def __init__(self, scale=1.0, context=None):
            seen["context"], self.scale = context, scale

        def __call__(self, prompts, completions, **_):
            return [self.scale] * len(completions)

    spec = RewardSpec("factory_probe", Factory, factory=True)
    ctx = _ctx(plugins, compose_cfg, tmp_path)
    assert spec.build({"scale": 2.0}, ctx)(PROMPTS, COMPLETIONS) == [2.0, 2.0]
    assert seen["context"] is ctx
