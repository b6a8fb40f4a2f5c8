"""core.testing: the contract helper third-party authors import passes good tasks and names broken ones."""

from __future__ import annotations

import pytest

from core.testing import check_task, task_problems


def test_builtin_task_passes():
    check_task("qa")


def test_unknown_task_is_reported_not_raised():
    [problem] = task_problems("no_such_task")
    assert "unknown task 'no_such_task'" in problem


def test_broken_reward_is_named(plugins):
    from core.rewards.spec import reward

    @reward("contract_probe_bad_length")
    def bad(prompts, completions, **_):
        return [0.0]

    if "contract_probe_bad_length" not in plugins.rewards:
        plugins.rewards.add("contract_probe_bad_length", bad.reward_spec, "tests")
    with pytest.raises(AssertionError, match=r"reward 'contract_probe_bad_length' returned 1 values for 9 completions"):
        check_task("qa", ["task.rewards=[{name: contract_probe_bad_length}]"])
