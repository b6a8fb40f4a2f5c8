"""Errors that rlft reports to users as one clear line naming the culprit."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["RlftError", "ConfigError", "ConfigErrors", "PluginError", "RewardError", "DataError", "ModelError", "did_you_mean"]


class RlftError(Exception):
    """Base class of every user-facing rlft error; its message is one self-contained line."""


class ConfigError(RlftError):
    """A config key or value is wrong (unknown task, bad override, bad weight...)."""


class ConfigErrors(ConfigError):
    """Several config problems found at once; each is one line (``problems``), printed one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PluginError(RlftError):
    """A plugin failed to load or contributed something invalid (for example a duplicate name)."""


class RewardError(RlftError):
    """A reward function raised, returned the wrong number of values or a non-finite value."""


class DataError(RlftError):
    """A dataset is empty, malformed, or lacks a column a reward needs."""


class ModelError(RlftError):
    """A model or tokenizer could not be found or loaded."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return a suffix like ``" (did you mean 'qa'?)"`` for the closest choice, or ``""``.

    >>> did_you_mean("sentimnt", ["sentiment", "qa"])
    " (did you mean 'sentiment'?)"
    >>> did_you_mean("zzz", ["qa"])
    ''
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
