"""Token endpoint grants, one module per grant type (RFC 6749 §4)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..clients import Client
from ..errors import InvalidScope, InvalidTarget
from ..http import Params
from ..store import RefreshRecord
from ..users import claims_for_scopes

if TYPE_CHECKING:
    from ..provider import Provider

__all__ = ["GRANTS", "Grant", "issue_tokens", "parse_scope", "resolve_audience"]

Grant = Callable[["Provider", Client, Params], dict[str, Any]]

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse_scope(value: str | None) -> tuple[str, ...]:
    """Split a ``scope`` parameter into tokens, in order, without repeats (RFC 6749 §3.3)."""
    if not value:
        return ()
    tokens: list[str] = []
    for token in value.split(" "):
        if not token:
            continue
        if not _SCOPE_TOKEN.match(token):
            raise InvalidScope("scope contains characters RFC 6749 §3.3 does not allow")
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def check_scope(client: Client, scope: tuple[str, ...]) -> None:
    if not client.scopes_allowed(scope):
        extra = sorted(set(scope) - (client.allowed_scopes or set()))
        raise InvalidScope(f"scope not allowed for this client: {' '.join(extra)}")


def resolve_audience(client: Client, params: Params) -> tuple[str, ...]:
    """The access token audience: ``resource`` (RFC 8707) or ``audience`` if sent,
    else the client's registered audience, else the client id.
    """
    resources = params.getlist("resource")
    for resource in resources:
        try:
            parts = urlsplit(resource)
        except ValueError:  # "http://[x"
            raise InvalidTarget("resource is not a URI (RFC 8707 §2)") from None
        if not parts.scheme or parts.fragment or "#" in resource:
            raise InvalidTarget("resource must be an absolute URI without a fragment (RFC 8707 §2)")
    requested = tuple(resources) or tuple((params.get("audience") or "").split())
    if requested:
        if client.audience and not set(requested) <= set(client.audience):
            raise InvalidTarget("audience not registered for this client")
        return requested
    return client.audience or (client.client_id,)


def new_grant_id() -> str:
    return uuid.uuid4().hex


def issue_tokens(
    provider: Provider,
    client: Client,
    *,
    sub: str,
    scope: tuple[str, ...],
    audience: tuple[str, ...],
    grant_id: str,
    auth_time: int | None,
    user_bound: bool,
    nonce: str | None = None,
    sid: str | None = None,
    refresh: RefreshRecord | None = None,
) -> dict[str, Any]:
    """The token response of RFC 6749 §5.1 (plus ``id_token``, OIDC Core §3.1.3.3).

    ``refresh`` is the refresh token being redeemed, if any: without rotation
    it is handed back unchanged.
    """
    user = provider.find_user(sub) if user_bound else None
    extra = dict(client.extra_claims)
    access_token, record = provider.tokens.access_token(
        client_id=client.client_id,
        sub=sub,
        scope=scope,
        audience=audience,
        grant_id=grant_id,
        auth_time=auth_time,
        username=user.username if user else None,
        extra_claims=extra,
    )
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": int(record.expires_at - record.issued_at),
    }
    if scope:
        body["scope"] = " ".join(scope)
    tokens_config = provider.config.tokens
    if user_bound and tokens_config.issue_refresh_tokens and client.allows_grant("refresh_token"):
        if refresh is not None and not tokens_config.rotate_refresh_tokens:
            body["refresh_token"] = refresh.token
        else:
            # RFC 6749 §6: a rotated refresh token keeps the original grant's scope.
            original = refresh.scope if refresh is not None else scope
            new = provider.tokens.refresh_token(
                grant_id=grant_id,
                client_id=client.client_id,
                sub=sub,
                scope=original,
                auth_time=auth_time,
                audience=audience,
                sid=sid,
            )
            body["refresh_token"] = new.token
    if user_bound and "openid" in scope:
        claims = claims_for_scopes(user, sub, scope)
        claims.pop("sub")
        body["id_token"] = provider.tokens.id_token(
            client_id=client.client_id,
            client_secret=client.client_secret,
            sub=sub,
            auth_time=auth_time,
            alg=client.id_token_signed_response_alg,
            nonce=nonce,
            access_token=access_token,
            sid=sid,
            claims=claims,
        )
    return body


def _load() -> dict[str, Grant]:
    from . import authorization_code, client_credentials, password, refresh_token

    return {
        "authorization_code": authorization_code.grant,
        "client_credentials": client_credentials.grant,
        "refresh_token": refresh_token.grant,
        "password": password.grant,
    }


GRANTS: dict[str, Grant] = {}


def grant_for(name: str) -> Grant | None:
    if not GRANTS:
        GRANTS.update(_load())
    return GRANTS.get(name)
