"""The claims policy: what goes into an access token and an ID token.

The default is RFC 9068's JWT access-token profile and OIDC Core §2's ID
token, exactly as :class:`~mockauth.tokens.service.TokenService` assembles
them. A policy sees the assembled claims and who they are for, and returns the
claims to sign: a provider preset plugs a mapper in here (``scp`` lists,
``roles``, ``realm_access``, ``cognito:groups``, no ``aud``) without touching
the minting code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..users import User

__all__ = ["RFC9068", "ClaimsContext", "ClaimsPolicy", "Rfc9068Claims"]


@dataclass(frozen=True)
class ClaimsContext:
    """Who a token is for: the client, the subject, the granted scope, the user (if any)."""

    client_id: str
    sub: str
    scope: tuple[str, ...] = ()
    user: User | None = None


class ClaimsPolicy(Protocol):
    """Turns the assembled claims of a token into the claims that get signed."""

    def access_token(self, claims: dict[str, Any], context: ClaimsContext) -> dict[str, Any]: ...

    def id_token(self, claims: dict[str, Any], context: ClaimsContext) -> dict[str, Any]: ...


class Rfc9068Claims:
    """RFC 9068 §2.2 access tokens (``scope`` a space-separated string) and OIDC
    Core §2 ID tokens, unchanged.
    """

    def access_token(self, claims: dict[str, Any], context: ClaimsContext) -> dict[str, Any]:
        return claims

    def id_token(self, claims: dict[str, Any], context: ClaimsContext) -> dict[str, Any]:
        return claims

    def __repr__(self) -> str:
        return "Rfc9068Claims()"


#: The default policy.
RFC9068 = Rfc9068Claims()
