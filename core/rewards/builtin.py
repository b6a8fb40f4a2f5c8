"""The core plugin that contributes rlft's generic rewards to every task."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.rewards.spec import RewardSpec, as_reward_spec

__all__ = ["GENERIC_REWARDS", "rlft_rewards"]

GENERIC_REWARDS: list = []


@hookimpl
def rlft_rewards() -> list[RewardSpec]:
    """Every generic reward of ``core.rewards``."""
    return [as_reward_spec(r) for r in GENERIC_REWARDS]
