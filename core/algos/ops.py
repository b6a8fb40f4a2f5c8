"""Tensor math shared by the own algorithms: masked statistics, returns, GAE, TD targets, KL control.

Every function works on ``(batch, tokens)`` tensors with a 0/1 ``mask`` whose ones form a prefix
of each row (the completion's tokens up to and including its end-of-sequence token).
"""

from __future__ import annotations

import torch

__all__ = ["masked_mean", "masked_var", "masked_whiten", "discounted_returns", "gae", "nstep_targets",
           "terminal_rewards", "explained_variance", "AdaptiveKLController",
           "FixedKLController", "polyak_update"]


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` is 1 (over ``dim``, or all)."""
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(x: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance of ``x`` over the masked positions (Bessel-corrected when ``unbiased``)."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    n = mask.sum()
    if unbiased and n > 1:
        var = var * n / (n - 1)
    return var


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """Normalise the masked values of ``x`` to unit variance (and zero mean if ``shift_mean``)."""
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float) -> torch.Tensor:
    """``G_t = r_t + gamma * G_{t+1}`` within each row's masked prefix (0 outside it)."""
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        running = (rewards[:, t] + gamma * running) * mask[:, t]
        out[:, t] = running
    return out


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
        lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016); the last masked token is terminal.

    :return: ``(advantages, returns)`` with ``returns = advantages + values`` on the masked tokens.
    """
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(steps)):
        next_mask = mask[:, t + 1] if t + 1 < steps else torch.zeros_like(last)
        next_value = values[:, t + 1] * next_mask if t + 1 < steps else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * next_mask * last) * mask[:, t]
        advantages[:, t] = last
    return advantages, (advantages + values) * mask


def terminal_rewards(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-token rewards: 0 everywhere except each row's sequence score on its last masked token."""
    rewards = torch.zeros_like(mask, dtype=scores.dtype)
    last = (mask.sum(1).long() - 1).clamp(min=0)
    rewards[torch.arange(len(scores)), last] = scores * (mask.sum(1) > 0)
    return rewards


def nstep_targets(rewards: torch.Tensor, next_values: torch.Tensor, mask: torch.Tensor, gamma: float,
                  n: int) -> torch.Tensor:
    """n-step TD targets ``sum_{k<m} gamma^k r_{t+k} + gamma^m V(s_{t+m})``, ``m = min(n, steps left)``.

    ``next_values[:, t]`` is the bootstrap value of the state *after* action ``t``; it is ignored
    at a row's last masked token (terminal). ``n <= 0`` gives Monte-Carlo returns.
    """
    steps = rewards.shape[1]
    n = steps if n <= 0 else n
    lengths = mask.sum(1).long()
    targets = torch.zeros_like(rewards)
    for t in range(steps):
        acc = torch.zeros_like(rewards[:, 0])
        for k in range(n):
            if t + k >= steps:
                break
            acc = acc + (gamma ** k) * rewards[:, t + k] * mask[:, t + k]
        end = t + min(n, steps - t) - 1  # index of the last action summed when the row is long enough
        end_idx = torch.minimum(torch.full_like(lengths, end), lengths - 1).clamp(min=0)
        terminal = (end_idx >= lengths - 1)
        used = (end_idx - t + 1).clamp(min=1).to(rewards.dtype)
        boot = next_values[torch.arange(len(lengths)), end_idx] * (~terminal)
        targets[:, t] = (acc + gamma ** used * boot) * mask[:, t]
    return targets


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    """``1 - Var[returns - values] / Var[returns]`` over the masked tokens (1 is a perfect critic)."""
    var = masked_var(returns, mask)
    return float(1 - masked_var(returns - values, mask) / var) if var > 0 else float("nan")


@torch.no_grad()
def polyak_update(target: torch.nn.Module, online: torch.nn.Module, rate: float) -> None:
    """``target <- (1 - rate) * target + rate * online`` for every trainable parameter, matched by order
    (frozen ones, such as a LoRA model's base weights, stay equal and are skipped)."""
    for t, o in zip(target.parameters(), online.parameters()):
        if o.requires_grad:
            t.lerp_(o.detach().to(t.dtype), rate)


class AdaptiveKLController:
    """Ziegler et al. (2019) KL coefficient: raised when the measured KL exceeds the target, lowered
    when below, by at most 20% of ``steps / horizon`` per update."""

    def __init__(self, init: float, target: float, horizon: int) -> None:
        self.value, self.target, self.horizon = init, target, horizon

    def update(self, current_kl: float, steps: int) -> float:
        """Move the coefficient given the measured KL over ``steps`` samples; returns the new value."""
        error = max(-0.2, min(0.2, current_kl / self.target - 1))
        self.value *= 1 + error * steps / self.horizon
        return self.value


class FixedKLController:
    """A KL coefficient that never changes."""

    def __init__(self, init: float) -> None:
        self.value = init

    def update(self, current_kl: float, steps: int) -> float:
        """Return the unchanged coefficient."""
        return self.value
