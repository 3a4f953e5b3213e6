"""Token introspection (RFC 7662)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clientauth import authenticate
from ..errors import ErrorStyle, InvalidToken
from ..http import form_params, json_response
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Request, Response
    from ..services import Services

INACTIVE = {"active": False}


def _may_see(caller: Client, client_id: str, audience: tuple[str, ...]) -> bool:
    # The token's client, or a resource server the token is meant for.
    return caller.client_id == client_id or caller.client_id in audience


def introspect(s: Services, token: str, caller: Client, hint: str | None) -> dict[str, Any]:
    """RFC 7662 §2.2: the token's state; anything not live is exactly ``{"active": false}``."""
    order = ("refresh", "access") if hint == "refresh_token" else ("access", "refresh")
    for kind in order:
        info = (_refresh_info if kind == "refresh" else _access_info)(s, token, caller)
        if info is not None:
            return info
    return dict(INACTIVE)


def _access_info(s: Services, token: str, caller: Client) -> dict[str, Any] | None:
    try:
        record = s.tokens.verify_access_token(token)
    except InvalidToken:
        return None
    if not _may_see(caller, record.client_id, record.audience):
        return None
    info: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "token_type": record.token_type,
        "exp": int(record.expires_at),
        "iat": record.issued_at,
        "sub": record.sub,
        "iss": s.issuer,
        "jti": record.jti,
    }
    if record.scope:
        info["scope"] = " ".join(record.scope)
    if record.audience:
        info["aud"] = record.audience[0] if len(record.audience) == 1 else list(record.audience)
    if record.username:
        info["username"] = record.username
    cnf = record.claims.get("cnf")
    if isinstance(cnf, dict):  # RFC 9449 §6.2: the key a DPoP token is bound to
        info["cnf"] = dict(cnf)
    return info


def _refresh_info(s: Services, token: str, caller: Client) -> dict[str, Any] | None:
    record = s.store.refresh.items.get(token)
    if (
        record is None
        or record.used
        or record.expires_at <= s.clock.now()
        or s.store.grant_revoked(record.grant_id)
        or record.client_id != caller.client_id
    ):
        return None
    info: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "token_type": "refresh_token",
        "exp": int(record.expires_at),
        "sub": record.sub,
        "iss": s.issuer,
    }
    if record.scope:
        info["scope"] = " ".join(record.scope)
    user = s.users.find(record.sub, by_sub=True)
    if user is not None:
        info["username"] = user.username
    return info


def handle(s: Services, request: Request) -> Response:
    """The caller must authenticate (RFC 7662 §2.1)."""
    params = form_params(request)
    params.reject_duplicates()
    caller, _ = authenticate(s, request, params)
    token = params.require("token")
    return json_response(introspect(s, token, caller, params.get("token_type_hint")))


ENDPOINT = register_endpoint(
    Endpoint(
        "introspect",
        "/introspect",
        ("POST",),
        handle,
        "introspection_endpoint",
        client_auth="required",
        errors=ErrorStyle.BASIC,
        error_codes=frozenset({"invalid_client", "unauthorized_client"}),
    )
)
