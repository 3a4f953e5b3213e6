"""What the provider noticed while answering one request, for the journal.

Two kinds of note, each collected in a per-request list a ``ContextVar`` holds
(so concurrent requests on other threads never mix): the tokens minted
(decoded claims, never the token strings) and events worth a test's attention
that did not change the answer, such as a client assertion whose ``jti`` was
seen before (RFC 7523 §3 lets a server refuse it; MSAL reuses assertions, so
by default it is only noted).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Notes", "event", "issued", "start", "stop"]


@dataclass
class Notes:
    """The notes of one request: ``issued`` tokens and ``events``."""

    issued: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


_CURRENT: ContextVar[Notes | None] = ContextVar("mockauth_notes", default=None)


def start() -> tuple[Notes, Token[Notes | None]]:
    """Start noting for one request; give the token to :func:`stop` after."""
    notes = Notes()
    return notes, _CURRENT.set(notes)


def stop(token: Token[Notes | None]) -> None:
    _CURRENT.reset(token)


def current() -> Notes:
    """The notes of the request being answered (an empty, unkept one outside a request)."""
    return _CURRENT.get() or Notes()


def issued(kind: str, claims: Mapping[str, Any]) -> None:
    """Note that a token of ``kind`` with these claims was minted."""
    notes = _CURRENT.get()
    if notes is not None:
        notes.issued.append({"token": kind, "claims": dict(claims)})


def event(name: str, **details: Any) -> None:
    """Note an event (``name`` plus details that hold no secret)."""
    notes = _CURRENT.get()
    if notes is not None:
        notes.events.append({"event": name, **details})
