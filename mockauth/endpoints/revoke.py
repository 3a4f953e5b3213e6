"""Token revocation (RFC 7009)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clientauth import authenticate_client
from ..clients import Client
from ..errors import InvalidToken
from ..http import Request, Response, form_params

if TYPE_CHECKING:
    from ..provider import Provider


def revoke(provider: Provider, token: str, caller: Client) -> None:
    """Revoke ``token`` if ``caller`` owns it; anything else is silently ignored.

    A refresh token takes its whole grant with it, access tokens included
    (RFC 7009 §2.1). The hint only orders the search (RFC 7009 §2.1).
    """
    store = provider.store
    now = provider.clock.now()
    refresh = store.refresh.items.get(token)
    if refresh is not None:
        if refresh.client_id == caller.client_id:
            store.revoke_grant(refresh.grant_id, refresh.expires_at, now)
        return
    record = store.access_by_opaque(token)
    if record is None:
        try:
            claims = provider.tokens.decode(token, verify_exp=False)
        except InvalidToken:
            return
        jti = claims.get("jti")
        record = store.access_by_jti(jti) if isinstance(jti, str) else None
    if record is not None and record.client_id == caller.client_id:
        record.revoked = True


def handle(provider: Provider, request: Request) -> Response:
    """200 for known and unknown tokens alike (RFC 7009 §2.2)."""
    params = form_params(request)
    params.reject_duplicates()
    caller, _ = authenticate_client(request, params, provider.get_client)
    revoke(provider, params.require("token"), caller)
    response = Response("", status=200)
    response.headers["Cache-Control"] = "no-store"
    return response
