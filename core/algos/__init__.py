"""RL algorithms, one module each, behind the :class:`Algorithm` interface.

GRPO and RLOO come from TRL; PPO and REINFORCE (and DQN, SAC) are rlft's own, built on one
rollout engine (:mod:`core.algos.rollout`) and one loop (:mod:`core.algos.loop`). See README.md here.

This module is itself a core plugin: it contributes the built-in algorithms through
``rlft_algorithms``, the same hook a third-party package uses to add one.
"""

from __future__ import annotations

from core.algos.base import Algorithm, TrainInputs
from core.algos.dpo import DPO
from core.algos.dqn import DQN
from core.algos.ppo import PPO
from core.algos.reinforce import Reinforce
from core.algos.sac import SAC
from core.algos.trl_online import GRPO, RLOO
from core.hookspecs import hookimpl

__all__ = ["Algorithm", "TrainInputs", "GRPO", "RLOO", "DPO", "PPO", "Reinforce", "DQN", "SAC", "rlft_algorithms"]


@hookimpl
def rlft_algorithms() -> list[type[Algorithm]]:
    """The built-in algorithms."""
    return [GRPO, RLOO, DPO, PPO, Reinforce, DQN, SAC]
