"""The client credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clients import Client
from ..errors import UnauthorizedClient
from ..http import Params
from . import check_scope, issue_tokens, new_grant_id, parse_scope, resolve_audience

if TYPE_CHECKING:
    from ..provider import Provider


def grant(provider: Provider, client: Client, params: Params) -> dict[str, Any]:
    """Tokens for the client itself: ``sub`` is the client id (RFC 9068 §2.2),
    no refresh token (RFC 6749 §4.4.3), confidential clients only.
    """
    if client.public:
        raise UnauthorizedClient("a public client cannot use client_credentials (RFC 6749 §4.4)")
    scope = parse_scope(params.get("scope") or client.default_scope)
    check_scope(client, scope)
    return issue_tokens(
        provider,
        client,
        sub=client.client_id,
        scope=scope,
        audience=resolve_audience(client, params),
        grant_id=new_grant_id(),
        auth_time=None,
        user_bound=False,
    )
