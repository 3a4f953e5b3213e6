"""The one set of key-path helpers behind every "this key is wrong" message.

Config files, scenario files, fault tables, the admin API and the CLI all name
the bad key the same way (``clients[1].redirect_uris[0]``), describe the bad
value the same way and suggest the same close matches.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Iterable
from typing import Any

from .errors import ConfigError

__all__ = ["describe", "did_you_mean", "is_loopback", "join", "number", "unknown_key"]


def describe(value: Any, limit: int = 60) -> str:
    """``value`` as shown in a message: its repr, cut to ``limit``, and its type."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def join(prefix: str, key: str) -> str:
    """The key path ``prefix.key`` (``prefix[0]`` for an index)."""
    if not prefix:
        return key
    if not key:
        return prefix
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for a near miss among ``known``, else ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(name: str, known: Iterable[str], prefix: str = "", hint: str = "") -> ConfigError:
    """The error for a key nobody knows, with a "did you mean" for a typo.

    ``hint`` replaces the did-you-mean when given (a key that belongs elsewhere).
    """
    return ConfigError(join(prefix, str(name)), f"unknown key{hint or did_you_mean(name, known)}")


def number(value: Any, key: str, what: str = "a number of seconds") -> float:
    """A finite int or float (never a bool), else a :class:`ConfigError` naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"expected {what}, got {describe(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise ConfigError(key, "is far too large") from None
    if not math.isfinite(result):
        raise ConfigError(key, f"expected {what}, got {describe(value)}")
    return result


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name, an address, ``[::1]``, an IPv4-mapped IPv6 address)
    is this machine's loopback.
    """
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
