"""A name -> item registry where every item also has a qualified name ``<name>@<distribution>``.

Two packages may contribute the same bare name: that clash is reported once as a warning naming
both packages, the bare name becomes ambiguous (using it is an error listing the qualified
choices), and the qualified names keep working. Nothing else is affected.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.errors import ConfigError, did_you_mean

__all__ = ["Registry", "Entry", "qualify", "split_qualified"]

log = logging.getLogger("rlft.plugins")

T = TypeVar("T")


def qualify(name: str, distribution: str) -> str:
    """The qualified name of ``name`` contributed by ``distribution``.

    >>> qualify("sentiment", "rlft")
    'sentiment@rlft'
    """
    return f"{name}@{distribution}"


def split_qualified(name: str) -> tuple[str, str | None]:
    """Split ``"x@dist"`` into ``("x", "dist")``; a bare name gives ``(name, None)``.

    >>> split_qualified("qa@rlft-task-qa"), split_qualified("qa")
    (('qa', 'rlft-task-qa'), ('qa', None))
    """
    bare, sep, dist = name.partition("@")
    return (bare, dist) if sep else (name, None)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One contribution: its bare name, the distribution that made it, the plugin label, the item."""

    name: str
    distribution: str
    source: str
    item: T

    @property
    def qualified(self) -> str:
        """``<name>@<distribution>``."""
        return qualify(self.name, self.distribution)


class Registry(Generic[T]):
    """Items keyed by name, each remembering which plugin and distribution contributed it.

    >>> r = Registry("reward")
    >>> r.add("exact_match", len, source="plugins.qa")
    >>> r.get("exact_match") is len and r.get("exact_match@rlft") is len
    True
    >>> r.get("exact_mach")
    Traceback (most recent call last):
    ...
    core.errors.ConfigError: unknown reward 'exact_mach' (did you mean 'exact_match'?); available: exact_match
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}  # qualified name -> entry
        self._bare: dict[str, list[str]] = {}  # bare name -> qualified names, in registration order
        self.clashes: list[str] = []  # one warning line per clash

    def add(self, name: str, item: T, source: str, distribution: str = "rlft") -> None:
        """Register ``item`` as ``name`` and ``name@distribution``; a clash warns and never raises."""
        entry = Entry(name, distribution, source, item)
        if entry.qualified in self._entries:
            first = self._entries[entry.qualified]
            self._warn(f"{self.kind} {entry.qualified!r} is contributed twice within package {distribution!r} "
                       f"(by {first.source!r} and by {source!r}); keeping the first")
            return
        others = self._bare.setdefault(name, [])
        if others:
            one, two = sorted([self._entries[others[0]], entry], key=lambda e: e.distribution)
            self._warn(f"{self.kind} name {name!r} is claimed by two packages, {one.distribution!r} ({one.source}) "
                       f"and {two.distribution!r} ({two.source}); the bare name is ambiguous, use "
                       f"{one.qualified!r} or {two.qualified!r}")
        others.append(entry.qualified)
        self._entries[entry.qualified] = entry

    def _warn(self, message: str) -> None:
        self.clashes.append(message)
        log.warning("rlft: %s", message)

    def entry(self, name: str) -> Entry[T]:
        """The entry for a bare or qualified name; unknown or ambiguous names raise :class:`ConfigError`."""
        if name in self._entries:
            return self._entries[name]
        choices = sorted(self._bare.get(name, []))
        if len(choices) == 1:
            return self._entries[choices[0]]
        if len(choices) > 1:
            packages = ", ".join(self._entries[q].distribution for q in choices)
            raise ConfigError(f"{self.kind} {name!r} is ambiguous: packages {packages} all provide it; "
                              f"use one of: {', '.join(choices)}")
        raise ConfigError(f"unknown {self.kind} {name!r}{did_you_mean(name, self.all_names())}; "
                          f"available: {', '.join(self.names()) or '(none)'}")

    def get(self, name: str) -> T:
        """Return the item called ``name`` (bare or qualified) or raise :class:`ConfigError` with a suggestion."""
        return self.entry(name).item

    def source(self, name: str) -> str:
        """The plugin (module and package) that registered ``name``."""
        return self.entry(name).source

    def distribution(self, name: str) -> str:
        """The distribution (pip package) that registered ``name``."""
        return self.entry(name).distribution

    def is_ambiguous(self, name: str) -> bool:
        """True when ``name`` is a bare name that several packages provide."""
        return len(self._bare.get(name, [])) > 1

    def names(self) -> list[str]:
        """Usable names, sorted: the bare name when unique, else each qualified name."""
        out = []
        for bare, qualified in self._bare.items():
            out.extend([bare] if len(qualified) == 1 else qualified)
        return sorted(out)

    def all_names(self) -> list[str]:
        """Every name that resolves: unique bare names plus every qualified name."""
        return sorted(set(self.names()) | set(self._entries))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or len(self._bare.get(name, [])) == 1)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
