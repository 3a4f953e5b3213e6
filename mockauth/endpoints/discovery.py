"""OpenID Provider Configuration (OIDC Discovery §4) and RFC 8414 metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..http import Request, Response, json_response

if TYPE_CHECKING:
    from ..provider import Provider


def handle(provider: Provider, request: Request) -> Response:
    """The same document serves both well-known forms (RFC 8414 §3)."""
    return json_response(provider.metadata(), cache=True)
