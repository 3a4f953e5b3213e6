"""The JWK Set of the provider's public signing keys (RFC 7517 §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..http import json_response
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..services import Services


def handle(s: Services, request: Request) -> Response:
    return json_response(s.jwks(), cache=True)


ENDPOINT = register_endpoint(Endpoint("jwks", "/jwks", ("GET", "HEAD"), handle, "jwks_uri"))
