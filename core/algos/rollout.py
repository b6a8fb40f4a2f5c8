"""The rollout engine every own algorithm shares: generate -> score -> :class:`Experience`.

Generation goes through :mod:`core.generation` (eval mode, KV cache on, left-padded prompts, the
chat template), scoring through the task's :class:`~core.rewards.checked.CheckedReward` functions
(so ``samples.jsonl`` rows look exactly like GRPO's), and the result is one tensor batch:

    sequences       (B, P + C)  left-padded prompt followed by the completion (pad after its EOS)
    attention_mask  (B, P + C)  1 on real prompt tokens and on completion tokens up to its EOS
    completion_mask (B, C)      1 on the completion tokens the algorithm learns from
    scores          (B,)        weighted total reward; ``components`` holds each raw reward
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from transformers import LogitsProcessorList, PreTrainedTokenizerBase

from core.generation import as_completion, inference_mode, render_prompt, shared_prefill_generate, stop_kwargs

__all__ = ["Experience", "RolloutEngine", "completion_mask", "position_ids", "collate_episodes"]


def completion_mask(completion_ids: torch.Tensor, eos_ids: Sequence[int]) -> torch.Tensor:
    """1 on each completion token up to and including its first EOS (all tokens if none)."""
    is_eos = torch.isin(completion_ids, torch.tensor(list(eos_ids), device=completion_ids.device))
    before = (is_eos.cumsum(1) - is_eos.long()) == 0  # no EOS strictly before this position
    return before.float()


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that ignore left padding."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


@dataclass
class Experience:
    """One batch of completions with everything the update rules need (see the module docstring)."""

    sequences: torch.Tensor
    attention_mask: torch.Tensor
    completion_mask: torch.Tensor
    scores: torch.Tensor
    prompts: list[Any] = field(default_factory=list)
    completions: list[str] = field(default_factory=list)
    components: dict[str, torch.Tensor] = field(default_factory=dict)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def completion_ids(self) -> torch.Tensor:
        """The completion tokens, ``(B, C)``."""
        return self.sequences[:, -self.completion_mask.shape[1]:]

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, index: torch.Tensor | Sequence[int]) -> Experience:
        """The rows ``index`` (tensors, text and per-token extras alike)."""
        idx = index.long() if isinstance(index, torch.Tensor) else torch.tensor(list(index), dtype=torch.long)
        rows = idx.tolist()
        return replace(self, sequences=self.sequences[idx], attention_mask=self.attention_mask[idx],
                       completion_mask=self.completion_mask[idx], scores=self.scores[idx],
                       prompts=[self.prompts[i] for i in rows] if self.prompts else [],
                       completions=[self.completions[i] for i in rows] if self.completions else [],
                       components={k: v[idx] for k, v in self.components.items()},
                       extras={k: v[idx] for k, v in self.extras.items()})

    def chunks(self, size: int) -> list[Experience]:
        """Consecutive slices of at most ``size`` rows, in order."""
        return [self.select(range(i, min(i + size, len(self)))) for i in range(0, len(self), size)]


def collate_episodes(episodes: Sequence[tuple[list[int], list[int], float]], pad_id: int) -> Experience:
    """Build an :class:`Experience` from stored ``(prompt_ids, completion_ids, score)`` episodes."""
    width_p = max(len(p) for p, _, _ in episodes)
    width_c = max(max(len(c) for _, c, _ in episodes), 1)
    seq = torch.full((len(episodes), width_p + width_c), pad_id, dtype=torch.long)
    attn = torch.zeros_like(seq)
    cmask = torch.zeros((len(episodes), width_c))
    for row, (p, c, _) in enumerate(episodes):
        seq[row, width_p - len(p):width_p] = torch.tensor(p)
        attn[row, width_p - len(p):width_p] = 1
        if c:
            seq[row, width_p:width_p + len(c)] = torch.tensor(c)
            attn[row, width_p:width_p + len(c)] = 1
            cmask[row, :len(c)] = 1
    scores = torch.tensor([float(s) for _, _, s in episodes])
    return Experience(seq, attn, cmask, scores)


class RolloutEngine:
    """Samples completions from a policy and scores them with the task's reward functions.

    :param tokenizer: the policy's tokenizer.
    :param reward_funcs: the task's checked reward functions (``__name__`` and ``weight`` each).
    :param num_generations: completions per prompt.
    :param max_new_tokens: cap on completion length.
    :param temperature: sampling temperature (> 0).
    :param top_p: nucleus sampling.
    :param top_k: restrict sampling to the k most likely tokens (None: no restriction).
    :param stop_strings: end a completion once its text ends with one of these.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, reward_funcs: Sequence[Callable[..., Any]], *,
                 num_generations: int, max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0,
                 top_k: int | None = None, stop_strings: Sequence[str] = ()) -> None:
        self.tokenizer = tokenizer
        self.stop_strings = list(stop_strings)
        self.reward_funcs = list(reward_funcs)
        self.num_generations = num_generations
        self.max_new_tokens = max_new_tokens
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        eos = tokenizer.eos_token_id
        self.eos_ids = sorted({eos, tokenizer.pad_token_id} - {None}) if eos is not None else [tokenizer.pad_token_id]

    @torch.no_grad()
    def generate(self, policy: Any, prompts: Sequence[Any],
                 logits_processor: LogitsProcessorList | None = None) -> Experience:
        """Sample ``num_generations`` completions per prompt (samples of a prompt contiguous), unscored."""
        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "left"
        try:
            enc = tok([render_prompt(tok, p) for p in prompts], return_tensors="pt", padding=True,
                      add_special_tokens=False)
        finally:
            tok.padding_side = side
        with inference_mode(policy):
            device = policy.device
            out = shared_prefill_generate(
                policy, enc["input_ids"].to(device), enc["attention_mask"].to(device),
                num_return_sequences=self.num_generations, max_new_tokens=self.max_new_tokens, do_sample=True,
                temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, pad_token_id=tok.pad_token_id,
                logits_processor=logits_processor, **stop_kwargs(tok, self.stop_strings)).cpu()
        width = enc["input_ids"].shape[1]
        completion = out[:, width:]
        cmask = completion_mask(completion, self.eos_ids)
        completion = torch.where(cmask.bool(), completion, torch.full_like(completion, tok.pad_token_id))
        attention = torch.cat([enc["attention_mask"].repeat_interleave(self.num_generations, 0), cmask.long()], 1)
        texts = [t.strip() for t in tok.batch_decode(completion, skip_special_tokens=True)]
        repeated = [p for p in prompts for _ in range(self.num_generations)]
        return Experience(torch.cat([out[:, :width], completion], 1), attention, cmask,
                          torch.zeros(len(texts)), repeated, texts)

    def score(self, exp: Experience, columns: dict[str, list[Any]], state: Any = None) -> Experience:
        """Call every reward on the batch as TRL does (columns, ``completion_ids``, ``trainer_state``);
        ``scores`` becomes the weighted sum (None counts as 0)."""
        completions = [as_completion(p, t) for p, t in zip(exp.prompts, exp.completions)]
        total = torch.zeros(len(exp))
        components = {}
        ids = [row[m.bool()].tolist() for row, m in zip(exp.completion_ids, exp.completion_mask)]
        for fn in self.reward_funcs:
            values = fn(exp.prompts, completions, **columns, completion_ids=ids, trainer_state=state)
            raw = torch.tensor([math.nan if v is None else float(v) for v in values])
            components[fn.__name__] = raw
            total += torch.nan_to_num(raw, nan=0.0) * float(getattr(fn, "weight", 1.0))
        return replace(exp, scores=total, components=components)

    def collect(self, policy: Any, rows: Sequence[dict[str, Any]], state: Any = None,
                logits_processor: LogitsProcessorList | None = None) -> Experience:
        """Generate for dataset ``rows`` (each with a ``prompt``) and score with their other columns."""
        exp = self.generate(policy, [r["prompt"] for r in rows], logits_processor)
        names = [k for k in rows[0] if k != "prompt"] if rows else []
        columns = {k: [r[k] for r in rows for _ in range(self.num_generations)] for k in names}
        return self.score(exp, columns, state)
