"""Client authentication by a signed JWT (RFC 7523 §2.2 and §3, OIDC Core §9):
``private_key_jwt`` (the client's own key, from its registered ``jwks``) and
``client_secret_jwt`` (HMAC with its secret).

What real clients send, accepted as they send it: ``aud`` the issuer (with or
without a trailing slash), the token endpoint or the endpoint being called;
float ``exp`` and ``iat``; ``typ`` absent, ``JWT`` or
``client-authentication+jwt``. Refused, each as ``invalid_client`` naming the
check: ``alg: none``, a symmetric algorithm for ``private_key_jwt`` (and an
asymmetric one for ``client_secret_jwt``), any algorithm other than the
client's registered ``token_endpoint_auth_signing_alg``, ``iss`` or ``sub``
other than the client id, an expired assertion, and one living longer than an
hour. Keys come from the client's ``jwks`` or its ``jwks_uri`` (fetched with
a short timeout, cached, fetched again for an unknown ``kid``). A ``jti``
seen before is journaled (an ``assertion_replayed`` event) and refused only
when the provider or the client asks for it: MSAL reuses one assertion, jti
and all, for up to nine minutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .. import notes
from ..endpoints import endpoints
from ..errors import InvalidClient, InvalidRequest
from ..jose import (
    ASYMMETRIC_ALGS,
    SYMMETRIC_ALGS,
    first_use,
    header_of,
    unverified_claims,
    verify_client_jwt,
)
from . import ClientAuthMethod, check_method, register_method

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params, Request
    from ..services import Services

__all__ = ["ASSERTION_TYPE", "MAX_LIFETIME", "ClientSecretJwt", "PrivateKeyJwt"]

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT assertion.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The longest an assertion may live, ``exp`` minus ``iat`` (seconds).
MAX_LIFETIME = 3600
_TYPES = ("", "jwt", "client-authentication+jwt")


class _JwtAssertion(ClientAuthMethod):
    algorithms: ClassVar[tuple[str, ...]]
    secret_params = frozenset({"client_assertion"})

    def presented(self, request: Request, params: Params) -> bool:
        assertion = params.get("client_assertion")
        if assertion is None and params.get("client_assertion_type") is None:
            return False
        if assertion is None:
            return self is _FIRST  # one method reports the missing assertion
        try:
            alg = header_of(assertion, InvalidClient).get("alg")
        except InvalidClient:
            return self is _FIRST  # one method reports the malformed assertion
        return alg in self.algorithms or (self is _FIRST and alg not in _ALL_ALGS)

    def authenticate(self, s: Services, request: Request, params: Params) -> Client:
        if params.get("client_assertion_type") != ASSERTION_TYPE:
            raise InvalidRequest(f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = params.require("client_assertion")
        claims = unverified_claims(assertion, InvalidClient)
        client_id = claims.get("sub")
        if not isinstance(client_id, str) or claims.get("iss") != client_id:
            raise InvalidClient("the assertion's iss and sub must both be the client id")
        if params.get("client_id") not in (None, client_id):
            raise InvalidClient("client_id differs from the assertion's sub")
        client = s.clients.get(client_id)
        if client is None:
            raise InvalidClient("unknown client")
        check_method(client, self.name)
        typ = str(header_of(assertion, InvalidClient).get("typ", "")).lower()
        if typ not in _TYPES:
            raise InvalidClient(f"the assertion's typ {typ[:40]!r} is not accepted")
        issuer = s.issuer.rstrip("/")
        # The issuer, or any endpoint of it that authenticates clients (the token
        # endpoint, as RFC 7523 §3 and OIDC Core §9 say, and the one being called).
        audience = [issuer, issuer + "/"] + [
            s.url_for(ep.name) for ep in endpoints() if ep.client_auth != "none"
        ]
        algorithms = self.algorithms
        if client.token_endpoint_auth_signing_alg:
            algorithms = (client.token_endpoint_auth_signing_alg,)
        claims = verify_client_jwt(
            assertion,
            client,
            audience=audience,
            now=s.clock.now(),
            fetcher=s.fetcher,
            algorithms=algorithms,
            require=("iss", "sub", "aud", "exp"),
            error=InvalidClient,
        )
        issued = claims.get("iat")
        start = float(issued) if isinstance(issued, int | float) else s.clock.now()
        if float(claims["exp"]) - start > MAX_LIFETIME:
            raise InvalidClient(f"the assertion may live {MAX_LIFETIME} s at most (exp - iat)")
        if not first_use(s.store, f"assertion\x00{client.client_id}", claims, s.clock.now(),
                         InvalidClient):  # fmt: skip
            refuse = client.reject_replayed_assertions
            if refuse is None:
                refuse = s.config.reject_replayed_assertions
            notes.event("assertion_replayed", client_id=client.client_id, jti=claims["jti"],
                        refused=refuse)  # fmt: skip
            if refuse:
                raise InvalidClient("the assertion's jti was used before (replay, RFC 7523 §3)")
        return client


class PrivateKeyJwt(_JwtAssertion):
    """OIDC Core §9 ``private_key_jwt``: signed with a key of the client's ``jwks``."""

    name = "private_key_jwt"
    algorithms = ASYMMETRIC_ALGS
    signing_algs = ASYMMETRIC_ALGS


class ClientSecretJwt(_JwtAssertion):
    """OIDC Core §9 ``client_secret_jwt``: an HMAC with the client's secret."""

    name = "client_secret_jwt"
    algorithms = SYMMETRIC_ALGS
    signing_algs = SYMMETRIC_ALGS


_FIRST = register_method(PrivateKeyJwt())
register_method(ClientSecretJwt())
_ALL_ALGS = frozenset(ASYMMETRIC_ALGS + SYMMETRIC_ALGS)
