"""Guard every reward call: one finite float (or None) per completion, errors that name the reward."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from core.errors import DataError, RewardError, RlftError
from core.rewards.spec import RewardFunc, completion_text, prompt_text

__all__ = ["CheckedReward", "RewardLog"]

#: Keyword arguments TRL adds to reward calls that are not dataset columns.
TRL_EXTRAS = ("completion_ids", "trainer_state", "log_extra", "log_metric", "environments")


class RewardLog:
    """Collects the per-sample values of every reward component of one batch, then emits rows.

    :param weights: reward name -> weight, in the order the trainer calls them.
    :param sink: receives a list of row dicts once every component of a batch is in.
    :param fields: added to every row, e.g. ``{"task": "qa"}`` in a multi-task run.
    """

    def __init__(self, weights: dict[str, float], sink: Callable[[list[dict[str, Any]]], None],
                 fields: dict[str, Any] | None = None) -> None:
        self.weights = weights
        self.sink = sink
        self.fields = dict(fields or {})
        self._pending: dict[str, list[float | None]] = {}
        self.stage = "train"
        self.muted = False

    @contextlib.contextmanager
    def mute(self) -> Iterator[None]:
        """Emit no rows inside the block (scoring completions whose rows were written before)."""
        self.muted = True
        try:
            yield
        finally:
            self.muted, self._pending = False, {}

    def add(self, name: str, prompts: Sequence[Any], completions: Sequence[Any], values: list[float | None],
            step: int | None) -> None:
        """Record one component's values; emit the batch when the last component arrives."""
        self._pending[name] = values
        if set(self._pending) != set(self.weights):
            return
        rows = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions)):
            components = {
                n: {"raw": v[i], "weighted": None if v[i] is None else v[i] * self.weights[n]}
                for n, v in self._pending.items()
            }
            total = sum(c["weighted"] for c in components.values() if c["weighted"] is not None)
            rows.append({"stage": self.stage, "step": step, **self.fields, "prompt": prompt_text(prompt),
                         "completion": completion_text(completion), "rewards": components, "total": total})
        self._pending = {}
        if not self.muted:
            self.sink(rows)


class CheckedReward:
    """A reward function wrapped so that bad output stops the run with a one-line error.

    It keeps TRL's signature and exposes ``__name__`` (TRL logs ``rewards/<name>/mean``).
    Missing dataset columns, exceptions, a wrong number of values and NaN/inf all raise
    an :class:`~core.errors.RlftError` naming the reward and, where it applies, the sample.
    """

    def __init__(self, name: str, fn: RewardFunc, weight: float = 1.0, columns: Sequence[str] = (),
                 log: RewardLog | None = None) -> None:
        self.__name__ = name
        self.fn = fn
        self.weight = weight
        self.columns = tuple(columns)
        self.log = log

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        missing = [c for c in self.columns if c not in kwargs]
        if missing:
            present = sorted(k for k in kwargs if k not in TRL_EXTRAS)
            raise DataError(f"reward {self.__name__!r} needs dataset column {missing[0]!r}, "
                            f"but the dataset has only: {', '.join(present) or '(none)'}")
        try:
            values = list(self.fn(prompts, completions, **kwargs))
        except RlftError:
            raise
        except Exception as exc:
            raise RewardError(f"reward {self.__name__!r} raised {type(exc).__name__}: {exc}") from exc
        if len(values) != len(completions):
            raise RewardError(f"reward {self.__name__!r} returned {len(values)} values for "
                              f"{len(completions)} completions; it must return exactly one per completion")
        checked = [self._check(v, i, completions) for i, v in enumerate(values)]
        if self.log is not None:
            state = kwargs.get("trainer_state")
            self.log.add(self.__name__, prompts, completions, checked, getattr(state, "global_step", None))
        return checked

    def _check(self, value: Any, index: int, completions: Sequence[Any]) -> float | None:
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
            kind = f"a {type(value).__name__}"
        else:
            kind = repr(number)
        if not math.isfinite(number):
            text = completion_text(completions[index])[:60]
            raise RewardError(f"reward {self.__name__!r} returned {kind} for completion {index} "
                              f"({text!r}); rewards must be finite numbers or None")
        return number
