"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import pkce
from ..errors import InvalidGrant
from ..tokens.binding import current_constraint
from ..tokens.response import TokenGrant, TokenResponse, issue
from . import Grant, register_grant
from .common import narrow_audience, new_grant_id

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services


class AuthorizationCodeGrant(Grant):
    """Redeem a code once. A replay is ``invalid_grant`` and revokes every
    token the first redemption produced (RFC 6749 §4.1.2, RFC 9700 §4.5).
    Any failed check burns the code (RFC 9700 §4.8.2).
    """

    grant_type = "authorization_code"
    secret_params = frozenset({"code", "code_verifier"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        value = params.require("code")
        redirect_uri = params.get("redirect_uri")
        verifier = params.get("code_verifier")
        now = s.clock.now()
        ttl = s.config.tokens.refresh_token_ttl
        grant_id = new_grant_id()
        code, replayed = s.store.take_code(value, grant_id, now, keep_tombstone_for=ttl)
        if code is None:
            if replayed is not None:
                s.store.revoke_grant(replayed, now + ttl, now)
                raise InvalidGrant(
                    "the authorization code was already used; its tokens are revoked"
                )
            raise InvalidGrant("unknown authorization code")
        if code.client_id != client.client_id:
            raise InvalidGrant("the authorization code was issued to another client")
        if code.expires_at <= now:
            raise InvalidGrant("the authorization code has expired")
        # RFC 6749 §4.1.3: required only if the authorization request had one.
        if redirect_uri is None and code.redirect_uri_sent:
            raise InvalidGrant("redirect_uri is required: the authorization request had one")
        if redirect_uri is not None and redirect_uri != code.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the one in the authorization request")
        pkce.verify(code.code_challenge, code.code_challenge_method, verifier)
        if code.dpop_jkt is not None and current_constraint().jkt != code.dpop_jkt:
            raise InvalidGrant(
                "the code is bound to a DPoP key (dpop_jkt): prove it (RFC 9449 §10)"
            )
        grant = TokenGrant(
            client=client,
            sub=code.sub,
            scope=code.scope,
            audience=narrow_audience(client, params, code.audience, code.resources),
            granted_audience=code.audience,
            resources=code.resources,
            grant_id=grant_id,
            auth_time=code.auth_time,
            user_bound=True,
            nonce=code.nonce,
            sid=code.sid,
            login_claims=code.login_claims,
        )
        return issue(s, grant)


register_grant(AuthorizationCodeGrant())
