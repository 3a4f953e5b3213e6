"""Faults: small values that decide how a scripted request is answered.

Each fault gets a :class:`FaultContext` (the request, the endpoint and a way
to produce the real answer) and returns a response, or raises the OAuth
error the endpoint then renders in its own style. Faults compose: a
:class:`Delay` wraps another outcome; token and JSON faults edit the real
answer. The kinds that can be written as data live in a registry
(:func:`register_fault`); :func:`build` reads tables through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    Callback,
    ConnectionDropped,
    Exchange,
    Fault,
    FaultContext,
    Real,
    register_fault,
)

if TYPE_CHECKING:
    from ..forge import TOKEN_FAULTS
    from .base import buildable_faults
    from .documents import JsonPatch, RotateKeys, StripKids
    from .http import MAX_DELAY, Delay, Drop, HttpFault, Truncated, proxy_error, rate_limited
    from .oauth import OAuthErrorFault
    from .tables import build, fault_keys, outcome
    from .tokens import TokenFault

#: Where each name that loads on first use lives (the fault kinds register as they load).
_LAZY = {
    **dict.fromkeys(("build", "buildable_faults", "fault_keys", "outcome"), "tables"),
    **dict.fromkeys(("JsonPatch", "RotateKeys", "StripKids"), "documents"),
    **dict.fromkeys(
        ("MAX_DELAY", "Delay", "Drop", "HttpFault", "Truncated", "proxy_error", "rate_limited"),
        "http",
    ),
    "OAuthErrorFault": "oauth",
    "TokenFault": "tokens",
}

__all__ = [
    "FAULT_KEYS",
    "MAX_DELAY",
    "TOKEN_FAULTS",
    "Callback",
    "ConnectionDropped",
    "Delay",
    "Drop",
    "Exchange",
    "Fault",
    "FaultContext",
    "HttpFault",
    "JsonPatch",
    "OAuthErrorFault",
    "Real",
    "RotateKeys",
    "StripKids",
    "TokenFault",
    "Truncated",
    "build",
    "buildable_faults",
    "fault_keys",
    "outcome",
    "proxy_error",
    "rate_limited",
    "register_fault",
]


def __getattr__(name: str) -> Any:
    # The kinds load on first use: a plain start (no rule scripted) never needs them.
    tables = importlib.import_module(f"{__name__}.tables")  # registers the built-in kinds
    if name == "FAULT_KEYS":  # read off the registry when asked: later kinds count too
        return tables.fault_keys()
    if name == "TOKEN_FAULTS":
        from ..forge import TOKEN_FAULTS

        return TOKEN_FAULTS
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
