"""REINFORCE (Williams 1992) with a moving-average baseline: ``algo=reinforce``.

The update rule, per rollout batch of sequences with score ``R`` and tokens ``a_t``::

    R'   = R - beta * sum_t (log pi(a_t) - log pi_ref(a_t))        (optional KL penalty, beta > 0)
    A    = R' - b          b <- m * b + (1 - m) * mean(R')           (moving-average baseline)
    A    = whiten(A)                                                 (optional)
    loss = -mean_seq(A * sum_t log pi(a_t)) / max_completion_length - entropy_coef * mean_tok(H)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from hydra.core.config_store import ConfigStore

from core.algos.agent import entropy_from_logits, token_logprobs
from core.algos.base import Algorithm, TrainInputs
from core.algos.loop import OwnTrainer
from core.algos.ops import masked_mean
from core.algos.rollout import Experience
from core.config import AlgoConfig, _help

__all__ = ["ReinforceConfig", "ReinforceTrainer", "Reinforce", "sequence_advantages"]


@dataclass
class ReinforceConfig(AlgoConfig):
    """REINFORCE settings (besides the shared ``AlgoConfig`` ones; ``beta`` is the KL coefficient)."""

    baseline_momentum: float = _help("Moving-average baseline b <- m*b + (1-m)*mean(R); 0 uses the batch mean.", 0.9)
    whiten: bool = _help("Normalise advantages to zero mean, unit variance within the batch.", False)
    entropy_coef: float = _help("Weight of the entropy bonus (0: none).", 0.0)
    logprob_batch_size: int = _help("Sequences per no-grad reference forward pass.", 16)


ConfigStore.instance().store(group="algo", name="reinforce_schema", node=ReinforceConfig)


def sequence_advantages(returns: torch.Tensor, baseline: float | None, momentum: float, whiten: bool,
                        batch_mean: float | None = None) -> tuple[torch.Tensor, float]:
    """Advantages ``R - b`` against the baseline from earlier batches (this batch's mean on the
    first), optionally whitened; returns them with the updated baseline. ``batch_mean`` is the
    mean over all processes (default: of ``returns``)."""
    mean = float(returns.mean()) if batch_mean is None else batch_mean
    b = mean if baseline is None else baseline
    advantages = returns - b
    if whiten and len(returns) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages, momentum * b + (1 - momentum) * mean


class ReinforceTrainer(OwnTrainer):
    """The REINFORCE loop: one gradient step per rollout batch."""

    algo_name = "reinforce"

    def __init__(self, cfg: Any, inputs: TrainInputs) -> None:
        super().__init__(cfg, inputs)
        self.baseline: float | None = None
        if cfg.beta > 0:
            self.keep_reference()

    def extra_state(self) -> dict[str, Any]:
        return {"baseline": self.baseline}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.baseline = state["baseline"]

    def update(self, exp: Experience) -> dict[str, float]:
        cfg = self.cfg
        returns, logs = exp.scores.clone(), {}
        if cfg.beta > 0:
            exp.extras["ref_logprobs"] = self.reference_logprobs(exp, cfg.logprob_batch_size)
            with torch.no_grad():
                old = torch.cat([self._logprobs(mb)[0].detach().cpu() for mb in exp.chunks(cfg.logprob_batch_size)])
            kl = ((old - exp.extras["ref_logprobs"]) * exp.completion_mask).sum(1)
            returns = returns - cfg.beta * kl
            logs["kl"] = float(kl.mean())
        global_mean = float(self.accelerator.gather(returns.to(self.accelerator.device)).mean())
        advantages, self.baseline = sequence_advantages(returns, self.baseline, cfg.baseline_momentum, cfg.whiten,
                                                        global_mean)
        exp.extras["advantages"] = advantages
        stats = self.accumulate(self.micro_batches(exp), self._loss)
        return {**stats, **logs, "baseline": self.baseline}

    def _logprobs(self, mb: Experience) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.agent.run(mb, self.wrapped)
        return token_logprobs(out["logits"], mb.completion_ids.to(out["logits"].device)), out["logits"]

    def _loss(self, mb: Experience) -> tuple[torch.Tensor, dict[str, float]]:
        logprobs, logits = self._logprobs(mb)
        mask = mb.completion_mask.to(logprobs.device)
        adv = mb.extras["advantages"].to(logprobs.device)
        pg = -(adv * (logprobs * mask).sum(1)).mean() / self.cfg.max_completion_length
        entropy = masked_mean(entropy_from_logits(logits), mask)
        loss = pg - self.cfg.entropy_coef * entropy
        return loss, {"pg_loss": pg.item(), "entropy": entropy.item()}


class Reinforce(Algorithm):
    """REINFORCE with a moving-average baseline (rlft's own)."""

    name = "reinforce"
    description = "REINFORCE with a moving-average baseline, optional whitening, KL and entropy (rlft)"

    def build_trainer(self, inputs: TrainInputs) -> ReinforceTrainer:
        return ReinforceTrainer(self.cfg, inputs)
