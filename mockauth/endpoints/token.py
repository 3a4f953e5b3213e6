"""The token endpoint (RFC 6749 §3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clientauth import authenticate_client
from ..errors import UnauthorizedClient, UnsupportedGrantType
from ..grants import grant_for
from ..http import Request, Response, form_params, json_response

if TYPE_CHECKING:
    from ..provider import Provider


def handle(provider: Provider, request: Request) -> Response:
    """Authenticate the client, then run its grant (RFC 6749 §4, §5)."""
    params = form_params(request)
    params.reject_duplicates()
    client, _ = authenticate_client(request, params, provider.get_client)
    grant_type = params.require("grant_type")
    grant = grant_for(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"grant_type {grant_type[:40]!r} is not supported")
    if not client.allows_grant(grant_type):
        raise UnauthorizedClient(f"this client may not use the {grant_type} grant")
    return json_response(grant(provider, client, params))
