"""One module per endpoint. Each is ``handle(provider, request) -> Response``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..http import Request, Response

if TYPE_CHECKING:
    from ..provider import Provider

__all__ = ["ENDPOINTS", "Endpoint"]

Handler = Callable[["Provider", Request], Response]


@dataclass(frozen=True)
class Endpoint:
    """An endpoint: its name (used by the journal and scenarios), path and methods."""

    name: str
    path: str
    methods: tuple[str, ...]
    handler: Handler
    metadata_key: str | None = None


def _endpoints() -> tuple[Endpoint, ...]:
    from . import authorize, discovery, end_session, introspect, jwks, revoke, token, userinfo

    return (
        Endpoint(
            "discovery", "/.well-known/openid-configuration", ("GET", "HEAD"), discovery.handle
        ),
        Endpoint(
            "discovery",
            "/.well-known/oauth-authorization-server",
            ("GET", "HEAD"),
            discovery.handle,
        ),
        Endpoint("jwks", "/jwks", ("GET", "HEAD"), jwks.handle, "jwks_uri"),
        Endpoint(
            "authorize", "/authorize", ("GET", "POST"), authorize.handle, "authorization_endpoint"
        ),
        Endpoint("token", "/token", ("POST",), token.handle, "token_endpoint"),
        Endpoint("userinfo", "/userinfo", ("GET", "POST"), userinfo.handle, "userinfo_endpoint"),
        Endpoint(
            "introspect", "/introspect", ("POST",), introspect.handle, "introspection_endpoint"
        ),
        Endpoint("revoke", "/revoke", ("POST",), revoke.handle, "revocation_endpoint"),
        Endpoint(
            "end_session",
            "/endsession",
            ("GET", "POST"),
            end_session.handle,
            "end_session_endpoint",
        ),
    )


ENDPOINTS: tuple[Endpoint, ...] = _endpoints()
