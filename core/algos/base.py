"""The one interface every RL algorithm implements, and the TRL settings they share."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainerCallback, TrainingArguments

from core.config import AlgoConfig
from core.errors import ConfigError, did_you_mean

__all__ = ["Algorithm", "TrainInputs", "world_size", "per_device_batch_size", "bf16_supported", "use_cpu",
           "trl_common_args", "trl_key_problems", "checkpointing_arg"]


@dataclass
class TrainInputs:
    """Everything an algorithm needs to build its trainer; the task stays invisible to it."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    train_dataset: Dataset
    reward_funcs: list[Any]
    reward_weights: list[float]
    output_dir: str
    seed: int
    callbacks: list[TrainerCallback]
    peft_config: Any = None
    report_to: list[str] | None = None


class Algorithm:
    """An RL algorithm: turns :class:`TrainInputs` into a ``transformers.Trainer`` whose
    ``train()`` runs ``cfg.max_steps`` optimizer steps."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: Whether its trainer continues from a checkpoint (``resume=``); refused before any model loads if not.
    resumable: ClassVar[bool] = True

    def __init__(self, cfg: AlgoConfig) -> None:
        self.cfg = cfg

    def build_trainer(self, inputs: TrainInputs) -> Trainer:
        """Return a ready trainer."""
        raise NotImplementedError

    def check(self) -> list[str]:
        """Problems with ``self.cfg`` specific to this algorithm, one line each, found before any model loads."""
        return []


def trl_key_problems(trl_args: Any, config_class: type) -> list[str]:
    """One line per ``algo.trl`` key that ``config_class`` (a TRL config dataclass) has no field for."""
    names = [f.name for f in dataclasses.fields(config_class) if f.init]
    return [f"algo.trl.{key}: {config_class.__name__} has no such field{did_you_mean(str(key), names)}"
            for key in dict(trl_args or {}) if key not in names]


def world_size() -> int:
    """Processes taking part in training (``accelerate launch`` / torchrun set ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def per_device_batch_size(cfg: AlgoConfig) -> int:
    """Completions per device per micro-batch so that each optimizer step covers
    ``prompts_per_step`` prompts x ``num_generations`` completions."""
    completions = cfg.prompts_per_step * cfg.num_generations
    shards = cfg.gradient_accumulation_steps * world_size()
    if cfg.prompts_per_step < 1 or cfg.num_generations < 2 or completions % shards:
        raise ConfigError(
            f"algo.prompts_per_step={cfg.prompts_per_step} x algo.num_generations={cfg.num_generations} "
            f"= {completions} completions must be >= 2 per prompt and divisible by "
            f"algo.gradient_accumulation_steps={cfg.gradient_accumulation_steps} x {world_size()} processes"
        )
    return completions // shards


def bf16_supported() -> bool:
    """Whether bfloat16 compute is fast here: a bf16-capable GPU, or a CPU with AVX512-BF16 or AMX."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    return any(getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def use_cpu(bf16: bool) -> bool:
    """``TrainingArguments.use_cpu``: on where no accelerator exists, so that ``accelerate launch`` of several
    CPU processes makes the Trainer's accelerator real DDP over gloo (without it each process believes it is
    alone: no sharding, no gradient sync), and for bf16 without CUDA (accelerate's CPU bf16 autocast)."""
    return not torch.accelerator.is_available() or (bf16 and not torch.cuda.is_available())


def checkpointing_arg(on: bool) -> dict[str, bool]:
    """``TrainingArguments``' activation checkpointing switch under its current name (transformers 5 renamed
    ``gradient_checkpointing``, which now warns, to ``activation_checkpointing``)."""
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": on}


def trl_common_args(cfg: AlgoConfig, inputs: TrainInputs) -> dict[str, Any]:
    """Keyword arguments shared by TRL's online RL configs (GRPOConfig, RLOOConfig)."""
    args: dict[str, Any] = dict(
        output_dir=inputs.output_dir,
        learning_rate=cfg.lr,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=per_device_batch_size(cfg),
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        beta=cfg.beta,
        epsilon=cfg.epsilon,
        num_iterations=cfg.num_iterations,
        max_grad_norm=cfg.max_grad_norm,
        warmup_steps=cfg.warmup_steps,
        lr_scheduler_type=cfg.lr_scheduler_type,
        weight_decay=cfg.weight_decay,
        optim=cfg.optim,
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if cfg.save_steps > 0 else "no",
        save_steps=cfg.save_steps if cfg.save_steps > 0 else 500,
        bf16=bf16_supported() if cfg.bf16 is None else cfg.bf16,
        **checkpointing_arg(cfg.gradient_checkpointing),
        reward_weights=list(inputs.reward_weights),
        report_to=list(inputs.report_to or ["none"]),
        seed=inputs.seed,
        remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    args["use_cpu"] = use_cpu(args["bf16"])
    args.update(dict(cfg.trl))
    return args
