"""Per-token log-probabilities of completions given their prompts under a causal LM, in batches.

Shared by the language-quality reward (:mod:`core.rewards.quality`) and the per-token view
(:mod:`core.tokenview`). A prompt is rendered exactly as for generation (the chat template with
the generation prompt for conversations), the completion text is tokenized on its own and
appended, so the scored tokens are the ones the policy would have produced.

Completions that share a prompt (a GRPO group) share its forward pass: the prompt runs once, its
key/value cache is repeated for every completion, and only completion tokens are computed after
that. For a group of G completions of C tokens after a P-token prompt this costs P + G*C tokens
instead of G*(P + C).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from core.generation import cache_name, inference_mode, render_prompt
from core.memory import trim_heap
from core.rewards.spec import completion_text

__all__ = ["ScoredCompletion", "encode_pair", "score_completions"]


@dataclass
class ScoredCompletion:
    """The scored completion tokens of one sample.

    :param ids: completion token ids (capped at ``max_tokens``).
    :param logprobs: log p(token | prompt, previous tokens) for each id, natural log.
    """

    ids: list[int]
    logprobs: list[float]

    @property
    def mean(self) -> float | None:
        """Mean token log-probability (None for an empty completion)."""
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else None


def encode_pair(tokenizer: Any, prompt: Any, completion: Any, max_tokens: int | None = None,
                max_prompt_tokens: int | None = None) -> tuple[list[int], list[int]]:
    """Token ids of the rendered prompt (keeping its last ``max_prompt_tokens``) and of the
    completion text (keeping its first ``max_tokens``). An empty prompt becomes the BOS (or EOS)
    token so the first completion token has something to be conditioned on."""
    prompt_ids = tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    text = completion_text(completion)
    completion_ids = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
    if max_prompt_tokens:
        prompt_ids = prompt_ids[-max_prompt_tokens:]
    if max_tokens is not None:
        completion_ids = completion_ids[:max_tokens]
    if not prompt_ids:
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        prompt_ids = [start]
    return list(prompt_ids), list(completion_ids)


@torch.no_grad()
def _score_batch(model: Any, pairs: list[tuple[list[int], list[int]]], pad_id: int) -> list[list[float]]:
    """Left-pad the concatenated sequences (so every completion ends at the last position), keep only
    the logits that predict completion tokens, and gather their log-probabilities."""
    width = max(len(p) + len(c) for p, c in pairs)
    keep = max(len(c) for _, c in pairs) + 1
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (p, c) in enumerate(pairs):
        seq = p + c
        ids[row, width - len(seq):] = torch.tensor(seq)
        mask[row, width - len(seq):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    device = model.device
    inputs = dict(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                  use_cache=False)
    try:
        logits = model(**inputs, logits_to_keep=keep).logits
    except TypeError:  # architectures without logits_to_keep
        logits = model(**inputs).logits
    logits = logits[:, -keep:]
    out = []
    for row, (_, c) in enumerate(pairs):
        if not c:
            out.append([])
            continue
        step = logits[row, keep - len(c) - 1:keep - 1].float().log_softmax(-1)
        target = torch.tensor(c, device=step.device).unsqueeze(-1)
        out.append(step.gather(-1, target).squeeze(-1).tolist())
    return out


@torch.no_grad()
def _score_shared_prompt(model: Any, prompt: list[int], completions: list[list[int]], pad_id: int) -> list[list[float]]:
    """Run ``prompt`` once, repeat its KV cache for each completion, then run the right-padded
    completions on top of it (right padding never affects the real tokens before it)."""
    device = model.device
    first = model(input_ids=torch.tensor([prompt], device=device), use_cache=True, logits_to_keep=1)
    head = first.logits[0, -1].float().log_softmax(-1)  # predicts each completion's first token
    name = cache_name(model.forward)
    cache = getattr(first, name)
    cache.batch_repeat_interleave(len(completions))
    width = max(len(c) for c in completions)
    ids = torch.full((len(completions), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(completions), len(prompt) + width), dtype=torch.long)
    mask[:, :len(prompt)] = 1
    for row, c in enumerate(completions):
        ids[row, :len(c)] = torch.tensor(c)
        mask[row, len(prompt):len(prompt) + len(c)] = 1
    positions = torch.arange(len(prompt), len(prompt) + width).expand(len(completions), width)
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                   use_cache=True, **{name: cache}).logits
    out = []
    for row, c in enumerate(completions):
        lps = [head[c[0]].item()]
        if len(c) > 1:
            step = logits[row, :len(c) - 1].float().log_softmax(-1)
            lps += step.gather(-1, torch.tensor(c[1:], device=step.device).unsqueeze(-1)).squeeze(-1).tolist()
        out.append(lps)
    return out


def score_completions(model: Any, tokenizer: Any, prompts: Sequence[Any], completions: Sequence[Any], *,
                      max_tokens: int | None = None, max_prompt_tokens: int | None = None,
                      batch_size: int = 8, share_prompts: bool = True,
                      release_memory: bool = False) -> list[ScoredCompletion]:
    """Score each (prompt, completion) pair; returns one :class:`ScoredCompletion` per pair, in order.

    With ``share_prompts``, completions of the same prompt are scored together on one prompt
    pass, ``batch_size`` at a time; the remaining pairs are sorted by length and run ``batch_size``
    at a time. The model runs in eval mode (its mode is restored afterwards); empty completions
    cost nothing. With ``release_memory``, each batch's freed memory goes back to the OS
    (:func:`core.memory.trim_heap`): after training, glibc's heap is mostly free holes, and a long
    pass that reuses them would otherwise leave every hole it touched resident.
    """
    pairs = [encode_pair(tokenizer, p, c, max_tokens, max_prompt_tokens) for p, c in zip(prompts, completions)]
    results: list[list[float]] = [[] for _ in pairs]
    live = [i for i, (_, c) in enumerate(pairs) if c]
    size = max(1, batch_size)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i in live:
        groups.setdefault(tuple(pairs[i][0]), []).append(i)
    shared = [idx for idx in groups.values() if len(idx) > 1 and size > 1] if share_prompts else []
    done = {i for idx in shared for i in idx}
    todo = sorted((i for i in live if i not in done), key=lambda i: sum(map(len, pairs[i])))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with inference_mode(model):
        for idx in shared:
            for start in range(0, len(idx), size):
                chunk = idx[start:start + size]
                values = _score_shared_prompt(model, pairs[chunk[0]][0], [pairs[i][1] for i in chunk], pad_id)
                for i, lps in zip(chunk, values):
                    results[i] = lps
                if release_memory:
                    trim_heap()
        for start in range(0, len(todo), size):
            idx = todo[start:start + size]
            for i, lps in zip(idx, _score_batch(model, [pairs[i] for i in idx], pad_id)):
                results[i] = lps
            if release_memory:
                trim_heap()
    return [ScoredCompletion(c, lps) for (_, c), lps in zip(pairs, results)]
