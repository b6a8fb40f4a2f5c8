"""The training loop the own algorithms share, as a ``transformers.Trainer`` subclass.

Like TRL's old ``PPOTrainer`` it keeps ``Trainer``'s plumbing (the accelerate ``Accelerator`` for
devices, DDP and mixed precision; callbacks such as rlft's NaN guard and plugin bridge; TensorBoard;
``save_model`` for full weights or a LoRA adapter) and replaces ``train()`` with an RL loop:

    for step in range(max_steps):  exp = self.rollout()  ->  logs = self.update(exp)  ->  log, checkpoint

An algorithm subclasses :class:`OwnTrainer` and writes ``update`` (and, if it needs heads, ``build_agent``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainerState, TrainingArguments, get_scheduler
from transformers.trainer_utils import TrainOutput

from core.algos.agent import Agent, token_logprobs
from core.algos.base import TrainInputs, use_cpu
from core.algos.checkpoints import STAGING, AtomicCheckpoints, checkpoints
from core.algos.rollout import Experience, RolloutEngine
from core.errors import ConfigError, RlftError

__all__ = ["OwnTrainer", "PromptStream", "STATE_FILE"]

#: What a checkpoint of an own algorithm holds besides ``Trainer``'s files.
STATE_FILE = "rlft_state.pt"


class PromptStream:
    """Endless shuffled pass over the dataset rows; each process takes its own share of each batch."""

    def __init__(self, dataset: Any, per_step: int, seed: int, rank: int = 0, world: int = 1) -> None:
        if len(dataset) == 0:
            raise ConfigError("the training dataset is empty")
        self.dataset, self.per_step, self.rank, self.world = dataset, per_step, rank, world
        self.generator = torch.Generator().manual_seed(seed)
        self.order: list[int] = []
        self.seen = 0

    def state_dict(self) -> dict[str, Any]:
        """Where the stream stands: the shuffling generator, the rest of the current pass, the rows seen."""
        return {"generator": self.generator.get_state(), "order": list(self.order), "seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict`."""
        self.generator.set_state(state["generator"])
        self.order, self.seen = list(state["order"]), int(state["seen"])

    def __next__(self) -> list[dict[str, Any]]:
        while len(self.order) < self.per_step:
            self.order += torch.randperm(len(self.dataset), generator=self.generator).tolist()
        batch, self.order = self.order[:self.per_step], self.order[self.per_step:]
        self.seen += self.per_step
        return [self.dataset[i] for i in batch[self.rank::self.world]]

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        return self


class OwnTrainer(Trainer):
    """Base of rlft's own RL trainers. ``max_steps`` counts rollout batches (one ``update`` each)."""

    algo_name = "own"

    def __init__(self, cfg: Any, inputs: TrainInputs) -> None:
        if cfg.trl:
            raise ConfigError(f"algo.trl is for TRL algorithms; algo={self.algo_name} is rlft's own (got {dict(cfg.trl)})")
        self.cfg = cfg
        policy = inputs.model
        if inputs.peft_config is not None:
            from peft import get_peft_model

            policy = get_peft_model(policy, inputs.peft_config)
        if cfg.gradient_checkpointing:
            policy.gradient_checkpointing_enable()
            if hasattr(policy, "enable_input_require_grads"):
                policy.enable_input_require_grads()
        args = TrainingArguments(
            output_dir=inputs.output_dir, learning_rate=cfg.lr, max_steps=cfg.max_steps, logging_steps=cfg.logging_steps,
            report_to=list(inputs.report_to or ["none"]), seed=inputs.seed, save_strategy="no", bf16=bool(cfg.bf16),
            use_cpu=use_cpu(bool(cfg.bf16)),
            gradient_accumulation_steps=cfg.gradient_accumulation_steps, max_grad_norm=cfg.max_grad_norm,
            weight_decay=cfg.weight_decay, optim=cfg.optim, remove_unused_columns=False, dataloader_pin_memory=False,
            per_device_train_batch_size=1)
        super().__init__(model=policy, args=args, train_dataset=inputs.train_dataset,
                         processing_class=inputs.tokenizer, callbacks=inputs.callbacks)
        self.tokenizer = inputs.tokenizer
        self.pad_id = inputs.tokenizer.pad_token_id
        world = self.accelerator.num_processes
        if cfg.prompts_per_step < 1 or cfg.prompts_per_step % world:
            raise ConfigError(f"algo.prompts_per_step={cfg.prompts_per_step} must be a positive multiple of the "
                              f"{world} training processes")
        self.prompts = PromptStream(inputs.train_dataset, cfg.prompts_per_step, inputs.seed,
                                    self.accelerator.process_index, world)
        self.engine = RolloutEngine(inputs.tokenizer, inputs.reward_funcs, num_generations=cfg.num_generations,
                                    max_new_tokens=cfg.max_completion_length, temperature=cfg.temperature,
                                    top_p=cfg.top_p, top_k=getattr(cfg, "top_k", None) or None,
                                    stop_strings=cfg.stop_strings)
        self.ref_model: Any = None

    # ---- what an algorithm provides -------------------------------------------------------------
    def build_agent(self, policy: torch.nn.Module) -> Agent:
        """The trainable module (policy plus heads); the default has no heads."""
        return Agent(policy)

    def optimizer_steps_per_update(self) -> int:
        """Optimizer steps one ``update`` takes (for the learning-rate schedule)."""
        return 1

    def update(self, exp: Experience | None) -> dict[str, float]:
        """Learn from one rollout batch; return the metrics to log."""
        raise NotImplementedError

    def rollout(self) -> Experience | None:
        """Sample and score this step's batch (None for algorithms that learn from stored data only)."""
        return self.engine.collect(self.model, next(self.prompts), self.state)

    # ---- shared machinery -----------------------------------------------------------------------
    def param_groups(self, agent: Agent) -> list[dict[str, Any]]:
        """Optimizer parameter groups (default: every trainable parameter at ``algo.lr``)."""
        return [{"params": [p for p in agent.parameters() if p.requires_grad]}]

    def train(self, resume_from_checkpoint: str | None = None, **kwargs: Any) -> TrainOutput:
        """Run ``algo.max_steps`` rollout/update steps and return ``TrainOutput`` like ``Trainer.train``."""
        acc, cfg = self.accelerator, self.cfg
        resume = Path(resume_from_checkpoint) if resume_from_checkpoint else None
        saved = self.read_checkpoint(resume) if resume else None  # loads the policy before the heads copy it
        self.agent = self.build_agent(self.model)
        optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, self.agent)  # algo.optim, as TRL's
        optimizer = optimizer_cls(self.param_groups(self.agent), **{**kwargs, "weight_decay": cfg.weight_decay})
        total = max(1, cfg.max_steps * self.optimizer_steps_per_update())
        warmup = int(cfg.warmup_steps * total) if 0 < cfg.warmup_steps < 1 else int(cfg.warmup_steps)
        self.lr_scheduler = get_scheduler(cfg.lr_scheduler_type, optimizer, num_warmup_steps=warmup,
                                          num_training_steps=total)
        self.wrapped, self.optimizer = acc.prepare(self.agent, optimizer)
        self.wrapped.train()
        self.callback_handler.optimizer = self.optimizer  # callbacks see the policy as `model` (curves, guard)
        self.callback_handler.lr_scheduler = self.lr_scheduler
        self.state = TrainerState(max_steps=cfg.max_steps, logging_steps=cfg.logging_steps,
                                  is_local_process_zero=acc.is_local_main_process,
                                  is_world_process_zero=acc.is_main_process)
        self.state.epoch = 0.0
        if resume is not None:
            self.restore(resume, saved)
        self.control = self.callback_handler.on_train_begin(self.args, self.state, self.control)
        losses = []
        while self.state.global_step < cfg.max_steps:
            self.control = self.callback_handler.on_step_begin(self.args, self.state, self.control)
            exp = self.rollout()
            logs = self.update(exp)
            if exp is not None:
                logs.update(self.reward_logs(exp))
            self.state.global_step += 1
            self.state.epoch = self.prompts.seen / len(self.train_dataset)
            losses.append(logs.get("loss", math.nan))
            if self.state.global_step % max(1, cfg.logging_steps) == 0:
                self.log({**self.mean_over_processes(logs), "learning_rate": self.lr_scheduler.get_last_lr()[0]})
            due = cfg.save_steps > 0 and self.state.global_step % cfg.save_steps == 0
            if due:
                self.checkpoint()
            self.control = self.callback_handler.on_step_end(self.args, self.state, self.control)
            if self.control.should_save and not due:  # asked by a callback (Ctrl-C / SIGTERM)
                self.checkpoint()
            self.control.should_save = False
            if self.control.should_training_stop:
                break
        self.control = self.callback_handler.on_train_end(self.args, self.state, self.control)
        self.model.eval()
        mean_loss = float(torch.tensor(losses).nanmean()) if losses else math.nan
        return TrainOutput(self.state.global_step, mean_loss, {"train_loss": mean_loss})

    def mean_over_processes(self, logs: dict[str, float]) -> dict[str, float]:
        """Each logged number averaged over the training processes (as ``Trainer`` logs its loss)."""
        if self.accelerator.num_processes == 1:
            return logs
        values = torch.tensor([float(v) for v in logs.values()], dtype=torch.float64, device=self.accelerator.device)
        return dict(zip(logs, self.accelerator.reduce(values, "mean").tolist()))

    def reward_logs(self, exp: Experience) -> dict[str, float]:
        """Reward mean/std (total and per component) and completion length, gathered over processes."""
        gather = self.accelerator.gather_for_metrics
        scores = gather(exp.scores.to(self.accelerator.device)).float()
        logs = {"reward": scores.mean().item(), "reward_std": scores.std().item() if len(scores) > 1 else 0.0,
                "completions/mean_length": gather(exp.completion_mask.sum(1).to(self.accelerator.device)).mean().item()}
        for name, values in exp.components.items():
            v = gather(values.to(self.accelerator.device)).float()
            logs[f"rewards/{name}/mean"] = v.nanmean().item()
            logs[f"rewards/{name}/std"] = v[~v.isnan()].std().item() if (~v.isnan()).sum() > 1 else 0.0
        return logs

    def accumulate(self, chunks: Sequence[Experience], loss_fn: Callable[[Experience], tuple[torch.Tensor, dict]]
                   ) -> dict[str, float]:
        """Backward ``loss_fn`` on each micro-batch (gradients averaged; DDP syncs on the last one),
        then take one guarded optimizer step. Returns the micro-batch mean of the stats."""
        stats: dict[str, list[float]] = {}
        for i, mb in enumerate(chunks):
            sync = i == len(chunks) - 1
            with contextlib.nullcontext() if sync else self.accelerator.no_sync(self.wrapped):
                loss, info = loss_fn(mb)
                if not torch.isfinite(loss):
                    raise RlftError(f"algo={self.algo_name}: non-finite loss {loss.item()} at step "
                                    f"{self.state.global_step + 1}; lower algo.lr or check the rewards")
                self.accelerator.backward(loss / len(chunks))
            for k, v in {"loss": loss.item(), **info}.items():
                stats.setdefault(k, []).append(float(v))
        self.control = self.callback_handler.on_pre_optimizer_step(self.args, self.state, self.control)
        clip = self.cfg.max_grad_norm if self.cfg.max_grad_norm and self.cfg.max_grad_norm > 0 else math.inf
        norm = float(self.accelerator.clip_grad_norm_(self.agent.parameters(), clip))
        if not math.isfinite(norm):  # the heads too, which the policy-only NonFiniteGuard does not see
            raise RlftError(f"algo={self.algo_name}: non-finite gradient at step {self.state.global_step + 1}; "
                            f"the optimizer step was not taken - lower algo.lr or check the rewards")
        stats["grad_norm"] = [norm]
        self.optimizer.step()
        self.control = self.callback_handler.on_optimizer_step(self.args, self.state, self.control)
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {k: sum(v) / len(v) for k, v in stats.items()}

    def micro_batches(self, exp: Experience) -> list[Experience]:
        """Split a batch into ``algo.gradient_accumulation_steps`` micro-batches."""
        steps = max(1, self.cfg.gradient_accumulation_steps)
        return exp.chunks(max(1, math.ceil(len(exp) / steps)))

    @torch.no_grad()
    def reference_logprobs(self, exp: Experience, batch_size: int) -> torch.Tensor:
        """Completion log-probs under the frozen starting model (the adapter switched off under LoRA)."""
        policy = self.agent.policy
        if hasattr(policy, "disable_adapter"):
            ctx, model = policy.disable_adapter(), policy
        else:
            if self.ref_model is None:
                raise RlftError("reference_logprobs needs the reference model; call keep_reference() first")
            ctx, model = contextlib.nullcontext(), self.ref_model
        out = []
        with ctx:
            for mb in exp.chunks(batch_size):
                logits = Agent(model)(*(t.to(self.accelerator.device) for t in (mb.sequences, mb.attention_mask)),
                                      mb.completion_mask.shape[1])["logits"]
                out.append(token_logprobs(logits, mb.completion_ids.to(logits.device)).cpu())
        return torch.cat(out) * exp.completion_mask

    def keep_reference(self) -> None:
        """Freeze a copy of the starting policy for KL terms (not needed under LoRA: the adapter is switched off)."""
        if not hasattr(self.model, "disable_adapter") and self.ref_model is None:
            self.ref_model = copy.deepcopy(self.model).requires_grad_(False).eval()

    def checkpoint_modules(self) -> dict[str, torch.nn.Module]:
        """Modules saved with each checkpoint besides the policy: the agent's heads (and separate critic);
        an algorithm adds its target networks."""
        modules = {"heads": self.agent.heads}
        if self.agent.critic is not None:
            modules["critic"] = self.agent.critic
        return modules

    def extra_state(self) -> dict[str, Any]:
        """Algorithm state saved with each checkpoint (baselines, controllers, generators, replay)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    def checkpoint(self) -> Path:
        """Publish ``checkpoint-<step>/`` atomically (staged, then one rename): the policy (or adapter),
        ``optimizer.pt``, ``scheduler.pt`` and ``rng_state.pth`` (``Trainer``'s own helpers), ``rlft_state.pt``
        (heads, target networks, prompt stream, algorithm state) and the trainer state; keep the newest
        ``algo.keep_checkpoints``."""
        run_dir = Path(self.args.output_dir)
        name = f"checkpoint-{self.state.global_step}"
        staging = run_dir / STAGING / name
        main = self.accelerator.is_main_process
        if main:
            shutil.rmtree(run_dir / STAGING, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        self.save_model(str(staging))
        self._save_optimizer_and_scheduler(str(staging))
        self._save_rng_state(str(staging))
        self.accelerator.wait_for_everyone()  # every process's RNG file is in before publishing
        if main:
            modules = {key: module.state_dict() for key, module in self.checkpoint_modules().items()}
            torch.save({"algo": self.algo_name, "modules": modules, "prompts": self.prompts.state_dict(),
                        "extra": self.extra_state()}, staging / STATE_FILE)
            self.state.save_to_json(str(staging / "trainer_state.json"))
            if (run_dir / name).exists():
                AtomicCheckpoints._retire(run_dir / name)
            os.replace(staging, run_dir / name)
            shutil.rmtree(run_dir / STAGING, ignore_errors=True)
            for old in checkpoints(run_dir)[:-max(1, self.cfg.keep_checkpoints)]:
                AtomicCheckpoints._retire(old)
        self.accelerator.wait_for_everyone()
        return run_dir / name

    def read_checkpoint(self, checkpoint: Path) -> dict[str, Any]:
        """Check that ``checkpoint`` is this algorithm's, load the policy weights (or adapter) into the model
        and return the rest of ``rlft_state.pt``."""
        if not (checkpoint / STATE_FILE).is_file():
            raise ConfigError(f"resume: {checkpoint} has no {STATE_FILE}: it was not written by rlft's own "
                              f"algo={self.algo_name} (a TRL algorithm's, such as grpo?); resume it with its own algo")
        saved = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=True)
        if saved.get("algo") != self.algo_name:
            raise ConfigError(f"resume: {checkpoint} was written by algo={saved.get('algo')}, not "
                              f"algo={self.algo_name}; resume with algo={saved.get('algo')} or start a new run")
        self._load_from_checkpoint(str(checkpoint))
        return saved

    def restore(self, checkpoint: Path, saved: dict[str, Any]) -> None:
        """Continue from ``checkpoint``: heads and targets, optimizer and scheduler, step and log history,
        prompt stream, algorithm state and, last, the RNG states."""
        for key, module in self.checkpoint_modules().items():
            module.load_state_dict(saved["modules"][key])
        self._load_optimizer_and_scheduler(str(checkpoint))
        state = TrainerState.load_from_json(str(checkpoint / "trainer_state.json"))
        state.max_steps, state.logging_steps = self.state.max_steps, self.state.logging_steps
        state.is_local_process_zero = self.state.is_local_process_zero
        state.is_world_process_zero = self.state.is_world_process_zero
        self.state = state
        self.prompts.load_state_dict(saved["prompts"])
        self.load_extra_state(saved["extra"])
        self._load_rng_state(str(checkpoint))
