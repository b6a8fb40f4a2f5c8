"""Deep Q-learning on the token MDP: ``algo=dqn`` (online, or offline from logged samples as in ILQL).

State = prompt + tokens so far, action = the next token, reward = the sequence score on the last
token. The Q-head is *dueling* on the LM itself: a scalar value head ``V`` on the last hidden state
plus the LM's log-probabilities as advantages (``algo.dueling=soft``, the default)::

    Q(s, a) = V(s) + tau * log pi(a|s)          (V = tau log sum_a exp(Q(s, a) / tau), the soft value)

the parameterisation of soft Q-learning (Haarnoja et al. 2017; Schulman et al. 2017, "Equivalence between
policy gradients and soft Q-learning"). ``dueling=mean`` subtracts the policy-weighted mean of ``log pi``
(``V = E_pi Q``), ``dueling=max`` the greedy token's (``V = max_a Q``). Either way ``argmax_a Q`` is the LM's
greedy token and ``softmax(Q / tau)`` is the LM's distribution: the starting policy is exactly the base
model, and the trained policy is the saved LM. With ``max``, a sample of the greedy token cannot raise its
own advantage (pinned to 0) and every under-valued other sample lowers it through the max; ``soft`` raises
each sampled token by its own TD error. Targets::

    a*   = argmax_a Q_online(s', a)                       (double Q; else argmax of Q_target)
    y_t  = sum_{k<n} gamma^k r_{t+k} + gamma^n Q_target(s_{t+n}, a*)   (n <= 0: Monte Carlo)
    loss = mean_tok Huber(Q(s_t, a_t) - y_t);  Q_target <- Polyak(Q_online, target_update_rate)

Acting: ``softmax(Q/(tau*temperature))`` (sampling the LM) or epsilon-greedy over the top-k tokens.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from hydra.core.config_store import ConfigStore
from transformers import LogitsProcessor, LogitsProcessorList

from core.algos.agent import Agent, ValueHead, hidden_size
from core.algos.base import Algorithm, TrainInputs
from core.algos.loop import OwnTrainer
from core.algos.ops import masked_mean, nstep_targets, polyak_update, terminal_rewards
from core.algos.replay import ReplayBuffer, ReplayLearner, episodes_from_experience, load_logged_episodes
from core.algos.rollout import Experience
from core.config import AlgoConfig, _help
from core.errors import ConfigError

__all__ = ["DQNConfig", "DQNTrainer", "DQN", "EpsilonGreedyTopK", "dueling_q", "double_q_bootstrap"]


@dataclass
class DQNConfig(AlgoConfig):
    """DQN settings besides the shared ones (``num_generations`` completions per prompt are acted)."""

    tau: float = _help("Scale of the LM log-probs in Q (the softmax temperature of the Q-policy).", 1.0)
    dueling: str = _help("What V is in Q = V + tau (log pi - c): 'soft' (c = 0: V is the soft value, as in soft "
                         "Q-learning), 'mean' (c = E_pi log pi: V = E_pi Q) or 'max' (c = max log pi: V = max Q).",
                         "soft")
    gamma: float = _help("Discount factor over completion tokens.", 1.0)
    n_step: int = _help("n of the n-step targets; 0 or less for Monte-Carlo returns (the default: the sequence "
                        "reward reaches every token at once).", 0)
    double_q: bool = _help("Pick the bootstrap action with the online network (double DQN).", True)
    target_update_rate: float = _help("Polyak rate of the target network per optimizer step.", 0.05)
    replay_capacity: int = _help("Episodes kept in the replay buffer.", 1024)
    batch_size: int = _help("Episodes per gradient update, sampled uniformly from the replay buffer.", 16)
    updates_per_step: int = _help("Gradient updates per step (per rollout batch when online).", 2)
    exploration: str = _help("Acting rule: 'epsilon' (greedy, or a uniform top-k token with probability "
                             "explore_epsilon; the default) or 'softmax' (sample softmax(Q/(tau*temperature))).",
                             "epsilon")
    explore_epsilon: float = _help("Probability of a uniform top-k token under exploration=epsilon.", 0.1)
    top_k: int = _help("Tokens considered by epsilon-greedy (and by softmax acting if > 0).", 0)
    huber: bool = _help("Huber loss on the TD error (else squared error).", True)
    offline_samples: str | None = _help("Learn offline from this samples.jsonl (another run's) instead of acting.", None)
    offline_stages: list[str] = _help("Stages of samples.jsonl rows used offline.", ["train"])


ConfigStore.instance().store(group="algo", name="dqn_schema", node=DQNConfig)


class EpsilonGreedyTopK(LogitsProcessor):
    """Keep only the greedy token, or with probability ``epsilon`` a uniform pick among the top ``k``."""

    def __init__(self, epsilon: float, k: int, generator: torch.Generator | None = None) -> None:
        self.epsilon, self.k, self.generator = epsilon, max(1, k), generator

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        top = scores.topk(min(self.k, scores.shape[-1]), dim=-1).indices
        explore = torch.rand(len(scores), generator=self.generator) < self.epsilon
        pick = torch.randint(top.shape[1], (len(scores),), generator=self.generator)
        chosen = torch.where(explore.to(top.device), top[torch.arange(len(top)), pick.to(top.device)], top[:, 0])
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(scores)), chosen] = 0.0
        return out


def dueling_q(values: torch.Tensor, logits: torch.Tensor, tau: float, offset: str = "soft") -> torch.Tensor:
    """All Q-values ``V(s) + tau * (log pi(.|s) - c(s))``: ``(B,T), (B,T,V) -> (B,T,V)``. The offset ``c`` says
    what ``V`` is: ``'soft'`` - none (``c = 0``; ``V = tau log sum_a exp(Q/tau)``, the soft value of soft
    Q-learning), ``'mean'`` - the policy-weighted mean ``sum_b pi(b|s) log pi(b|s)`` (``V = E_pi Q``, Wang et al.'s
    mean form), ``'max'`` - ``max_b log pi(b|s)`` (``V`` is the greedy token's Q)."""
    logp = logits.float().log_softmax(-1)
    if offset == "soft":
        centre = torch.zeros_like(logp[..., :1])
    elif offset == "mean":
        centre = (logp.exp() * logp).sum(-1, keepdim=True)
    elif offset == "max":
        centre = logp.max(-1, keepdim=True).values
    else:
        raise ConfigError(f"algo.dueling={offset!r} is not one of soft, mean, max")
    return values.float().unsqueeze(-1) + tau * (logp - centre)


def double_q_bootstrap(online_q: torch.Tensor, target_q: torch.Tensor, double: bool) -> torch.Tensor:
    """Value of the state *after* each action: ``Q_target(s_{t+1}, a*)`` with ``a*`` the online (double)
    or target argmax at ``s_{t+1}``; 0 past the last position. ``(B,T,V) -> (B,T)``."""
    chooser = online_q if double else target_q
    best = chooser.argmax(-1, keepdim=True)
    state_value = target_q.gather(-1, best).squeeze(-1)
    return torch.cat([state_value[:, 1:], torch.zeros_like(state_value[:, :1])], 1)


class DQNTrainer(ReplayLearner, OwnTrainer):
    """The DQN loop: act (or not, offline) -> replay -> double-Q n-step updates -> Polyak target."""

    algo_name = "dqn"

    def __init__(self, cfg: Any, inputs: TrainInputs) -> None:
        if cfg.exploration not in ("softmax", "epsilon"):
            raise ConfigError(f"algo.exploration={cfg.exploration!r} is not one of softmax, epsilon")
        super().__init__(cfg, inputs)
        self.replay = ReplayBuffer(cfg.replay_capacity)
        self.sampler = torch.Generator().manual_seed(inputs.seed)
        if cfg.exploration == "epsilon":
            self.engine.temperature, self.engine.top_p, self.engine.top_k = 1.0, 1.0, None
        if cfg.offline_samples:
            self.replay.add(load_logged_episodes(cfg.offline_samples, inputs.tokenizer,
                                                 list(inputs.train_dataset["prompt"]), list(cfg.offline_stages),
                                                 cfg.max_completion_length))

    def build_agent(self, policy: torch.nn.Module) -> Agent:
        agent = Agent(policy, {"value": ValueHead(hidden_size(policy))})
        self.target = copy.deepcopy(agent).requires_grad_(False)
        return agent

    def checkpoint_modules(self) -> dict[str, torch.nn.Module]:
        return {**super().checkpoint_modules(), "target": self.target}

    def optimizer_steps_per_update(self) -> int:
        return self.cfg.updates_per_step

    def rollout(self) -> Experience | None:
        if self.cfg.offline_samples:
            return None
        acting = (LogitsProcessorList([EpsilonGreedyTopK(self.cfg.explore_epsilon, self.cfg.top_k or 10)])
                  if self.cfg.exploration == "epsilon" else None)
        exp = self.engine.collect(self.model, next(self.prompts), self.state, logits_processor=acting)
        self.replay.add(episodes_from_experience(exp))
        return exp

    def update(self, exp: Experience | None) -> dict[str, float]:
        stats = self.replay_updates(self._loss, lambda: polyak_update(self.target, self.agent,
                                                                      self.cfg.target_update_rate))
        logs = {f"dqn/{k}" if k not in ("loss", "grad_norm") else k: v for k, v in stats.items()}
        logs.update({"dqn/replay_size": len(self.replay), "dqn/replay_mean_score": self.replay.mean_score()})
        return logs

    def _loss(self, mb: Experience) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.cfg
        out = self.agent.run(mb, self.wrapped)
        q_all = dueling_q(out["value"], out["logits"], cfg.tau, cfg.dueling)
        ids, mask = mb.completion_ids.to(q_all.device), mb.completion_mask.to(q_all.device)
        q_taken = q_all.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():
            self.target.eval()
            tout = self.target.run(mb)
            target_q = dueling_q(tout["value"], tout["logits"], cfg.tau, cfg.dueling)
            boot = double_q_bootstrap(q_all.detach(), target_q, cfg.double_q)
            rewards = terminal_rewards(mb.scores.to(q_all.device), mask)
            targets = nstep_targets(rewards, boot, mask, cfg.gamma, cfg.n_step)
        error = F.smooth_l1_loss(q_taken, targets, reduction="none") if cfg.huber else (q_taken - targets) ** 2
        loss = masked_mean(error, mask)
        return loss, {"td_loss": loss.item(), "q_taken": masked_mean(q_taken.detach(), mask).item(),
                      "target": masked_mean(targets, mask).item()}


class DQN(Algorithm):
    """Double DQN with n-step returns on the token MDP, online or offline (rlft's own)."""

    name = "dqn"
    description = "Double DQN on the token MDP: dueling Q on the LM, n-step targets, replay, offline mode (rlft)"

    def build_trainer(self, inputs: TrainInputs) -> DQNTrainer:
        return DQNTrainer(self.cfg, inputs)
