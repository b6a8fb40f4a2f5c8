"""GRPO and RLOO, both straight from TRL."""

from __future__ import annotations

import functools
from typing import Any

import torch
from transformers import PreTrainedModel, Trainer

from core.algos.base import Algorithm, TrainInputs, trl_common_args, trl_key_problems
from core.algos.checkpoints import AtomicCheckpoints
from core.algos.dynamic_sampling import SkipZeroVarianceGroups
from core.algos.fast_trl import AutocastGeneration, SharedPrefillGeneration, SharedPrefixLogps, StopStringGeneration
from core.errors import ConfigError, did_you_mean

__all__ = ["GRPO", "RLOO", "rlft_trainer"]


@functools.cache
def rlft_trainer(trainer_cls: type) -> type:
    """TRL's ``trainer_cls`` with rlft's atomic checkpoints, dynamic sampling, stop strings, shared prompt
    prefills, bf16 sampling and shared-prefix log-probs."""
    mixins = (AtomicCheckpoints, SkipZeroVarianceGroups, StopStringGeneration, SharedPrefillGeneration,
              AutocastGeneration, SharedPrefixLogps)
    return type(f"Rlft{trainer_cls.__name__}", (*mixins, trainer_cls),
                {"__doc__": f"TRL's {trainer_cls.__name__} with rlft's checkpoints and fast paths."})


def configured(trainer: Any, cfg: Any) -> Any:
    """``trainer`` with rlft's settings that TRL's configs do not hold (checkpoints kept, dynamic sampling,
    stop strings, a bfloat16 KL reference)."""
    trainer.checkpoints_to_keep = cfg.keep_checkpoints
    trainer.skip_zero_variance_groups = cfg.skip_zero_variance_groups
    trainer.set_stop_strings(cfg.stop_strings)
    keep_reference_in_bf16(trainer)
    return trainer


def keep_reference_in_bf16(trainer: Any) -> bool:
    """Store the frozen KL reference in bfloat16 when training runs in bf16 (its passes run under bf16
    autocast anyway): half its memory, 0.25 GiB for the embedded model. TRL loads it in the policy's dtype;
    a dtype set in ``algo.trl.model_init_kwargs`` is kept, and so is a reference that DeepSpeed or FSDP
    wrapped. Returns whether it cast."""
    ref = getattr(trainer, "ref_model", None)
    chosen = "dtype" in (trainer.args.model_init_kwargs or {})
    if not trainer.args.bf16 or chosen or not isinstance(ref, PreTrainedModel) or ref.dtype == torch.bfloat16:
        return False
    ref.to(torch.bfloat16)
    return True


AGGREGATION = {"raw": "sum_then_normalize", "zscore": "normalize_then_sum"}


class GRPO(Algorithm):
    """Group Relative Policy Optimization (TRL ``GRPOTrainer``)."""

    name = "grpo"
    description = "Group Relative Policy Optimization (TRL GRPOTrainer)"

    def check(self) -> list[str]:
        """``reward_normalization`` is raw or zscore; every ``algo.trl`` key is a ``GRPOConfig`` field."""
        from trl import GRPOConfig

        problems = trl_key_problems(self.cfg.trl, GRPOConfig)
        if self.cfg.reward_normalization not in AGGREGATION:
            problems.insert(0, f"algo.reward_normalization={self.cfg.reward_normalization!r}: must be one of "
                               f"{', '.join(AGGREGATION)}{did_you_mean(str(self.cfg.reward_normalization), AGGREGATION)}")
        return problems

    def build_trainer(self, inputs: TrainInputs) -> Trainer:
        from trl import GRPOConfig, GRPOTrainer

        args = trl_common_args(self.cfg, inputs)
        if self.check():
            raise ConfigError(self.check()[0])
        args.setdefault("multi_objective_aggregation", AGGREGATION[self.cfg.reward_normalization])
        trainer = rlft_trainer(GRPOTrainer)(model=inputs.model, reward_funcs=inputs.reward_funcs,
                                            args=GRPOConfig(**args), train_dataset=inputs.train_dataset,
                                            processing_class=inputs.tokenizer, callbacks=inputs.callbacks,
                                            peft_config=inputs.peft_config)
        return configured(trainer, self.cfg)


class RLOO(Algorithm):
    """REINFORCE Leave-One-Out (TRL ``RLOOTrainer``)."""

    name = "rloo"
    description = "REINFORCE Leave-One-Out (TRL RLOOTrainer)"

    def check(self) -> list[str]:
        """``reward_normalization`` is raw (rloo has no zscore); every ``algo.trl`` key is an ``RLOOConfig`` field."""
        from trl import RLOOConfig

        problems = trl_key_problems(self.cfg.trl, RLOOConfig)
        if self.cfg.reward_normalization != "raw":
            problems.insert(0, f"algo.reward_normalization={self.cfg.reward_normalization!r}: must be raw with "
                               f"algo=rloo ('zscore' needs algo=grpo)")
        return problems

    def build_trainer(self, inputs: TrainInputs) -> Trainer:
        from trl import RLOOConfig, RLOOTrainer

        if self.check():
            raise ConfigError(self.check()[0])
        args = trl_common_args(self.cfg, inputs)
        trainer = rlft_trainer(RLOOTrainer)(model=inputs.model, reward_funcs=inputs.reward_funcs,
                                            args=RLOOConfig(**args), train_dataset=inputs.train_dataset,
                                            processing_class=inputs.tokenizer, callbacks=inputs.callbacks,
                                            peft_config=inputs.peft_config)
        return configured(trainer, self.cfg)
