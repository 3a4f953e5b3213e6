"""A provider's state at one moment, and going back to it (the admin API's reset)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import ControllableClock

if TYPE_CHECKING:
    from .clients import Client
    from .journal import Journal
    from .resources import ProtectedResource
    from .scenarios.rules import Rule, RuleSet
    from .services import Services
    from .trust import TrustedIssuer
    from .users import User

__all__ = ["Snapshot", "restore", "take"]


@dataclass(frozen=True)
class Snapshot:
    """Registrations (clients, users, trusted issuers, documents, resources),
    rules and the clock of a provider (keys are left as they are).
    """

    clients: Mapping[str, Client]
    users: Mapping[str, User]
    trusted: Mapping[str, TrustedIssuer]
    documents: Mapping[str, dict[str, Any]]
    resources: Mapping[str, ProtectedResource]
    rules: tuple[Rule, ...]
    frozen_at: float | None  # the clock: stopped here, or
    skew: float  # running this many seconds off the system clock


def take(s: Services, rules: RuleSet) -> Snapshot:
    """Clients, users, rules and the clock as they are now."""
    now = s.clock.now()
    frozen = isinstance(s.clock, ControllableClock) and s.clock.frozen is True
    skew = 0.0 if frozen else now - time.time()
    return Snapshot(
        clients=s.clients.snapshot(),
        users=s.users.snapshot(),
        trusted=s.trusted.snapshot(),
        documents=s.documents.registered(),
        resources=s.resources.snapshot(),
        rules=tuple(rules.all()),
        frozen_at=now if frozen else None,
        skew=skew if abs(skew) >= 0.001 else 0.0,  # a scenario's skew, not read-out jitter
    )


def restore(s: Services, rules: RuleSet, journal: Journal, snapshot: Snapshot) -> None:
    """Back to ``snapshot``: registrations, rules (with fresh counters), the clock;
    codes, tokens, sessions and the journal emptied.
    """
    rules.clear()
    for rule in snapshot.rules:
        rule.seen = rule.used = 0
        rules.add(rule)
    s.clients.restore(snapshot.clients)
    s.users.restore(snapshot.users)
    s.trusted.restore(snapshot.trusted)
    s.documents.restore(snapshot.documents)
    s.resources.restore(snapshot.resources)
    s.fetcher.forget()
    s.store.clear()
    clock = s.clock
    if isinstance(clock, ControllableClock):
        clock.reset()
        if snapshot.frozen_at is not None:
            clock.freeze(snapshot.frozen_at)
        elif snapshot.skew:
            clock.advance(snapshot.skew)
    journal.clear()
