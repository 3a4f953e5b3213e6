"""Faults: small values that decide how a scripted request is answered.

Each fault gets a :class:`FaultContext` (the request, the endpoint and a way
to produce the real answer) and returns a response, or raises the OAuth
error the endpoint then renders in its own style. Faults compose: a
:class:`Delay` wraps another outcome; token and JSON faults edit the real
answer. The kinds that can be written as data live in a registry
(:func:`register_fault`); :func:`build` reads tables through it.
"""

from __future__ import annotations

from typing import Any

from ..forge import TOKEN_FAULTS
from .base import (
    Callback,
    ConnectionDropped,
    Exchange,
    Fault,
    FaultContext,
    Real,
    buildable_faults,
    register_fault,
)
from .build import build, fault_keys, outcome
from .documents import JsonPatch, RotateKeys, StripKids
from .http import MAX_DELAY, Delay, Drop, HttpFault, Truncated, proxy_error, rate_limited
from .oauth import OAuthErrorFault
from .tokens import TokenFault

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
    # Read off the registry when asked, so fault kinds registered later count too.
    if name == "FAULT_KEYS":
        return fault_keys()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
