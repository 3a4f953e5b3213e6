"""Registered clients and the checks that depend on their registration."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Client"]

ALL_GRANTS = ("authorization_code", "refresh_token", "client_credentials", "password")
PUBLIC_GRANTS = ("authorization_code", "refresh_token", "password")


def _is_loopback_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, eq=False)
class Client:
    """A client as the provider knows it (ids and secrets already resolved).

    ``client_id`` and ``client_secret`` carry RFC 6749's names; a public
    client's ``client_secret`` is ``None``.
    """

    client_id: str
    client_secret: str | None
    public: bool = False
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ALL_GRANTS
    allowed_scopes: frozenset[str] | None = None
    default_scope: str = ""
    audience: tuple[str, ...] = ()
    token_endpoint_auth_method: str | None = None
    id_token_signed_response_alg: str | None = None
    extra_claims: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    lenient: bool = False

    def allows_grant(self, grant_type: str) -> bool:
        """Whether this client may use ``grant_type`` at the token endpoint."""
        return grant_type in self.grant_types

    def auth_methods(self) -> tuple[str, ...]:
        """Token endpoint authentication methods this client may use."""
        if self.public:
            return ("none",)
        if self.token_endpoint_auth_method:
            return (self.token_endpoint_auth_method,)
        return ("client_secret_basic", "client_secret_post")

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact string match against the registration (RFC 6749 §3.1.2.3, RFC 9700 §2.1).

        The only exception is RFC 8252 §7.3: for a loopback IP literal with
        ``http``, any port matches a registration made without one or with another.
        """
        if uri in self.redirect_uris or (self.lenient and _absolute(uri)):
            return True
        # urlsplit() silently drops tabs, CR/LF and leading controls: such a URI is never exact.
        if _has_controls(uri):
            return False
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:  # "http://[::1" and the like
            return False
        # urlsplit() lower-cases the scheme; "HTTP://" is not the registered string.
        if not uri.startswith("http://") or not _is_loopback_ip(parts.hostname):
            return False
        for registered in self.redirect_uris:
            reg = urlsplit(registered)
            if (
                registered.startswith("http://")
                and reg.hostname == parts.hostname
                and (reg.path, reg.query) == (parts.path, parts.query)
                and not parts.fragment
                and parts.netloc.count("@") == 0
                and _without_port(reg.netloc) == _without_port(parts.netloc)
            ):
                return True
        return False

    def post_logout_uri_allowed(self, uri: str) -> bool:
        """Exact match against ``post_logout_redirect_uris`` (OIDC RP-Initiated Logout §3)."""
        return uri in self.post_logout_redirect_uris or (self.lenient and _absolute(uri))

    def scopes_allowed(self, scopes: tuple[str, ...]) -> bool:
        """Whether every requested scope is one this client may ask for."""
        return self.allowed_scopes is None or set(scopes) <= self.allowed_scopes


def _has_controls(uri: str) -> bool:
    return any(c <= " " or c == "\x7f" for c in uri)


def _absolute(uri: str) -> bool:
    """An absolute http(s) URI without control characters (what a lenient client may use)."""
    if _has_controls(uri):
        return False
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def _without_port(netloc: str) -> str:
    if netloc.endswith("]"):
        return netloc
    host, sep, port = netloc.rpartition(":")
    return host if sep and port.isdigit() else netloc
