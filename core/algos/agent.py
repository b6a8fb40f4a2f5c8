"""The trainable module of an own algorithm: the policy LM plus its heads, run in one forward pass.

Keeping the heads inside one ``nn.Module`` lets ``accelerate`` wrap policy and heads in a single
DDP module, so their gradients are synchronised together.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.algos.rollout import Experience, position_ids

__all__ = ["Agent", "ValueHead", "token_logprobs", "entropy_from_logits", "hidden_size"]


def hidden_size(model: Any) -> int:
    """Width of the LM's last hidden state."""
    config = model.config
    return int(getattr(config, "hidden_size", None) or getattr(config, "n_embd"))


class ValueHead(nn.Module):
    """A scalar head on the last hidden state, zero-initialised (its first predictions are 0)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(B, T, H) -> (B, T)``."""
        return self.linear(hidden.to(self.linear.weight.dtype)).squeeze(-1)


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log p(token) under ``logits`` for each position, ``(B, T, V), (B, T) -> (B, T)``."""
    logp = logits.float().log_softmax(-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the softmax over the last dim, in nats."""
    logp = logits.float().log_softmax(-1)
    return -(logp.exp() * logp).sum(-1)


class Agent(nn.Module):
    """``policy`` plus named ``heads`` applied to the hidden states that predict completion tokens.

    :param policy: the causal LM (possibly a peft model).
    :param heads: name -> module mapping ``(B, C, H)`` hidden states to an output; heads whose name
        starts with ``detached_`` see detached hidden states (they do not train the LM).
    :param critic: an optional separate LM whose hidden states feed the heads instead.
    """

    def __init__(self, policy: nn.Module, heads: dict[str, nn.Module] | None = None,
                 critic: nn.Module | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.heads = nn.ModuleDict(heads or {})
        self.critic = critic

    def forward(self, sequences: torch.Tensor, attention_mask: torch.Tensor, completion_length: int) -> dict[str, Any]:
        """Logits (and head outputs) at the ``completion_length`` positions predicting the completion."""
        keep = completion_length + 1
        inputs = dict(input_ids=sequences, attention_mask=attention_mask, position_ids=position_ids(attention_mask),
                      use_cache=False)
        need_hidden = len(self.heads) > 0 and self.critic is None
        out = self.policy(**inputs, logits_to_keep=keep, output_hidden_states=need_hidden)
        result: dict[str, Any] = {"logits": out.logits[:, -keep:-1]}
        if not self.heads:
            return result
        if self.critic is not None:
            hidden = self.critic(**inputs, output_hidden_states=True, logits_to_keep=1).hidden_states[-1]
        else:
            hidden = out.hidden_states[-1]
        hidden = hidden[:, -keep:-1]
        result["hidden"] = hidden
        for name, head in self.heads.items():
            result[name] = head(hidden.detach() if name.startswith("detached_") else hidden)
        return result

    def run(self, exp: Experience, module: nn.Module | None = None) -> dict[str, Any]:
        """Forward ``exp`` through ``module`` (the DDP-wrapped agent, default ``self``) on the agent's device."""
        device = next(self.parameters()).device
        return (module or self)(exp.sequences.to(device), exp.attention_mask.to(device), exp.completion_mask.shape[1])
