"""A name -> item registry that refuses silent collisions and suggests names for typos."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from core.errors import ConfigError, PluginError, did_you_mean

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Items keyed by name, each remembering which plugin contributed it.

    >>> r = Registry("reward")
    >>> r.add("f1", len, source="plugins.qa")
    >>> r.get("f1") is len
    True
    >>> r.get("f2")
    Traceback (most recent call last):
    ...
    core.errors.ConfigError: unknown reward 'f2' (did you mean 'f1'?); available: f1
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._sources: dict[str, str] = {}

    def add(self, name: str, item: T, source: str) -> None:
        """Register ``item`` under ``name``; a name claimed twice raises :class:`PluginError`."""
        if name in self._items:
            raise PluginError(
                f"{self.kind} {name!r} is defined twice: by {self._sources[name]!r} and by {source!r}; "
                f"uninstall one of the two packages or rename the {self.kind}"
            )
        self._items[name] = item
        self._sources[name] = source

    def get(self, name: str) -> T:
        """Return the item called ``name`` or raise :class:`ConfigError` with a suggestion."""
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}{did_you_mean(name, self._items)}; "
                f"available: {', '.join(sorted(self._items)) or '(none)'}"
            ) from None

    def source(self, name: str) -> str:
        """The plugin (module or package) that registered ``name``."""
        return self._sources[name]

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
