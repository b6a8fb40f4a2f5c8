"""Interpretability: which tokens training made more or less likely, per sample and across the held-out set.

:func:`token_shifts` scores completions under the trained policy and under the frozen base model
(the policy with its LoRA adapter disabled, or a separate reference copy) and returns one
:class:`core.tokenview.TokenDelta` list per completion. :func:`top_changes` aggregates them over
the held-out set into the tokens and two-token phrases whose log-probability moved most.

>>> from core.tokenview import TokenDelta
>>> shifts = [[TokenDelta(" great", -3.0, -1.0), TokenDelta("!", -2.0, -2.5)],
...           [TokenDelta(" great", -2.0, -0.5), TokenDelta(" bad", -1.0, -4.0)]]
>>> [(c["text"], c["mean_delta"]) for c in top_changes(shifts, k=1, min_count=1)["tokens_up"]]
[(' great', 1.75)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from core.logprobs import ScoredCompletion, score_completions
from core.tokenview import TokenDelta

__all__ = ["token_shifts", "top_changes"]


def token_shifts(policy: Any, tokenizer: Any, reference: Callable[[], tuple[Any, Any]], prompts: Sequence[Any],
                 completions: Sequence[Any], max_tokens: int = 128,
                 base: Sequence[ScoredCompletion] | None = None) -> list[list[TokenDelta]]:
    """Per-token log-probabilities of each completion under the base model and the trained policy.

    ``base``: these completions' scores under the base model when already computed (the held-out
    evaluation's perplexity pass, in order); the base model then does not run again.
    """
    def score(model: Any, tok: Any) -> list[ScoredCompletion]:  # a long pass after training: hand memory back
        return score_completions(model, tok, prompts, completions, max_tokens=max_tokens, release_memory=True)

    trained = score(policy, tokenizer)
    if base is not None and len(base) == len(trained):
        base = [ScoredCompletion(s.ids[:max_tokens], s.logprobs[:max_tokens]) for s in base]
    elif hasattr(policy, "disable_adapter"):
        with policy.disable_adapter():
            base = score(policy, tokenizer)
    else:
        base = score(*reference())
    return [[TokenDelta(tokenizer.decode([i]), b, a) for i, b, a in zip(s.ids, s.logprobs, t.logprobs)]
            for s, t in zip(base, trained)]


def top_changes(shifts: Sequence[Sequence[TokenDelta]], k: int = 10, min_count: int = 3) -> dict[str, list[dict]]:
    """Tokens and two-token phrases whose mean log-prob change is largest (up) and smallest (down),
    among those seen at least ``min_count`` times."""
    groups: dict[str, dict[str, list[float]]] = {"tokens": defaultdict(list), "phrases": defaultdict(list)}
    for sample in shifts:
        for i, tok in enumerate(sample):
            groups["tokens"][tok.token].append(tok.delta)
            if i:
                groups["phrases"][sample[i - 1].token + tok.token].append(sample[i - 1].delta + tok.delta)
    out: dict[str, list[dict]] = {}
    for kind, table in groups.items():
        rows = [{"text": text, "mean_delta": round(sum(d) / len(d), 4), "count": len(d)}
                for text, d in table.items() if len(d) >= min_count and text.strip()]
        rows.sort(key=lambda r: r["mean_delta"])
        out[f"{kind}_up"] = rows[::-1][:k]
        out[f"{kind}_down"] = rows[:k]
    return out
