"""Discrete-action soft actor-critic (Christodoulou 2019) on the token MDP: ``algo=sac``.

The LM is the actor ``pi``. Twin dueling Q-heads ``Q_i(s, a) = V_i(s) + A_i(s, a)`` (Wang et al. 2016: a
scalar and a vocabulary-wide linear layer each) read the actor's last hidden state *detached*, so the
critic never moves the LM; their targets are Polyak copies. Everything learns off-policy from a replay
buffer of generated episodes::

    V'(s)  = sum_a pi(a|s) (min_i Q_target_i(s, a) - alpha log pi(a|s))     (expectation over the vocabulary)
    y_t    = r_t + gamma * V'(s_{t+1})        (y = the sequence score at the last token; algo.n_step > 1 sums
             n soft rewards r + gamma alpha H(s') before bootstrapping, n <= 0 never bootstraps)
    L_Q    = mean_tok sum_i (Q_i(s_t, a_t) - y_t)^2 / 2
    L_pi   = mean_tok sum_a pi(a|s) (alpha log pi(a|s) - min_i Q_i(s, a))
    L_alpha = mean_tok alpha * (H(pi(.|s)) - target_entropy)   (alpha rises when entropy falls short)

The actor and alpha start learning after ``algo.actor_starts`` rollout steps of critic-only updates (like
CleanRL's ``learning_starts``; at most half the run), so the actor does not chase an untrained critic.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from torch import nn

from core.algos.agent import Agent, ValueHead, hidden_size
from core.algos.base import Algorithm, TrainInputs
from core.algos.loop import OwnTrainer
from core.algos.ops import masked_mean, nstep_targets, polyak_update, terminal_rewards
from core.algos.replay import ReplayBuffer, ReplayLearner, episodes_from_experience
from core.algos.rollout import Experience
from core.config import AlgoConfig, _help

__all__ = ["SACConfig", "SACTrainer", "SAC", "QHead", "Temperature", "soft_targets", "alpha_loss", "actor_warmup"]


@dataclass
class SACConfig(AlgoConfig):
    """SAC settings besides the shared ones (``lr`` is the actor's learning rate)."""

    critic_lr: float = _help("Learning rate of the twin Q-heads.", 1e-3)
    alpha_lr: float = _help("Learning rate of log(alpha).", 1e-2)
    init_alpha: float = _help("Starting entropy temperature alpha (small: a large bonus beats the untrained "
                              "critics and the completions degenerate).", 0.001)
    actor_starts: int = _help("Rollout steps whose updates train the critic only; the actor and alpha learn from "
                              "the next step on (so the actor does not follow an untrained critic); at most half "
                              "of max_steps.", 4)
    target_entropy: float = _help("Entropy (nats per token) alpha steers the policy towards.", 2.0)
    gamma: float = _help("Discount factor over completion tokens.", 1.0)
    n_step: int = _help("n of the soft n-step targets (1: the one-step soft Bellman backup); 0 or less for soft "
                        "Monte-Carlo returns (the default: the sequence reward reaches every token at once).", 0)
    target_update_rate: float = _help("Polyak rate of the target Q-heads per optimizer step.", 0.05)
    replay_capacity: int = _help("Episodes kept in the replay buffer.", 1024)
    batch_size: int = _help("Episodes per gradient update, sampled uniformly from the replay buffer.", 16)
    updates_per_step: int = _help("Gradient updates per rollout batch.", 2)


ConfigStore.instance().store(group="algo", name="sac_schema", node=SACConfig)


class QHead(nn.Module):
    """Dueling Q-values over the vocabulary from a hidden state (Wang et al. 2016), ``(B, T, H) -> (B, T, V)``:
    ``Q(s, a) = V(s) + A(s, a)`` with ``V`` zero-initialised and ``A`` near 0, so a token never sampled at a
    state is worth that state's value rather than a fixed random guess."""

    def __init__(self, width: int, vocab: int) -> None:
        super().__init__()
        self.value = ValueHead(width)
        self.linear = nn.Linear(width, vocab)
        nn.init.normal_(self.linear.weight, std=0.01 / math.sqrt(width))
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.value(hidden).unsqueeze(-1) + self.linear(hidden.to(self.linear.weight.dtype))


class Temperature(nn.Module):
    """The learned ``log alpha`` as a head, ``(B, T, H) -> (B, T)``: used inside the agent's forward, so DDP
    syncs its gradient like any other parameter's (a parameter used outside ``forward`` breaks DDP)."""

    def __init__(self, init_alpha: float) -> None:
        super().__init__()
        self.log_alpha = nn.Parameter(torch.tensor(math.log(init_alpha)))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.log_alpha.expand(hidden.shape[:2])


def soft_targets(logits: torch.Tensor, target_q: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor,
                 alpha: float, gamma: float, n_step: int = 1) -> torch.Tensor:
    """Soft n-step targets ``sum_{k<n} gamma^k (r_{t+k} + gamma alpha H(s_{t+k+1})) + gamma^n E_pi Q'(s_{t+n}, .)``
    (for ``n = 1`` the soft Bellman backup ``r_t + gamma sum_a pi(a|s') (Q'(s', a) - alpha log pi(a|s'))``;
    ``n <= 0``: soft Monte-Carlo returns), the sequence score as the terminal reward; ``logits``/``target_q``
    are ``(B, T, V)``."""
    logp = logits.float().log_softmax(-1)
    probs = logp.exp()
    entropy = -(probs * logp).sum(-1)
    expected_q = (probs * target_q.float()).sum(-1)

    def after(x: torch.Tensor) -> torch.Tensor:  # the value at the next position, 0 past each row's last token
        x = x * mask
        return torch.cat([x[:, 1:], torch.zeros_like(x[:, :1])], 1)

    rewards = terminal_rewards(scores, mask) + gamma * alpha * after(entropy)
    return nstep_targets(rewards, after(expected_q), mask, gamma, n_step)


def alpha_loss(log_alpha: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor, target: float) -> torch.Tensor:
    """Temperature loss ``alpha * (H - target)``: its gradient lowers alpha above the target entropy."""
    return masked_mean(log_alpha.exp() * (entropy.detach() - target), mask)


class SACTrainer(ReplayLearner, OwnTrainer):
    """The SAC loop: act with the LM -> replay -> critic, actor and temperature updates -> Polyak targets."""

    algo_name = "sac"

    def __init__(self, cfg: Any, inputs: TrainInputs) -> None:
        super().__init__(cfg, inputs)
        self.replay = ReplayBuffer(cfg.replay_capacity)
        self.sampler = torch.Generator().manual_seed(inputs.seed)

    def build_agent(self, policy: nn.Module) -> Agent:
        width, vocab = hidden_size(policy), policy.get_output_embeddings().weight.shape[0]
        agent = Agent(policy, {"detached_q1": QHead(width, vocab), "detached_q2": QHead(width, vocab),
                               "detached_temperature": Temperature(self.cfg.init_alpha)})
        self.temperature = agent.heads["detached_temperature"]
        self.target_q = copy.deepcopy(nn.ModuleList([agent.heads["detached_q1"], agent.heads["detached_q2"]]))
        self.target_q.requires_grad_(False)
        return agent

    def checkpoint_modules(self) -> dict[str, nn.Module]:
        return {**super().checkpoint_modules(), "target_q": self.target_q}  # log(alpha) is one of the heads

    def param_groups(self, agent: Agent) -> list[dict[str, Any]]:
        return [{"params": [p for p in agent.policy.parameters() if p.requires_grad]},
                {"params": [*agent.heads["detached_q1"].parameters(), *agent.heads["detached_q2"].parameters()],
                 "lr": self.cfg.critic_lr},
                {"params": [self.temperature.log_alpha], "lr": self.cfg.alpha_lr, "weight_decay": 0.0}]

    def optimizer_steps_per_update(self) -> int:
        return self.cfg.updates_per_step

    def rollout(self) -> Experience:
        exp = self.engine.collect(self.model, next(self.prompts), self.state)
        self.replay.add(episodes_from_experience(exp))
        return exp

    def update(self, exp: Experience | None) -> dict[str, float]:
        critics = nn.ModuleList([self.agent.heads["detached_q1"], self.agent.heads["detached_q2"]])
        stats = self.replay_updates(self._loss, lambda: polyak_update(self.target_q, critics,
                                                                      self.cfg.target_update_rate))
        logs = {f"sac/{k}" if k not in ("loss", "grad_norm") else k: v for k, v in stats.items()}
        logs.update({"sac/alpha": float(self.temperature.log_alpha.detach().exp()),
                     "sac/replay_size": len(self.replay)})
        return logs

    def _loss(self, mb: Experience) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.cfg
        out = self.agent.run(mb, self.wrapped)
        logp = out["logits"].float().log_softmax(-1)
        probs = logp.exp()
        q1, q2 = out["detached_q1"].float(), out["detached_q2"].float()
        ids, mask = mb.completion_ids.to(logp.device).unsqueeze(-1), mb.completion_mask.to(logp.device)
        log_alpha = out["detached_temperature"].float()
        alpha = self.temperature.log_alpha.detach().exp()
        with torch.no_grad():
            hidden = out["hidden"].detach()
            target_q = torch.min(self.target_q[0](hidden), self.target_q[1](hidden))
            y = soft_targets(out["logits"].detach(), target_q, mb.scores.to(logp.device), mask, float(alpha), cfg.gamma,
                             cfg.n_step)
        q1_t, q2_t = q1.gather(-1, ids).squeeze(-1), q2.gather(-1, ids).squeeze(-1)
        critic = 0.5 * masked_mean((q1_t - y) ** 2 + (q2_t - y) ** 2, mask)
        min_q = torch.min(q1, q2).detach()
        actor = masked_mean((probs * (alpha.detach() * logp - min_q)).sum(-1), mask)
        entropy = -(probs * logp).sum(-1)
        temperature = alpha_loss(log_alpha, entropy, mask, cfg.target_entropy)
        learning = self.state.global_step >= actor_warmup(cfg.actor_starts, cfg.max_steps)  # before: zero gradients
        # (not skipped: DDP expects a gradient for every parameter)
        loss = critic + (actor + temperature) * (1.0 if learning else 0.0)
        return loss, {"critic_loss": critic.item(), "actor_loss": actor.item(), "alpha_loss": temperature.item(),
                      "entropy": masked_mean(entropy.detach(), mask).item(), "q_taken": masked_mean(q1_t.detach(), mask).item()}


def actor_warmup(actor_starts: int, max_steps: int) -> int:
    """Rollout steps of critic-only updates: ``actor_starts``, but at most half the run, so that a short run
    (``experiment=debug``) still trains its actor.

    >>> actor_warmup(4, 48), actor_warmup(4, 3), actor_warmup(0, 2)
    (4, 1, 0)
    """
    return min(actor_starts, max_steps // 2)


class SAC(Algorithm):
    """Discrete soft actor-critic with twin Q-heads and a learned temperature (rlft's own)."""

    name = "sac"
    description = "Discrete SAC: LM actor, twin vocabulary Q-heads with targets, learned alpha, replay (rlft)"

    def build_trainer(self, inputs: TrainInputs) -> SACTrainer:
        return SACTrainer(self.cfg, inputs)
