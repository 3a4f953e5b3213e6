"""The refresh token grant (RFC 6749 §6, RFC 9700 §4.14.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidGrant, InvalidScope
from ..tokens.binding import current_constraint
from ..tokens.response import TokenGrant, TokenResponse, issue
from . import Grant, register_grant
from .common import narrow_audience, parse_scope

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services


class RefreshTokenGrant(Grant):
    """Redeem a refresh token. It is bound to its client; scope can only shrink;
    with rotation a reused token revokes its whole family.
    """

    grant_type = "refresh_token"
    secret_params = frozenset({"refresh_token"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        value = params.require("refresh_token")
        settings = s.config.tokens
        store = s.store
        now = s.clock.now()
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
            wider = " ".join(x for x in requested if x not in record.scope)
            raise InvalidScope(f"a refresh cannot widen the scope: {wider}")
        audience = narrow_audience(client, params, record.audience, record.resources)
        if record.jkt is not None and current_constraint().jkt != record.jkt:
            raise InvalidGrant("the refresh token is bound to a DPoP key: prove it (RFC 9449 §5)")
        # Checked first, taken second: a bad request does not burn the token, and
        # of two concurrent redemptions exactly one finds it unused.
        _, already_used = store.use_refresh(value, rotate=settings.rotate_refresh_tokens)
        if already_used:
            if settings.refresh_token_reuse_detection:
                store.revoke_grant(record.grant_id, now + settings.refresh_token_ttl, now)
                raise InvalidGrant("the refresh token was already used; its grant is revoked")
            raise InvalidGrant("the refresh token was already used")
        grant = TokenGrant(
            client=client,
            sub=record.sub,
            scope=requested or record.scope,
            audience=audience,
            granted_audience=record.audience,
            resources=record.resources,
            grant_id=record.grant_id,
            auth_time=record.auth_time,
            user_bound=True,
            sid=record.sid,
            refresh=record,
            login_claims=record.login_claims,
        )
        return issue(s, grant)


register_grant(RefreshTokenGrant())
