"""Faults from plain data (scenario files, the admin API, ``provider.fail()``),
through the fault registry: the keys a table may hold are the registered kinds' keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._check import join, unknown_key
from ..errors import ConfigError
from . import device, documents, dpop, tokens
from .base import Fault, Real, buildable_faults
from .http import HttpFault
from .oauth import OAuthErrorFault

#: The built-in fault kinds: importing them registers them (this module is where
#: plain data becomes a fault, so it is where they are loaded: on first use).
BUILTIN_KINDS = (HttpFault, OAuthErrorFault, documents.JsonPatch, documents.RotateKeys,
                 documents.StripKids, tokens.TokenFault, device.ApproveDevice,
                 device.DenyDevice, dpop.RequireDpopNonce)  # fmt: skip

__all__ = [
    "BUILTIN_KINDS",
    "build",
    "build_table",
    "buildable_faults",
    "fault_keys",
    "fault_kinds",
    "outcome",
    "selecting_keys",
]


def fault_kinds() -> list[type[Fault]]:
    """Every registered fault kind (the built-in ones and any registered since)."""
    return buildable_faults()


def fault_keys() -> tuple[str, ...]:
    """Every key a fault table may hold, read off the registry."""
    return tuple(dict.fromkeys(k for kind in buildable_faults() for k in kind.keys))


def selecting_keys() -> tuple[str, ...]:
    """The keys that choose a fault kind (``error``, ``status``, ``delay`` ...)."""
    return tuple(kind.keys[0] for kind in buildable_faults())


def _flags() -> frozenset[str]:
    """Selecting keys that are true/false switches (``drop = true``)."""
    return frozenset(
        kind.keys[0]
        for kind in buildable_faults()
        if kind.schema.get(kind.keys[0], {}).get("type") == "boolean"
    )


def build(spec: Mapping[str, Any] | str | Fault, key: str = "") -> Fault:
    """A fault from plain data; errors name the key.

    ``"real"``, ``{"error": "invalid_grant"}``, ``{"status": 503, "headers": {...}}``,
    ``{"delay": 2.0}`` (then the real answer), ``{"delay": 2.0, "status": 503}`` or
    ``{"delay": 2.0, "then": {...}}``, ``{"drop": true}``, ``{"token": "expired"}``,
    ``{"json": {"set": {...}, "remove": [...]}}``, ``{"rotate_keys": true}``,
    ``{"truncated": true}``, ``{"jwks_no_kid": true}``.
    """
    if isinstance(spec, Fault):
        return spec
    if spec == "real":
        return Real()
    if not isinstance(spec, Mapping):
        raise ConfigError(key, f"expected a fault (a table or 'real'), got {spec!r}")
    try:
        return build_table(dict(spec))
    except ConfigError as exc:
        raise ConfigError(join(key, exc.key) if key and exc.key else key or exc.key,
                          exc.message) from None  # fmt: skip


def build_table(data: dict[str, Any]) -> Fault:
    """A fault from one table (consumed); error keys are relative to the table."""
    known = fault_keys()
    flags = _flags()
    for name in list(data):
        if not isinstance(name, str) or name not in known:
            raise unknown_key(str(name), known)
        if name in flags:
            if data[name] is False:  # ``drop = false``: the same as leaving it out
                del data[name]
            elif data[name] is not True:
                raise ConfigError(name, f"expected true or false, got {data[name]!r}")
    kinds = buildable_faults()
    for kind in kinds:
        if kind.keys[0] in data:
            if "then" in data and "then" not in kind.keys:
                takers = " and ".join(repr(k.keys[0]) for k in kinds if "then" in k.keys)
                raise ConfigError("then", f"only {takers} take 'then'")
            fault = kind.from_table(data, _nested)
            if data:
                raise ConfigError(next(iter(data)), f"does not go with {kind.keys[0]!r}")
            return fault
    given = ", ".join(sorted(data)) or "an empty table"
    names = selecting_keys()
    raise ConfigError("", f"no fault in {given}: give {', '.join(names[:-1])} or {names[-1]}")


def _nested(spec: Any, key: str) -> Fault:
    # The rest of a table (a delay's outcome) is consumed in place; other specs are built.
    if isinstance(spec, dict) and not key:
        return build_table(spec)
    return build(spec, key)


def outcome(value: Fault | int | str | Mapping[str, Any], key: str = "sequence") -> Fault:
    """One step of a sequence: a fault, an HTTP status (``503``), ``"real"``, an
    OAuth error code (``"invalid_grant"``) or a fault table. Errors name ``key``.
    """
    if isinstance(value, Fault):
        return value
    if isinstance(value, Mapping):
        return build(value, key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(
            key, f"expected a fault, a status, an error code or 'real', got {value!r}"
        )
    try:
        if isinstance(value, int):
            return HttpFault(value)
        return Real() if value == "real" else OAuthErrorFault(value, _step=True)
    except ConfigError as exc:
        raise ConfigError(key, exc.message) from None
