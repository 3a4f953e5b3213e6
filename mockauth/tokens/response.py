"""The token response (RFC 6749 §5.1, OIDC Core §3.1.3.3) built from what a grant decided.

A grant says who gets tokens, for which client, scope and audience (a
:class:`TokenGrant`); :func:`issue` mints the access token (bound by a
:class:`~mockauth.tokens.binding.SenderConstraint`), a refresh token and an
ID token where they apply, and returns a :class:`TokenResponse`. Token
exchange (RFC 8693) sets ``issued_token_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..users import claims_for_scopes
from .binding import SenderConstraint, current_constraint

if TYPE_CHECKING:
    from ..clients import Client
    from ..services import Services
    from ..store import RefreshRecord
    from ..users import User

__all__ = ["TokenGrant", "TokenResponse", "id_token_for", "issue"]


@dataclass(frozen=True)
class TokenGrant:
    """What a grant decided: tokens for ``sub`` through ``client``.

    ``user_bound`` grants (a user authorized them) get a refresh token and, with
    ``openid``, an ID token; ``refresh`` is the refresh token being redeemed.
    """

    client: Client
    sub: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    grant_id: str
    auth_time: int | None
    user_bound: bool
    nonce: str | None = None
    sid: str | None = None
    refresh: RefreshRecord | None = None
    #: RFC 8693 §2.2.1: the type of the token issued, for token exchange.
    issued_token_type: str | None = None
    #: Whether a refresh token may come with it (not for assertion grants).
    refreshable: bool = True
    #: Whether ``openid`` brings an ID token (not for token exchange).
    with_id_token: bool = True
    #: What the authorization earned, when the access token's ``audience`` is
    #: narrower (RFC 8707 §2.2): a new refresh token keeps the whole grant.
    granted_audience: tuple[str, ...] | None = None
    #: The targets the authorization named (RFC 8707), carried into the refresh token.
    resources: tuple[str, ...] = ()
    #: Claims the grant adds to the access token (``act``, RFC 8693 §4.1).
    claims: Mapping[str, Any] = field(default_factory=dict)
    #: ``False`` for a JWT whatever ``access_token_format`` says (RFC 8693 ``jwt``).
    opaque: bool | None = None
    #: Claims the login added to the user's: in the ID token and userinfo.
    login_claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TokenResponse:
    """The members of a successful token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: tuple[str, ...] = ()
    refresh_token: str | None = None
    id_token: str | None = None
    issued_token_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        if self.issued_token_type:
            body["issued_token_type"] = self.issued_token_type
        if self.scope:
            body["scope"] = " ".join(self.scope)
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.id_token:
            body["id_token"] = self.id_token
        body.update(self.extra)
        return body


def issue(
    s: Services, grant: TokenGrant, constraint: SenderConstraint | None = None
) -> TokenResponse:
    """Mint the tokens ``grant`` earns, bound by ``constraint`` (by default the
    token request's: DPoP when it sent a proof). Without rotation, a redeemed
    refresh token is handed back unchanged (RFC 6749 §6). A public client's
    refresh token is bound to its DPoP key too (RFC 9449 §5).
    """
    if constraint is None:
        constraint = current_constraint()
    client = grant.client
    user = s.users.find(grant.sub) if grant.user_bound else None
    access_token, record = s.tokens.access_token(
        client_id=client.client_id,
        sub=grant.sub,
        scope=grant.scope,
        audience=grant.audience,
        grant_id=grant.grant_id,
        auth_time=grant.auth_time,
        username=user.username if user else None,
        extra_claims={**client.extra_claims, **grant.claims},
        constraint=constraint,
        user=user,
        opaque=grant.opaque,
        login_claims=grant.login_claims,
    )
    response = TokenResponse(
        access_token=access_token,
        token_type=constraint.token_type,
        expires_in=int(record.expires_at - record.issued_at),
        scope=grant.scope,
        issued_token_type=grant.issued_token_type,
    )
    settings = s.config.tokens
    refresh = grant.refresh
    if (
        grant.user_bound
        and grant.refreshable
        and settings.issue_refresh_tokens
        and client.allows_grant("refresh_token")
        and (
            not settings.refresh_tokens_need_offline_access
            or "offline_access" in (refresh.scope if refresh is not None else grant.scope)
        )
    ):
        if refresh is not None and not settings.rotate_refresh_tokens:
            response.refresh_token = refresh.token
        else:
            # RFC 6749 §6: a rotated refresh token keeps the original grant's scope.
            original = refresh.scope if refresh is not None else grant.scope
            new = s.tokens.refresh_token(
                grant_id=grant.grant_id,
                client_id=client.client_id,
                sub=grant.sub,
                scope=original,
                auth_time=grant.auth_time,
                audience=grant.granted_audience or grant.audience,
                resources=grant.resources,
                sid=grant.sid,
                jkt=constraint.jkt if client.public else None,
                login_claims=grant.login_claims,
            )
            response.refresh_token = new.token
    if grant.user_bound and grant.with_id_token and "openid" in grant.scope:
        response.id_token = id_token_for(
            s, client, grant.sub, grant.scope, grant.auth_time, user,
            extra=grant.login_claims, nonce=grant.nonce, access_token=access_token,
            sid=grant.sid,
        )  # fmt: skip
    return response


def id_token_for(
    s: Services,
    client: Client,
    sub: str,
    scope: tuple[str, ...],
    auth_time: int | None,
    user: User | None,
    *,
    extra: Mapping[str, Any] | None = None,
    nonce: str | None = None,
    access_token: str | None = None,
    sid: str | None = None,
) -> str:
    """An ID token for ``client`` about ``sub``, with the user claims ``scope``
    releases (OIDC Core §5.4) and ``extra`` claims, in the client's algorithm.
    """
    claims = {**claims_for_scopes(user, sub, scope), **(extra or {})}
    claims.pop("sub")
    return s.tokens.id_token(
        client_id=client.client_id,
        client_secret=client.client_secret,
        sub=sub,
        auth_time=auth_time,
        alg=client.id_token_signed_response_alg,
        nonce=nonce,
        access_token=access_token,
        sid=sid,
        claims=claims,
        user=user,
    )
