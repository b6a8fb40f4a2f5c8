"""Language-quality reward: how likely a frozen reference LM finds the completion, given its prompt.

The reward of a completion with scored tokens ``t_1..t_k`` is built from the mean token
log-probability ``m = (1/k) * sum(log p(t_i | prompt, t_<i))`` under the reference model:

* ``scale="prob"`` (default): ``exp(m)``, the inverse perplexity, in (0, 1]. It is the geometric
  mean of the token probabilities: 1 for text the reference finds certain, near 0 for gibberish.
* ``scale="logprob"``: ``max(m, floor)``, in [floor, 0] (more resolution near the top).

An empty completion gets the bottom of the range (0, or ``floor``). Only the first ``max_tokens``
completion tokens are scored, which bounds the cost per sample. The reference model is, by
default, the run's own base model (``context.reference_model()``, loaded once per run and shared);
``model=<name or path>`` uses another one, loaded once per process.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from typing import Any

from core.errors import ConfigError
from core.rewards.spec import reward

__all__ = ["logprob_to_reward", "reference_model", "fluency"]

_LOCK = threading.Lock()


def logprob_to_reward(mean: float | None, scale: str = "prob", floor: float = -10.0) -> float:
    """Map a mean token log-probability to the bounded reward described in the module docstring.

    >>> logprob_to_reward(0.0), round(logprob_to_reward(math.log(0.25)), 6), logprob_to_reward(None)
    (1.0, 0.25, 0.0)
    >>> logprob_to_reward(-3.5, "logprob"), logprob_to_reward(-42.0, "logprob"), logprob_to_reward(None, "logprob")
    (-3.5, -10.0, -10.0)
    """
    if scale == "prob":
        return math.exp(mean) if mean is not None else 0.0
    return max(mean, floor) if mean is not None else floor


@functools.lru_cache(maxsize=4)
def _load_frozen(name: str) -> tuple[Any, Any]:
    from core.models import load_model

    model, tokenizer = load_model(name)
    model.requires_grad_(False).eval()
    return model, tokenizer


def reference_model(context: Any = None, model: Any = None) -> tuple[Any, Any]:
    """The frozen ``(model, tokenizer)`` to score with: ``model`` if given (a name or path, loaded once
    per process, or an already loaded pair), else the run's base model, else the embedded SmolLM2."""
    if isinstance(model, tuple):
        return model
    if model is None and context is not None:
        return context.reference_model()
    with _LOCK:
        return _load_frozen(str(model or "embedded:smollm2-135m"))


@reward("fluency", factory=True)
def fluency(context: Any = None, model: Any = None, max_tokens: int = 64, batch_size: int = 8,
            scale: str = "prob", floor: float = -10.0, max_prompt_tokens: int | None = 512) -> Any:
    """Inverse perplexity exp(mean token logprob) of the completion under a frozen reference LM, in (0, 1].

    :param model: reference model name or path (default: the run's base model).
    :param max_tokens: completion tokens scored per sample (the rest is ignored).
    :param batch_size: samples per forward pass.
    :param scale: ``prob`` (exp of the mean logprob) or ``logprob`` (the mean, floored at ``floor``).
    :param max_prompt_tokens: keep only the last tokens of long prompts (None: all).
    """
    if scale not in ("prob", "logprob"):
        raise ConfigError(f"reward 'fluency': scale={scale!r} must be 'prob' or 'logprob'")
    if max_tokens < 1 or batch_size < 1:
        raise ConfigError(f"reward 'fluency': max_tokens={max_tokens} and batch_size={batch_size} must be >= 1")
    loaded: list[tuple[Any, Any]] = []

    def fluency(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
        from core.logprobs import score_completions

        if not loaded:  # load on first call, so listing or validating rewards stays cheap
            loaded.append(reference_model(context, model))
        ref, tokenizer = loaded[0]
        scored = score_completions(ref, tokenizer, prompts, completions, max_tokens=max_tokens,
                                   max_prompt_tokens=max_prompt_tokens, batch_size=batch_size)
        return [logprob_to_reward(s.mean, scale, floor) for s in scored]

    return fluency
