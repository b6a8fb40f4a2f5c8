"""PPO for language models, the RLHF recipe of Ziegler et al. (2019) and Stiennon et al. (2020): ``algo=ppo``.

Per rollout batch (``old`` = the policy that sampled it, ``ref`` = the frozen starting model)::

    r_t    = -kl_coef * (log pi_old(a_t) - log pi_ref(a_t))  (+ the sequence score on the last token)
    A, G   = GAE(r, V_old; gamma, lam);  A = whiten(A)
    then num_iterations epochs of num_mini_batches minibatches:
    ratio  = exp(log pi(a_t) - log pi_old(a_t))
    L_pg   = mean_tok max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps))
    L_vf   = 0.5 * mean_tok max((V - G)^2, (V_old + clip(V - V_old, -c, c) - G)^2)
    loss   = L_pg + vf_coef * L_vf - entropy_coef * mean_tok H
    kl_coef <- adaptive controller towards target_kl (Ziegler et al., horizon ``kl_horizon``)

The value head sits on the policy's last hidden state (``critic=head``) or on a separate copy of
the model (``critic=model``). The first minibatch of the first epoch reuses the rollout's exact
forward computation, so its ratio is exactly 1.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch
from hydra.core.config_store import ConfigStore

from core.algos.agent import Agent, ValueHead, entropy_from_logits, hidden_size, token_logprobs
from core.algos.base import Algorithm, TrainInputs
from core.algos.loop import OwnTrainer
from core.algos.ops import (AdaptiveKLController, FixedKLController, explained_variance, gae, masked_mean,
                            masked_whiten, terminal_rewards)
from core.algos.rollout import Experience
from core.config import AlgoConfig, _help
from core.errors import ConfigError

__all__ = ["PPOConfig", "PPOTrainer", "PPO"]


@dataclass
class PPOConfig(AlgoConfig):
    """PPO settings besides the shared ones: ``beta`` is the initial KL coefficient, ``epsilon`` the
    policy clip range and ``num_iterations`` the PPO epochs per rollout batch."""

    num_mini_batches: int = _help("Minibatches (optimizer steps) per PPO epoch.", 1)
    gamma: float = _help("Discount factor over completion tokens.", 1.0)
    lam: float = _help("GAE lambda.", 0.95)
    vf_coef: float = _help("Weight of the value loss.", 0.1)
    cliprange_value: float = _help("Clip range of the value prediction around the rollout's value.", 0.2)
    whiten_advantages: bool = _help("Normalise advantages over the batch's tokens.", True)
    adaptive_kl: bool = _help("Adapt the KL coefficient towards target_kl (else it stays at beta).", True)
    target_kl: float = _help("Target KL per sequence (nats) of the adaptive controller.", 6.0)
    kl_horizon: int = _help("Horizon (in sequences) of the adaptive KL controller.", 10000)
    entropy_coef: float = _help("Weight of the entropy bonus (0: none).", 0.0)
    critic: str = _help("Value function: 'head' (on the policy's hidden state) or 'model' (separate copy).", "head")
    logprob_batch_size: int = _help("Sequences per no-grad reference forward pass.", 16)


ConfigStore.instance().store(group="algo", name="ppo_schema", node=PPOConfig)


class PPOTrainer(OwnTrainer):
    """The PPO loop: rollout -> values, KL-shaped rewards, GAE -> clipped updates -> KL controller."""

    algo_name = "ppo"

    def __init__(self, cfg: Any, inputs: TrainInputs) -> None:
        if cfg.critic not in ("head", "model"):
            raise ConfigError(f"algo.critic={cfg.critic!r} is not one of head, model")
        if cfg.num_mini_batches < 1 or cfg.num_iterations < 1:
            raise ConfigError("algo.num_mini_batches and algo.num_iterations must be >= 1")
        super().__init__(cfg, inputs)
        self.kl_ctl = (AdaptiveKLController(cfg.beta, cfg.target_kl, cfg.kl_horizon) if cfg.adaptive_kl
                       else FixedKLController(cfg.beta))
        if cfg.beta > 0:
            self.keep_reference()
        self.shuffle = torch.Generator().manual_seed(inputs.seed)
        self.first_ratio: torch.Tensor | None = None

    def extra_state(self) -> dict[str, Any]:
        return {"kl_coef": self.kl_ctl.value, "shuffle": self.shuffle.get_state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.kl_ctl.value = state["kl_coef"]
        self.shuffle.set_state(state["shuffle"])

    def build_agent(self, policy: torch.nn.Module) -> Agent:
        critic = copy.deepcopy(policy) if self.cfg.critic == "model" else None
        return Agent(policy, {"value": ValueHead(hidden_size(policy))}, critic=critic)

    def _sizes(self, n: int) -> tuple[int, int]:
        mini = max(1, math.ceil(n / self.cfg.num_mini_batches))
        return mini, max(1, math.ceil(mini / max(1, self.cfg.gradient_accumulation_steps)))

    def optimizer_steps_per_update(self) -> int:
        n = self.cfg.prompts_per_step * self.cfg.num_generations // self.accelerator.num_processes
        return self.cfg.num_iterations * math.ceil(n / self._sizes(n)[0])

    def _forward(self, mb: Experience) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.agent.run(mb, self.wrapped)
        return token_logprobs(out["logits"], mb.completion_ids.to(out["logits"].device)), out["value"], out["logits"]

    def update(self, exp: Experience) -> dict[str, float]:
        cfg = self.cfg
        mini, micro = self._sizes(len(exp))
        self.wrapped.train()
        with torch.no_grad():  # same chunks as epoch 0's first micro-batches: identical computation
            outs = [self._forward(mb)[:2] for mb in exp.chunks(micro)]
        mask = exp.completion_mask
        old_logprobs = torch.cat([o[0].cpu() for o in outs]) * mask
        values = torch.cat([o[1].float().cpu() for o in outs]) * mask
        kl = torch.zeros_like(mask)
        if cfg.beta > 0:
            kl = (old_logprobs - self.reference_logprobs(exp, cfg.logprob_batch_size)) * mask
        non_score = -self.kl_ctl.value * kl
        rewards = non_score + terminal_rewards(exp.scores, mask)
        advantages, returns = gae(rewards, values, mask, cfg.gamma, cfg.lam)
        if cfg.whiten_advantages:
            advantages = masked_whiten(advantages, mask)
        exp.extras.update(old_logprobs=old_logprobs, old_values=values, advantages=advantages, returns=returns)
        self.first_ratio, stats = None, {}
        for epoch in range(cfg.num_iterations):
            order = torch.arange(len(exp)) if epoch == 0 else torch.randperm(len(exp), generator=self.shuffle)
            for start in range(0, len(exp), mini):
                mb = exp.select(order[start:start + mini])
                for k, v in self.accumulate(mb.chunks(micro), self._loss).items():
                    stats.setdefault(k, []).append(v)
        seq_kl = float(self.accelerator.gather(kl.sum(1).to(self.accelerator.device)).mean())
        coef = self.kl_ctl.value
        self.kl_ctl.update(seq_kl, len(exp) * self.accelerator.num_processes)
        logs = {f"ppo/{k}" if k not in ("loss", "grad_norm") else k: sum(v) / len(v) for k, v in stats.items()}
        logs.update({"objective/kl": seq_kl, "objective/kl_coef": coef,
                     "objective/non_score_reward": float(non_score.sum(1).mean()),
                     "ppo/explained_variance": explained_variance(values, returns, mask),
                     "ppo/returns_mean": float(masked_mean(returns, mask))})
        return logs

    def _loss(self, mb: Experience) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.cfg
        logprobs, vpred, logits = self._forward(mb)
        dev = logprobs.device
        mask, old, adv, ret, old_v = (mb.completion_mask.to(dev), mb.extras["old_logprobs"].to(dev),
                                      mb.extras["advantages"].to(dev), mb.extras["returns"].to(dev),
                                      mb.extras["old_values"].to(dev))
        logratio = (logprobs - old) * mask
        ratio = torch.exp(logratio)
        if self.first_ratio is None:
            self.first_ratio = ratio.detach()[mask.bool()].cpu()
        pg1, pg2 = -adv * ratio, -adv * torch.clamp(ratio, 1 - cfg.epsilon, 1 + cfg.epsilon)
        pg_loss = masked_mean(torch.max(pg1, pg2), mask)
        vpred = vpred.float()
        vclipped = old_v + torch.clamp(vpred - old_v, -cfg.cliprange_value, cfg.cliprange_value)
        vf1, vf2 = (vpred - ret) ** 2, (vclipped - ret) ** 2
        vf_loss = 0.5 * masked_mean(torch.max(vf1, vf2), mask)
        entropy = masked_mean(entropy_from_logits(logits), mask)
        loss = pg_loss + cfg.vf_coef * vf_loss - cfg.entropy_coef * entropy
        with torch.no_grad():
            stats = {"pg_loss": pg_loss.item(), "value_loss": vf_loss.item(), "entropy": entropy.item(),
                     "approx_kl": (0.5 * masked_mean(logratio ** 2, mask)).item(),
                     "clipfrac": masked_mean((pg2 > pg1).float(), mask).item(),
                     "value_clipfrac": masked_mean((vf2 > vf1).float(), mask).item(),
                     "ratio": masked_mean(ratio, mask).item()}
        return loss, stats


class PPO(Algorithm):
    """Proximal Policy Optimization with a value head and an adaptive KL penalty (rlft's own)."""

    name = "ppo"
    description = "PPO with value head, GAE, clipped policy/value losses and adaptive KL (rlft)"

    def build_trainer(self, inputs: TrainInputs) -> PPOTrainer:
        return PPOTrainer(self.cfg, inputs)
