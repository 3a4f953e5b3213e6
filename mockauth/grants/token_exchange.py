"""Token exchange (RFC 8693): a token presented for another, for a narrower
audience, scope or type, on the subject's behalf (impersonation) or by an
actor for it (delegation).

The subject token (and the actor token, if any) is verified, never just read:
the provider's own access, refresh and ID tokens by its own records and keys;
JWTs of an issuer in ``trusted_issuers`` by that issuer's keys. What can be
asked for (``requested_token_type``, RFC 8693 §3): an access token (the
default) or a ``jwt`` (an access token that is always a JWT), both with
``token_type`` ``Bearer``; an ``id_token`` or a ``refresh_token``, both with
``token_type`` ``N_A`` (§2.2.1). Delegation puts the actor in the ``act``
claim, nesting the subject token's own ``act`` (§4.1); a subject token's
``may_act`` (§4.4) names who may act for it. Bad or refused tokens are
``invalid_request``; an audience or resource the client may not have is
``invalid_target`` (§2.2.2). Clients use the grant only when registered for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import jose
from ..errors import InvalidRequest, InvalidScope, InvalidTarget, InvalidToken, OAuthError
from ..tokens.response import TokenGrant, TokenResponse, id_token_for, issue
from . import Grant, register_grant
from .common import check_scope, new_grant_id, parse_scope, requested_targets, resolve_audience

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services

__all__ = [
    "ACCESS_TOKEN",
    "GRANT_TYPE",
    "ID_TOKEN",
    "JWT",
    "REFRESH_TOKEN",
    "TOKEN_TYPES",
    "Presented",
    "TokenExchangeGrant",
]

#: RFC 8693 §2.1.
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
_PREFIX = "urn:ietf:params:oauth:token-type:"
#: Token type identifiers (RFC 8693 §3).
ACCESS_TOKEN = _PREFIX + "access_token"
REFRESH_TOKEN = _PREFIX + "refresh_token"
ID_TOKEN = _PREFIX + "id_token"
JWT = _PREFIX + "jwt"
_SAML = (_PREFIX + "saml1", _PREFIX + "saml2")


@dataclass(frozen=True)
class Presented:
    """A verified subject or actor token: who it is about and what it carries."""

    sub: str
    iss: str
    #: The scope the token carries (``None`` when it carries none, as ID tokens).
    scope: tuple[str, ...] | None
    claims: Mapping[str, Any] = field(default_factory=dict)
    #: The client it was issued to (the provider's own tokens).
    client_id: str | None = None
    auth_time: int | None = None


_Verifier = Callable[["Services", "Client", str, str], Presented]


def _refused(role: str, exc: OAuthError) -> InvalidRequest:
    return InvalidRequest(f"the {role} is invalid: {exc.description or exc.error}")


def _scope_of(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    scope = claims.get("scope", claims.get("scp"))
    if isinstance(scope, str):
        return tuple(scope.split())
    if isinstance(scope, list) and all(isinstance(x, str) for x in scope):
        return tuple(scope)
    return None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _is_own_jwt(s: Services, token: str) -> bool | None:
    """Whether ``token`` is a JWT naming this provider as ``iss`` (``None``: not a JWT)."""
    if token.count(".") != 2:
        return None
    try:
        iss = jose.unverified_claims(token).get("iss")
    except InvalidToken:
        return None
    return iss in s.issuers()


def _external(s: Services, token: str, role: str) -> Presented:
    trusted = s.trusted.for_token(token, InvalidRequest, f"the {role}")
    claims = trusted.verify(
        token, now=s.clock.now(), require=("iss", "sub", "exp"), error=InvalidRequest,
        what=f"the {role}",
    )  # fmt: skip
    return Presented(
        sub=claims["sub"],
        iss=trusted.issuer,
        scope=_scope_of(claims),
        claims=claims,
        auth_time=_int_or_none(claims.get("auth_time")),
    )


def _own_jwt(s: Services, token: str, role: str) -> Presented:
    try:
        claims = s.tokens.decode(token, client_secret=s.clients.secret)
    except InvalidToken as exc:
        raise _refused(role, exc) from None
    jti = claims.get("jti")
    record = s.store.access_by_jti(jti) if isinstance(jti, str) else None
    if record is not None and (record.revoked or s.store.grant_revoked(record.grant_id)):
        raise InvalidRequest(f"the {role} has been revoked")
    sub = claims.get("sub")
    if not isinstance(sub, str):
        raise InvalidRequest(f"the {role} has no sub")
    return Presented(
        sub=sub,
        iss=s.issuer,
        scope=_scope_of(claims),
        claims=claims,
        client_id=claims.get("client_id") or claims.get("azp"),
        auth_time=_int_or_none(claims.get("auth_time")),
    )


def _access_token(s: Services, client: Client, token: str, role: str) -> Presented:
    if _is_own_jwt(s, token) is False:
        return _external(s, token, role)
    try:
        record = s.tokens.verify_access_token(token)
    except InvalidToken as exc:
        raise _refused(role, exc) from None
    return Presented(
        sub=record.sub,
        iss=s.issuer,
        scope=record.scope,
        claims=record.claims,
        client_id=record.client_id,
        auth_time=_int_or_none(record.claims.get("auth_time")),
    )


def _refresh_token(s: Services, client: Client, token: str, role: str) -> Presented:
    record = s.store.refresh.items.get(token)
    now = s.clock.now()
    if record is None:
        raise InvalidRequest(f"the {role} is not a refresh token of this provider")
    if record.client_id != client.client_id:
        raise InvalidRequest(f"the {role} was issued to another client")
    if s.store.grant_revoked(record.grant_id) or record.used:
        raise InvalidRequest(f"the {role} has been revoked or used")
    if record.expires_at <= now:
        raise InvalidRequest(f"the {role} has expired")
    return Presented(
        sub=record.sub, iss=s.issuer, scope=record.scope, client_id=record.client_id,
        auth_time=record.auth_time,
    )  # fmt: skip


def _jwt(s: Services, client: Client, token: str, role: str) -> Presented:
    own = _is_own_jwt(s, token)
    if own is None:
        raise InvalidRequest(f"the {role} is not a JWT")
    return _own_jwt(s, token, role) if own else _external(s, token, role)


#: What each presentable token type is verified by (RFC 8693 §3).
TOKEN_TYPES: dict[str, _Verifier] = {
    ACCESS_TOKEN: _access_token,
    REFRESH_TOKEN: _refresh_token,
    ID_TOKEN: _jwt,
    JWT: _jwt,
}


def _presented(s: Services, client: Client, params: Params, role: str) -> Presented | None:
    token = params.get(role)
    token_type = params.get(f"{role}_type")
    if token is None:
        if token_type is not None and role == "actor_token":
            raise InvalidRequest(
                "actor_token_type is sent only with an actor_token (RFC 8693 §2.1)"
            )
        if role == "subject_token":
            raise InvalidRequest("missing parameter: subject_token")
        return None
    if token_type is None:
        raise InvalidRequest(f"missing parameter: {role}_type")
    verifier = TOKEN_TYPES.get(token_type)
    if verifier is None:
        what = (
            "SAML assertions are not supported here"
            if token_type in _SAML
            else ("not a token type this server knows (RFC 8693 §3)")
        )
        raise InvalidRequest(f"{role}_type {token_type[:80]!r}: {what}")
    if len(token) > 16_384:
        raise InvalidRequest(f"the {role} is too long")
    return verifier(s, client, token, role)


def _check_may_act(
    subject: Presented, actor: Presented | None, client: Client, s: Services
) -> None:
    """RFC 8693 §4.4: a subject token's ``may_act`` names who may act for its subject."""
    may_act = subject.claims.get("may_act")
    if may_act is None:
        return
    if not isinstance(may_act, Mapping):
        raise InvalidRequest("the subject_token's may_act is not an object")
    acting = (
        {"sub": actor.sub, "iss": actor.iss}
        if actor
        else {"sub": client.client_id, "iss": s.issuer}
    )
    for name in ("sub", "iss"):
        if name in may_act and may_act[name] != acting[name]:
            who = "the actor_token's" if actor else "the client's"
            raise InvalidRequest(f"the subject_token's may_act does not name {who} {name}")


def _act(subject: Presented, actor: Presented | None, s: Services) -> dict[str, Any]:
    """The ``act`` claim (RFC 8693 §4.1): the actor, with earlier actors nested."""
    prior = subject.claims.get("act")
    if actor is None:
        return {"act": prior} if isinstance(prior, Mapping) else {}
    act: dict[str, Any] = {"sub": actor.sub}
    if actor.iss != s.issuer:
        act["iss"] = actor.iss
    if isinstance(prior, Mapping):
        act["act"] = prior
    return {"act": act}


def _scope(s: Services, client: Client, params: Params, subject: Presented) -> tuple[str, ...]:
    requested = parse_scope(params.get("scope"))
    if requested:
        if subject.scope is not None and not set(requested) <= set(subject.scope):
            wider = " ".join(x for x in requested if x not in subject.scope)
            raise InvalidScope(f"an exchange cannot widen the subject_token's scope: {wider}")
        check_scope(client, requested)
        return requested
    base = subject.scope if subject.scope is not None else parse_scope(client.default_scope)
    return tuple(x for x in base if client.scopes_allowed((x,)))


class TokenExchangeGrant(Grant):
    """RFC 8693 §2: verify the subject (and actor) token, then issue the requested type."""

    grant_type = GRANT_TYPE
    by_default = False
    secret_params = frozenset({"subject_token", "actor_token"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        requested_type = params.get("requested_token_type") or ACCESS_TOKEN
        if requested_type not in (ACCESS_TOKEN, JWT, ID_TOKEN, REFRESH_TOKEN):
            raise InvalidRequest(
                f"requested_token_type {requested_type[:80]!r} cannot be issued here "
                f"(one of {', '.join((ACCESS_TOKEN, JWT, ID_TOKEN, REFRESH_TOKEN))})"
            )
        subject = _presented(s, client, params, "subject_token")
        if subject is None:  # _presented refuses a missing subject_token; for the type checker
            raise InvalidRequest("missing parameter: subject_token")
        actor = _presented(s, client, params, "actor_token")
        _check_may_act(subject, actor, client, s)
        scope = _scope(s, client, params, subject)
        act = _act(subject, actor, s)
        if requested_type == ID_TOKEN:
            return self._id_token(s, client, params, subject, scope, act)
        if requested_type == REFRESH_TOKEN:
            return self._refresh_token(s, client, params, subject, scope, act)
        grant = TokenGrant(
            client=client,
            sub=subject.sub,
            scope=scope,
            audience=resolve_audience(client, params),
            grant_id=new_grant_id(),
            auth_time=subject.auth_time,
            user_bound=True,
            issued_token_type=requested_type,
            refreshable=False,
            with_id_token=False,
            claims=act,
            opaque=False if requested_type == JWT else None,
        )
        return issue(s, grant)

    @staticmethod
    def _id_token(
        s: Services, client: Client, params: Params, subject: Presented, scope: tuple[str, ...],
        act: dict[str, Any],
    ) -> TokenResponse:  # fmt: skip
        if requested_targets(params):
            raise InvalidTarget("an id_token is issued for the requesting client: leave out "
                                "audience and resource")  # fmt: skip
        user = s.users.find(subject.sub)
        token = id_token_for(s, client, subject.sub, scope, subject.auth_time, user, extra=act)
        ttl = s.config.tokens.id_token_ttl
        return TokenResponse(access_token=token, token_type="N_A", expires_in=ttl, scope=scope,
                             issued_token_type=ID_TOKEN)  # fmt: skip

    @staticmethod
    def _refresh_token(
        s: Services, client: Client, params: Params, subject: Presented, scope: tuple[str, ...],
        act: dict[str, Any],
    ) -> TokenResponse:  # fmt: skip
        if not client.allows_grant("refresh_token"):
            raise InvalidRequest("this client may not hold refresh tokens (grant_types)")
        if act:
            raise InvalidRequest("a refresh token cannot carry the act claim (RFC 8693 §4.1): "
                                 "ask for an access_token")  # fmt: skip
        record = s.tokens.refresh_token(
            grant_id=new_grant_id(),
            client_id=client.client_id,
            sub=subject.sub,
            scope=scope,
            auth_time=subject.auth_time,
            audience=resolve_audience(client, params),
            resources=requested_targets(params),
        )
        ttl = int(record.expires_at - s.clock.now())
        return TokenResponse(access_token=record.token, token_type="N_A", expires_in=ttl,
                             scope=scope, issued_token_type=REFRESH_TOKEN)  # fmt: skip


register_grant(TokenExchangeGrant())
