"""The refresh token grant (RFC 6749 §6, RFC 9700 §4.14.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clients import Client
from ..errors import InvalidGrant, InvalidScope
from ..http import Params
from . import issue_tokens, parse_scope

if TYPE_CHECKING:
    from ..provider import Provider


def grant(provider: Provider, client: Client, params: Params) -> dict[str, Any]:
    """Redeem a refresh token. It is bound to its client; scope can only shrink;
    with rotation a reused token revokes its whole family.
    """
    value = params.require("refresh_token")
    settings = provider.config.tokens
    store = provider.store
    now = provider.clock.now()
    record = store.refresh.items.get(value)
    if record is None:
        raise InvalidGrant("unknown refresh token")
    if record.client_id != client.client_id:
        raise InvalidGrant("the refresh token was issued to another client")
    if store.grant_revoked(record.grant_id):
        raise InvalidGrant("the refresh token has been revoked")
    if record.expires_at <= now:
        raise InvalidGrant("the refresh token has expired")
    requested = parse_scope(params.get("scope"))
    if requested and not set(requested) <= set(record.scope):
        wider = " ".join(s for s in requested if s not in record.scope)
        raise InvalidScope(f"a refresh cannot widen the scope: {wider}")
    # Checked first, taken second: a bad request does not burn the token, and
    # of two concurrent redemptions exactly one finds it unused.
    _, already_used = store.use_refresh(value, rotate=settings.rotate_refresh_tokens)
    if already_used:
        if settings.refresh_token_reuse_detection:
            store.revoke_grant(record.grant_id, now + settings.refresh_token_ttl, now)
            raise InvalidGrant("the refresh token was already used; its grant is revoked")
        raise InvalidGrant("the refresh token was already used")
    return issue_tokens(
        provider,
        client,
        sub=record.sub,
        scope=requested or record.scope,
        audience=record.audience,
        grant_id=record.grant_id,
        auth_time=record.auth_time,
        user_bound=True,
        sid=record.sid,
        refresh=record,
    )
