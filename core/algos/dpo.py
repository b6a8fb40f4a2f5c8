"""Direct Preference Optimization (TRL ``DPOTrainer``): an offline algorithm trained on preference pairs.

Where its data comes from: ``algo.preferences=<file>``, a ``.jsonl`` or ``.parquet`` written by
``python -m core.feedback export`` (or any file with ``prompt``/``chosen``/``rejected`` columns in
TRL's format). The task still supplies the held-out split, rewards and evaluators, so ``core.run``
evaluates before and after exactly as for the online algorithms; the task's train prompts are not
used. Ties and both-bad judgements are skipped.

    python -m core.run task=qa algo=dpo algo.preferences=feedback/prefs.jsonl
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING
from transformers import Trainer

from core.algos.base import Algorithm, TrainInputs, bf16_supported, checkpointing_arg, use_cpu
from core.algos.checkpoints import AtomicCheckpoints
from core.config import AlgoConfig
from core.errors import ConfigError

__all__ = ["DPOAlgoConfig", "DPO"]


@dataclass
class DPOAlgoConfig(AlgoConfig):
    """DPO settings: the shared algorithm fields plus where the preference pairs are."""

    preferences: str = field(default=MISSING, metadata={"help": "Preference file (.jsonl/.parquet) from "
                                                                  "`python -m core.feedback export`."})
    max_pairs: int | None = field(default=None, metadata={"help": "Use only the first N pairs (None: all)."})
    batch_size: int = field(default=4, metadata={"help": "Pairs per micro-batch."})
    max_length: int = field(default=512, metadata={"help": "Tokens kept per prompt + completion."})
    loss_type: str = field(default="sigmoid", metadata={"help": "TRL DPO loss: sigmoid, ipo, hinge, robust..."})


class DPO(Algorithm):
    """Direct Preference Optimization on exported preferences (TRL ``DPOTrainer``)."""

    name = "dpo"
    description = "Direct Preference Optimization on preference pairs (TRL DPOTrainer; algo.preferences=<file>)"

    def build_trainer(self, inputs: TrainInputs) -> Trainer:
        from trl import DPOConfig, DPOTrainer

        from core.feedback.export import load_preferences

        cfg = self.cfg
        if not getattr(cfg, "preferences", None):
            raise ConfigError("algo=dpo needs algo.preferences=<file> (python -m core.feedback export writes one)")
        if cfg.beta <= 0:
            raise ConfigError(f"algo.beta={cfg.beta} must be > 0 for DPO (the usual value is 0.1)")
        pairs = load_preferences(cfg.preferences, cfg.max_pairs)
        args = dict(
            output_dir=inputs.output_dir, learning_rate=cfg.lr, max_steps=cfg.max_steps,
            per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            beta=cfg.beta, loss_type=[cfg.loss_type], max_length=cfg.max_length, max_grad_norm=cfg.max_grad_norm,
            warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.lr_scheduler_type, weight_decay=cfg.weight_decay,
            optim=cfg.optim, logging_steps=cfg.logging_steps, save_strategy="steps" if cfg.save_steps > 0 else "no",
            save_steps=cfg.save_steps if cfg.save_steps > 0 else 500,
            bf16=bf16_supported() if cfg.bf16 is None else cfg.bf16,
            **checkpointing_arg(cfg.gradient_checkpointing), report_to=list(inputs.report_to or ["none"]),
            seed=inputs.seed, dataloader_pin_memory=False)
        args["use_cpu"] = use_cpu(args["bf16"])  # real DDP over gloo on CPU-only machines, as for the others
        args.update(dict(cfg.trl))
        trainer_cls = type("RlftDPOTrainer", (AtomicCheckpoints, DPOTrainer),
                           {"__doc__": "TRL's DPOTrainer with rlft's atomic, rotated checkpoints."})
        trainer = trainer_cls(model=inputs.model, args=DPOConfig(**args), train_dataset=pairs,
                              processing_class=inputs.tokenizer, callbacks=inputs.callbacks,
                              peft_config=inputs.peft_config)
        trainer.checkpoints_to_keep = cfg.keep_checkpoints
        return trainer
