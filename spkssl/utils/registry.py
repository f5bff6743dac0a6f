"""One registry style for every pluggable part: models, losses, objectives, gates, back-ends, pooling, schedules, VADs.

A :class:`Registry` is a read-only mapping from a config name to the part (a class or a
builder).  Its table is written out where the parts are gathered (one entry per part,
no import-time side effects), and an unknown name is an error that lists the registered ones.

Example:
    >>> POOLING = Registry("pooling", {"stats": "StatsPool", "attentive": "AttentiveStatsPool"})
    >>> POOLING["stats"], sorted(POOLING)
    ('StatsPool', ['attentive', 'stats'])
    >>> POOLING["mean"]
    Traceback (most recent call last):
    ...
    spkssl.utils.registry.UnknownName: unknown pooling 'mean'; known: attentive, stats
    >>> "mean" in POOLING
    False
"""
from __future__ import annotations

from typing import Iterator, Mapping, TypeVar

T = TypeVar("T")


class UnknownName(KeyError, ValueError):
    """A name that is not registered (a ``ValueError`` for callers, a ``KeyError`` for the mapping)."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Mapping[str, T]):
    """Names of one ``kind`` of part → the part."""

    def __init__(self, kind: str, entries: Mapping[str, T]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(f"unknown {self.kind} '{name}'; known: {', '.join(sorted(self._entries))}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def extended(self, entries: Mapping[str, T]) -> "Registry[T]":
        """A new registry with ``entries`` added (e.g. a test's part, set in place of the module's table).

        >>> sorted(Registry("pooling", {"stats": 1}).extended({"mean": 2}))
        ['mean', 'stats']
        """
        clash = sorted(set(entries) & set(self._entries))
        if clash:
            raise ValueError(f"{self.kind} {clash} registered twice")
        return Registry(self.kind, {**self._entries, **entries})

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._entries)})"
