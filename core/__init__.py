"""rlft core: the RL loop, the plugin contract and the pieces task plugins build on.

Plugins import only what this module exports.
"""

from core.hub_guard import guard_bitsandbytes_import

guard_bitsandbytes_import()  # before peft or TRL import it: no kernel fetched from the Hub (core/hub_guard.py)

from core.config import RewardEntry, TaskConfig
from core.errors import ConfigError, DataError, ModelError, PluginError, RewardError, RlftError
from core.evaluators import Corpus, EvaluatorSpec, evaluator, point_values
from core.hookspecs import hookimpl
from core.rewards.spec import RewardSpec, completion_text, prompt_text, reward
from core.task import Task, chat_prompt

__all__ = [
    "hookimpl", "Task", "TaskConfig", "RewardEntry", "chat_prompt", "reward", "RewardSpec", "evaluator",
    "EvaluatorSpec", "Corpus", "point_values", "completion_text", "prompt_text", "RlftError", "ConfigError", "DataError", "ModelError",
    "PluginError", "RewardError",
]
