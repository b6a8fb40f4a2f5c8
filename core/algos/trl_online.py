"""GRPO and RLOO, both straight from TRL."""

from __future__ import annotations

from transformers import Trainer

import functools

from core.algos.base import Algorithm, TrainInputs, trl_common_args
from core.algos.checkpoints import AtomicCheckpoints
from core.algos.fast_trl import AutocastGeneration, SharedPrefixLogps
from core.errors import ConfigError

__all__ = ["GRPO", "RLOO", "rlft_trainer"]


@functools.cache
def rlft_trainer(trainer_cls: type) -> type:
    """TRL's ``trainer_cls`` with rlft's atomic checkpoints, shared-prefix log-probs and bf16 sampling."""
    return type(f"Rlft{trainer_cls.__name__}", (AtomicCheckpoints, AutocastGeneration, SharedPrefixLogps, trainer_cls),
                {"__doc__": f"TRL's {trainer_cls.__name__} with rlft's checkpoints and fast paths."})


class GRPO(Algorithm):
    """Group Relative Policy Optimization (TRL ``GRPOTrainer``)."""

    name = "grpo"
    description = "Group Relative Policy Optimization (TRL GRPOTrainer)"

    def build_trainer(self, inputs: TrainInputs) -> Trainer:
        from trl import GRPOConfig, GRPOTrainer

        args = trl_common_args(self.cfg, inputs)
        aggregation = {"raw": "sum_then_normalize", "zscore": "normalize_then_sum"}
        if self.cfg.reward_normalization not in aggregation:
            raise ConfigError(f"algo.reward_normalization={self.cfg.reward_normalization!r} is not one of "
                              f"{', '.join(aggregation)}")
        args.setdefault("multi_objective_aggregation", aggregation[self.cfg.reward_normalization])
        trainer = rlft_trainer(GRPOTrainer)(model=inputs.model, reward_funcs=inputs.reward_funcs,
                                            args=GRPOConfig(**args), train_dataset=inputs.train_dataset,
                                            processing_class=inputs.tokenizer, callbacks=inputs.callbacks,
                                            peft_config=inputs.peft_config)
        trainer.checkpoints_to_keep = self.cfg.keep_checkpoints
        return trainer


class RLOO(Algorithm):
    """REINFORCE Leave-One-Out (TRL ``RLOOTrainer``)."""

    name = "rloo"
    description = "REINFORCE Leave-One-Out (TRL RLOOTrainer)"

    def build_trainer(self, inputs: TrainInputs) -> Trainer:
        from trl import RLOOConfig, RLOOTrainer

        if self.cfg.reward_normalization != "raw":
            raise ConfigError("algo.reward_normalization='zscore' is only supported by algo=grpo; use 'raw' with rloo")
        args = trl_common_args(self.cfg, inputs)
        trainer = rlft_trainer(RLOOTrainer)(model=inputs.model, reward_funcs=inputs.reward_funcs,
                                            args=RLOOConfig(**args), train_dataset=inputs.train_dataset,
                                            processing_class=inputs.tokenizer, callbacks=inputs.callbacks,
                                            peft_config=inputs.peft_config)
        trainer.checkpoints_to_keep = self.cfg.keep_checkpoints
        return trainer
