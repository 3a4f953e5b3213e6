"""Token introspection (RFC 7662)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clientauth import authenticate_client
from ..clients import Client
from ..errors import InvalidToken
from ..http import Request, Response, form_params, json_response

if TYPE_CHECKING:
    from ..provider import Provider

INACTIVE = {"active": False}


def _may_see(caller: Client, client_id: str, audience: tuple[str, ...]) -> bool:
    # The token's client, or a resource server the token is meant for.
    return caller.client_id == client_id or caller.client_id in audience


def introspect(provider: Provider, token: str, caller: Client, hint: str | None) -> dict[str, Any]:
    """RFC 7662 §2.2: the token's state; anything not live is exactly ``{"active": false}``."""
    order = ("refresh", "access") if hint == "refresh_token" else ("access", "refresh")
    for kind in order:
        info = (
            _refresh_info(provider, token, caller)
            if kind == "refresh"
            else _access_info(provider, token, caller)
        )
        if info is not None:
            return info
    return dict(INACTIVE)


def _access_info(provider: Provider, token: str, caller: Client) -> dict[str, Any] | None:
    try:
        record = provider.tokens.verify_access_token(token)
    except InvalidToken:
        return None
    if not _may_see(caller, record.client_id, record.audience):
        return None
    info: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "token_type": "Bearer",
        "exp": int(record.expires_at),
        "iat": record.issued_at,
        "sub": record.sub,
        "iss": provider.issuer,
        "jti": record.jti,
    }
    if record.scope:
        info["scope"] = " ".join(record.scope)
    if record.audience:
        info["aud"] = record.audience[0] if len(record.audience) == 1 else list(record.audience)
    if record.username:
        info["username"] = record.username
    return info


def _refresh_info(provider: Provider, token: str, caller: Client) -> dict[str, Any] | None:
    record = provider.store.refresh.items.get(token)
    if (
        record is None
        or record.used
        or record.expires_at <= provider.clock.now()
        or provider.store.grant_revoked(record.grant_id)
        or record.client_id != caller.client_id
    ):
        return None
    info: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "token_type": "refresh_token",
        "exp": int(record.expires_at),
        "sub": record.sub,
        "iss": provider.issuer,
    }
    if record.scope:
        info["scope"] = " ".join(record.scope)
    user = provider.find_user(record.sub, by_sub=True)
    if user is not None:
        info["username"] = user.username
    return info


def handle(provider: Provider, request: Request) -> Response:
    """The caller must authenticate (RFC 7662 §2.1)."""
    params = form_params(request)
    params.reject_duplicates()
    caller, _ = authenticate_client(request, params, provider.get_client)
    token = params.require("token")
    return json_response(introspect(provider, token, caller, params.get("token_type_hint")))
