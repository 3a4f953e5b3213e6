"""The JWK Set of the provider's public signing keys (RFC 7517 §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..http import Request, Response, json_response

if TYPE_CHECKING:
    from ..provider import Provider


def handle(provider: Provider, request: Request) -> Response:
    return json_response(provider.jwks(), cache=True)
