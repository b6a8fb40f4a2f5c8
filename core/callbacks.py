"""Trainer callbacks of every run: the non-finite guard, the plugin-hook bridge, the training log; and the heap
trim when ``algo.trim_heap`` asks for it."""

from __future__ import annotations

from typing import Any

import torch
from transformers import TrainerCallback

from core.errors import RlftError
from core.memory import trim_heap

__all__ = ["NonFiniteGuard", "PluginBridge", "TrainLog", "TrimHeap"]


class NonFiniteGuard(TrainerCallback):
    """Stop training before a NaN or infinite gradient reaches the optimizer."""

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads:
            return
        norms = torch.stack(torch._foreach_norm(grads))
        if not torch.isfinite(norms).all():
            names = [n for n, p in model.named_parameters() if p.grad is not None]
            bad = names[int((~torch.isfinite(norms)).nonzero()[0])]
            raise RlftError(f"non-finite gradient at step {state.global_step + 1} (first in {bad}); "
                            f"the optimizer step was not taken - lower algo.lr or check the rewards")

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        loss = (logs or {}).get("loss")
        if isinstance(loss, float) and not torch.isfinite(torch.tensor(loss)):
            raise RlftError(f"non-finite training loss {loss} at step {state.global_step}")


class PluginBridge(TrainerCallback):
    """Forward trainer logs to the ``rlft_train_log`` hook."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.run.plugins.hook.rlft_train_log(run=self.run, step=state.global_step, logs=dict(logs or {}))


class TrainLog(TrainerCallback):
    """Append every training log (loss, reward per component, KL...) to a JSONL file, one row per log,
    written by the main process only (the logged values are already gathered over processes)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if logs and "train_runtime" not in logs and state.is_world_process_zero:
            self.writer.write([{"step": state.global_step, **{k: _number(v) for k, v in logs.items()}}])


def _number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class TrimHeap(TrainerCallback):
    """Hand the heap's freed pages back to the OS after every micro-batch and step (:func:`core.memory.trim_heap`)."""

    def on_substep_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        trim_heap()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        trim_heap()
