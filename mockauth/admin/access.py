"""Where the admin API lives and who may use it: loopback peers with the per-run token."""

from __future__ import annotations

import re
import secrets

from .._check import is_loopback as _is_loopback
from ..errors import ConfigError

#: Where the admin API lives on the server.
ADMIN_PREFIX = "/_mockauth"
#: The header that carries the per-run token.
TOKEN_HEADER = "X-Mockauth-Admin-Token"
#: What a token may look like: visible ASCII, so that it survives any header and shell.
_TOKEN_SHAPE = re.compile(r"^[\x21-\x7e]{1,256}$")


def new_token() -> str:
    """A fresh per-run admin token."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> str:
    """``token`` if it can be sent in a header, else :class:`ConfigError`."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        raise ConfigError("admin_token", "must be 1 to 256 visible ASCII characters")
    return token


def is_loopback(address: str | None) -> bool:
    """Whether a peer address is a loopback address (names are not addresses)."""
    return address != "localhost" and _is_loopback(address)
