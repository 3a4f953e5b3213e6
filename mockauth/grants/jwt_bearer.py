"""The JWT bearer grant (RFC 7523 §2.1): a JWT from a trusted issuer, exchanged
for an access token.

The assertion must be signed by a key of an issuer in ``trusted_issuers``
(its ``iss``), name a subject (``sub``) that issuer may assert, name this
provider in ``aud`` (the issuer, with or without a trailing slash, or the token
endpoint; or one of the trusted issuer's ``audiences``), and carry ``exp``
(RFC 7523 §3). It may live at most the issuer's ``max_lifetime`` ahead of the
provider clock; with the issuer's ``reject_replay`` a ``jti`` is used once.
Every failure is ``invalid_grant`` (§3.1) saying which check failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import jose, notes
from ..errors import InvalidGrant
from ..tokens.response import TokenGrant, TokenResponse, issue
from . import Grant, register_grant
from .common import check_scope, new_grant_id, parse_scope, resolve_audience

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services

__all__ = ["GRANT_TYPE", "JwtBearerGrant"]

#: RFC 7523 §2.1.
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def provider_audiences(s: Services) -> list[str]:
    """What ``aud`` may say to name this provider: its issuer (± a trailing slash)
    and its token endpoint (RFC 7523 §3 point 3).
    """
    issuer = s.issuer.rstrip("/")
    return [issuer, issuer + "/", s.url_for("token")]


class JwtBearerGrant(Grant):
    """Tokens for the assertion's subject, with no refresh token (the client can
    sign another assertion) and an ID token when ``openid`` is asked for.
    Clients use it only when registered for it (``grant_types``).
    """

    grant_type = GRANT_TYPE
    by_default = False
    secret_params = frozenset({"assertion"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        assertion = params.require("assertion")
        trusted = s.trusted.for_token(assertion, InvalidGrant, "the assertion")
        now = s.clock.now()
        claims = trusted.verify(
            assertion,
            now=now,
            audience=provider_audiences(s),
            require=("iss", "sub", "aud", "exp"),
            error=InvalidGrant,
            what="the assertion",
        )
        limit = trusted.config.max_lifetime
        if float(claims["exp"]) - now > limit:
            raise InvalidGrant(f"the assertion's exp is more than {limit} s ahead (max_lifetime)")
        owner = f"jwt-bearer\x00{trusted.issuer}"
        if not jose.first_use(s.store, owner, claims, now, InvalidGrant):
            refused = trusted.config.reject_replay
            notes.event("assertion_replayed", issuer=trusted.issuer, jti=claims["jti"],
                        refused=refused)  # fmt: skip
            if refused:
                raise InvalidGrant("the assertion's jti was used before (replay, RFC 7523 §3)")
        scope = parse_scope(params.get("scope") or client.default_scope)
        check_scope(client, scope)
        grant = TokenGrant(
            client=client,
            sub=claims["sub"],
            scope=scope,
            audience=resolve_audience(client, params),
            grant_id=new_grant_id(),
            auth_time=None,
            user_bound=True,
            refreshable=False,
        )
        return issue(s, grant)


register_grant(JwtBearerGrant())
