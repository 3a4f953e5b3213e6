"""Minting tokens for tests, without a flow: what ``provider.issue_token()`` and
``provider.issue_id_token()`` do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ..errors import MockauthError

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["DEFAULT_CLIENT_ID", "AccessTokenOptions", "IdTokenOptions", "access_token", "id_token"]


class AccessTokenOptions(TypedDict, total=False):
    """The options of ``provider.issue_token()``."""

    client_id: str | None
    scope: str | Iterable[str]
    audience: str | Iterable[str] | None
    expires_in: int | None
    claims: Mapping[str, Any] | None
    opaque: bool | None
    alg: str | None
    kid: str | None
    not_before: int | None


class IdTokenOptions(TypedDict, total=False):
    """The options of ``provider.issue_id_token()``."""

    client_id: str | None
    nonce: str | None
    access_token: str | None
    expires_in: int | None
    claims: Mapping[str, Any] | None


#: The client id of minted tokens when none is given.
DEFAULT_CLIENT_ID = "mockauth"


def access_token(
    s: Services, subject: str | None = None, **options: Unpack[AccessTokenOptions]
) -> str:
    """An access token as the token endpoint would mint it, recorded (userinfo,
    introspection and revocation know it).

    ``client_id`` defaults to ``"mockauth"``, ``subject`` to the client id,
    ``audience`` to the client's registered audience, else the client id;
    ``expires_in`` may be negative (already expired), ``not_before`` (seconds
    from now) sets ``nbf``; ``alg`` picks the active key of an algorithm, ``kid``
    one published key.
    """
    unknown = set(options) - set(AccessTokenOptions.__annotations__)
    if unknown:
        raise TypeError(f"issue_token() got an unexpected keyword {sorted(unknown)[0]!r}")
    client_id = options.get("client_id") or DEFAULT_CLIENT_ID
    scope = options.get("scope", "")
    audience = options.get("audience")
    client = s.clients.registered(client_id)
    if audience is None:
        aud: tuple[str, ...] = (client.audience if client else ()) or (client_id,)
    else:
        aud = (audience,) if isinstance(audience, str) else tuple(audience)
    scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(scope)
    sub = subject or client_id
    user = s.users.find(sub, by_sub=True)
    token, _ = s.tokens.access_token(
        client_id=client_id,
        sub=sub,
        scope=scopes,
        audience=aud,
        username=user.username if user else None,
        extra_claims=options.get("claims"),
        expires_in=options.get("expires_in"),
        opaque=options.get("opaque"),
        alg=options.get("alg"),
        kid=options.get("kid"),
        not_before=options.get("not_before"),
        auth_time=int(s.clock.now()) if user else None,
        user=user,
    )
    return token


def id_token(s: Services, subject: str | None = None, **options: Unpack[IdTokenOptions]) -> str:
    """An ID token (OIDC Core §2) for ``subject`` (default: the default user)."""
    unknown = set(options) - set(IdTokenOptions.__annotations__)
    if unknown:
        raise TypeError(f"issue_id_token() got an unexpected keyword {sorted(unknown)[0]!r}")
    access_token = options.get("access_token")
    if access_token is not None and not (access_token.isascii() and access_token.isprintable()):
        # at_hash hashes the token's ASCII octets (OIDC Core §3.1.3.6)
        raise MockauthError("issue_id_token(): access_token must be visible ASCII characters")
    sub = subject or s.users.default().sub
    client_id = options.get("client_id") or DEFAULT_CLIENT_ID
    return s.tokens.id_token(
        client_id=client_id,
        client_secret=s.clients.secret(client_id),
        sub=sub,
        auth_time=int(s.clock.now()),
        nonce=options.get("nonce"),
        access_token=access_token,
        claims=options.get("claims"),
        expires_in=options.get("expires_in"),
        user=s.users.find(sub, by_sub=True),
    )
