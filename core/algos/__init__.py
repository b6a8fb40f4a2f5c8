"""RL algorithms, one module each, behind the :class:`Algorithm` interface.

This module is itself a core plugin: it contributes the built-in algorithms through
``rlft_algorithms``, the same hook a third-party package uses to add one.
"""

from __future__ import annotations

from core.algos.base import Algorithm, TrainInputs
from core.algos.dpo import DPO
from core.algos.trl_online import GRPO, RLOO
from core.hookspecs import hookimpl

__all__ = ["Algorithm", "TrainInputs", "GRPO", "RLOO", "DPO", "rlft_algorithms"]


@hookimpl
def rlft_algorithms() -> list[type[Algorithm]]:
    """The built-in algorithms."""
    return [GRPO, RLOO, DPO]
