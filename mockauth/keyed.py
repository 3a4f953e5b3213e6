"""``Keyed``: the entries of one provider registered at run time (trusted
issuers, protected resources, client ID metadata documents), by key.

Copied on write: a request reads the current dict without a lock while the
admin API or a test changes it; writers take the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

__all__ = ["Keyed"]

V = TypeVar("V")


class Keyed(Generic[V]):
    """Entries by key; subclasses say what a duplicate or a missing key means."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, V] = {}

    def _put(self, key: str, value: V, *, replace: bool = False) -> bool:
        """Store ``value``; ``False`` (nothing stored) if ``key`` is taken and not ``replace``."""
        with self._lock:
            if key in self._items and not replace:
                return False
            self._items = {**self._items, key: value}
        return True

    def _drop(self, key: str) -> bool:
        """Forget ``key``; ``False`` if it was not there."""
        with self._lock:
            if key not in self._items:
                return False
            self._items = {k: v for k, v in self._items.items() if k != key}
        return True

    def snapshot(self) -> Mapping[str, V]:
        return dict(self._items)

    def restore(self, snapshot: Mapping[str, V]) -> None:
        with self._lock:
            self._items = dict(snapshot)

    def __iter__(self) -> Iterator[V]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
