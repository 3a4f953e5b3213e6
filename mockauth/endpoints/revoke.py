"""Token revocation (RFC 7009)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clientauth import authenticate
from ..errors import ErrorStyle, InvalidToken
from ..http import Response, form_params
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Request
    from ..services import Services


def revoke(s: Services, token: str, caller: Client) -> None:
    """Revoke ``token`` if ``caller`` owns it; anything else is silently ignored.

    A refresh token takes its whole grant with it, access tokens included
    (RFC 7009 §2.1). The hint only orders the search (RFC 7009 §2.1).
    """
    store = s.store
    now = s.clock.now()
    refresh = store.refresh.items.get(token)
    if refresh is not None:
        if refresh.client_id == caller.client_id:
            # Until the grant's last token expires: its access tokens may outlive the refresh token.
            until = max(refresh.expires_at, now + s.config.tokens.access_token_ttl)
            store.revoke_grant(refresh.grant_id, until, now)
        return
    record = store.access_by_opaque(token)
    if record is None:
        try:
            claims = s.tokens.decode(token, verify_exp=False)
        except InvalidToken:
            return
        jti = claims.get("jti")
        record = store.access_by_jti(jti) if isinstance(jti, str) else None
    if record is not None and record.client_id == caller.client_id:
        record.revoked = True


def handle(s: Services, request: Request) -> Response:
    """200 for known and unknown tokens alike (RFC 7009 §2.2)."""
    params = form_params(request)
    params.reject_duplicates()
    caller, _ = authenticate(s, request, params)
    revoke(s, params.require("token"), caller)
    response = Response("", status=200)
    response.headers["Cache-Control"] = "no-store"
    return response


ENDPOINT = register_endpoint(
    Endpoint(
        "revoke",
        "/revoke",
        ("POST",),
        handle,
        "revocation_endpoint",
        client_auth="required",
        errors=ErrorStyle.BASIC,
        error_codes=frozenset({"invalid_client", "unauthorized_client", "unsupported_token_type"}),
    )
)
