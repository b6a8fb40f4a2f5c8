"""Reward functions: the spec and decorator, the run-time guard, and generic rewards any task can use."""

from core.rewards.checked import CheckedReward, RewardLog
from core.rewards.spec import RewardFunc, RewardSpec, as_reward_spec, completion_text, prompt_text, reward

__all__ = ["RewardFunc", "RewardSpec", "reward", "as_reward_spec", "completion_text", "prompt_text",
           "CheckedReward", "RewardLog"]
