"""rlft core: the RL loop, the plugin contract and the pieces task plugins build on.

Plugins import only what this module exports.
"""

import logging

# bitsandbytes (which peft imports) warns on AVX512-BF16 CPUs that its optional 4-bit matmul kernel is missing;
# rlft uses only its 8-bit AdamW, so on those CPUs the warning was noise at the top of every run.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

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
