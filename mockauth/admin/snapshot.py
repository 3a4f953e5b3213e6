"""The start-up state of a provider, which reset goes back to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..clients import Client
    from ..provider import Provider
    from ..scenarios import Rule
    from ..users import User


@dataclass
class _Snapshot:
    clients: dict[str, Client]
    users: dict[str, User]
    rules: list[Rule]
    frozen_at: float | None  # the clock: stopped here, or
    skew: float  # running this many seconds off the system clock


def _snapshot(provider: Provider) -> _Snapshot:
    clock = provider.clock
    now = clock.now()
    frozen = getattr(clock, "frozen", False) is True
    skew = 0.0 if frozen else now - time.time()
    with provider._lock:
        # Clients and users are frozen: a shallow copy keeps them as they are now.
        return _Snapshot(
            dict(provider._clients),
            dict(provider._users),
            provider.rules,
            now if frozen else None,
            skew if abs(skew) >= 0.001 else 0.0,  # a scenario's skew, not the read-out jitter
        )


def _reset(provider: Provider, snapshot: _Snapshot) -> None:
    """Back to ``snapshot``: registry, rules (fresh counters), empty journal and
    store, the clock. Keys stay as they are.
    """
    provider.clear_rules()
    for rule in snapshot.rules:
        rule.seen = rule.used = 0
        provider.add_rule(rule)
    with provider._lock:
        provider._clients.clear()
        provider._clients.update(snapshot.clients)
        provider._users.clear()
        provider._users.update(snapshot.users)
    store = provider.store
    with store.lock:  # every table of codes, tokens, sessions and revocations
        for table in vars(store).values():
            items = getattr(table, "items", None)
            if isinstance(items, dict):
                items.clear()
    clock = provider.clock
    if all(callable(getattr(clock, name, None)) for name in ("reset", "freeze", "advance")):
        clock.reset()
        if snapshot.frozen_at is not None:
            clock.freeze(snapshot.frozen_at)
        elif snapshot.skew:
            clock.advance(snapshot.skew)
    provider.clear_calls()
