"""Named, documented reward functions: the ``@reward`` decorator and :class:`RewardSpec`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError, did_you_mean

__all__ = ["RewardFunc", "RewardSpec", "reward", "as_reward_spec", "completion_text", "prompt_text"]

RewardFunc = Callable[..., Sequence[float | None]]
"""TRL's reward signature: ``fn(prompts, completions, **columns) -> list[float | None]``."""


@dataclass(frozen=True)
class RewardSpec:
    """A reward as the registry knows it.

    :param name: the name used in ``rewards: [{name: ...}]``.
    :param target: the reward function, or (``factory=True``) a callable that builds one from args.
    :param description: one line shown by ``python -m core.rewards``.
    :param columns: dataset columns the reward reads from ``**columns``.
    :param factory: whether ``target(**args)`` returns the reward function (model-based rewards
        load their model once in the factory).
    """

    name: str
    target: Callable[..., Any]
    description: str = ""
    columns: tuple[str, ...] = ()
    factory: bool = False

    def build(self, args: dict[str, Any] | None = None, context: Any = None) -> RewardFunc:
        """Return a ready reward function with ``args`` bound (and ``context`` if it takes one)."""
        args = dict(args or {})
        params = inspect.signature(self.target).parameters
        kinds = (inspect.Parameter.KEYWORD_ONLY,) + ((inspect.Parameter.POSITIONAL_OR_KEYWORD,) if self.factory else ())
        allowed = [n for n, p in params.items() if p.kind in kinds and n != "context"]
        for key in args:
            if key not in allowed:
                raise ConfigError(
                    f"reward {self.name!r} has no argument {key!r}{did_you_mean(key, allowed)}; "
                    f"its arguments: {', '.join(allowed) or '(none)'}"
                )
        if self.factory and "context" in params:
            args["context"] = context
        if self.factory:
            return self.target(**args)
        if not args:
            return self.target
        bound = functools.partial(self.target, **args)
        functools.update_wrapper(bound, self.target)
        return bound


def reward(
    name: str | None = None, *, description: str | None = None, columns: Sequence[str] = (), factory: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function (or, with ``factory=True``, a class) as an rlft reward.

    The decorated object is returned unchanged, so it stays a plain TRL reward function;
    the spec rides along as ``obj.reward_spec``. The description defaults to the docstring's
    first line.
    """

    def mark(target: Callable[..., Any]) -> Callable[..., Any]:
        doc = (inspect.getdoc(target) or "").strip().splitlines()
        target.reward_spec = RewardSpec(  # type: ignore[attr-defined]
            name=name or target.__name__,
            target=target,
            description=description or (doc[0] if doc else ""),
            columns=tuple(columns),
            factory=factory,
        )
        return target

    return mark


def as_reward_spec(obj: Any) -> RewardSpec:
    """Accept a :class:`RewardSpec`, an ``@reward``-marked callable or any plain TRL reward function."""
    if isinstance(obj, RewardSpec):
        return obj
    spec = getattr(obj, "reward_spec", None)
    if isinstance(spec, RewardSpec):
        return spec
    if callable(obj) and hasattr(obj, "__name__"):
        return reward()(obj).reward_spec
    raise TypeError(f"not a reward function: {obj!r}")


def completion_text(completion: Any) -> str:
    """The text of one completion, whether plain (``str``) or conversational (list of messages).

    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    >>> completion_text("hi")
    'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content") or "" for m in completion if m.get("role", "assistant") == "assistant")
    raise TypeError(f"completion must be a string or a list of messages, got {type(completion).__name__}")


def prompt_text(prompt: Any) -> str:
    """The text of a prompt: a string, or the last user message of a conversation.

    >>> prompt_text([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    'Hi'
    """
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content") or "" for m in prompt if m.get("role") == "user"]
    return users[-1] if users else ""
