"""A resource server that accepts only valid bearer JWT access tokens.

A small WSGI application (werkzeug) protecting one resource, ``GET /me``. It
validates JWT access tokens as RFC 9068 §4 asks, with PyJWT and the
provider's JWKS:

* ``typ`` is ``at+jwt``, so an ID token is not taken for an access token;
* the signature verifies with the published key the ``kid`` names, under the
  algorithm that key is published for, never the one the token claims;
* ``iss`` is the provider and ``aud`` names this API;
* ``exp``, ``nbf`` and ``iat`` hold against the server's clock, without leeway;
* the token grants the scope the resource needs, and ``sub`` is a known account.

Failures answer as RFC 6750 §3 says: 401 with ``WWW-Authenticate: Bearer``
and ``error="invalid_token"`` (no error code when no token was sent), 403 with
``error="insufficient_scope"``. When the keys cannot be fetched the answer is
503: that is not the caller's fault.

The clock is a parameter so tests move time instead of sleeping; PyJWT's own
time checks are off because they read the wall clock.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import jwt
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

__all__ = ["ResourceServer"]

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §2.1
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]  # RFC 9068 §2.2
# RFC 6750 §3: error_description is printable ASCII without '"' and '\'.
_NOT_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not meant for this API."""


class KeysUnavailable(Exception):
    """The provider's JWKS could not be fetched."""


class ResourceServer:
    """``GET /me`` answers the caller's account for a token granting ``scope``.

    ``jwks`` is a :class:`jwt.PyJWKClient` for the provider's ``jwks_uri``;
    ``accounts`` maps ``sub`` to what ``/me`` returns; ``clock`` returns POSIX
    seconds.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: jwt.PyJWKClient,
        accounts: Mapping[str, Mapping[str, Any]],
        scope: str = "profile:read",
        clock: Callable[[], float] = time.time,
        realm: str = "api",
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.accounts = accounts
        self.scope = scope
        self.clock = clock
        self.realm = realm

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path != "/me":
            return _json({"error": "not_found"}, 404)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.challenge(401)
        try:
            claims = self.validate(token.strip())
        except KeysUnavailable:
            return _json({"error": "temporarily_unavailable"}, 503)
        except InvalidToken as exc:
            return self.challenge(401, "invalid_token", str(exc))
        account = self.accounts.get(claims["sub"])
        if account is None:
            return self.challenge(401, "invalid_token", "unknown subject")
        granted = claims.get("scope")
        if not isinstance(granted, str) or self.scope not in granted.split():
            return self.challenge(403, "insufficient_scope", scope=self.scope)
        return _json({"sub": claims["sub"], **account})

    def validate(self, token: str) -> dict[str, Any]:
        """The token's claims, if it is a valid access token for this API (RFC 9068 §4)."""
        try:
            header = jwt.get_unverified_header(token)
            if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
                raise InvalidToken("not a JWT access token (typ)")
            key = self.signing_key(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                issuer=self.issuer,
                audience=self.audience,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": False,  # checked below against self.clock
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        self.check_times(claims)
        return claims

    def signing_key(self, token: str) -> jwt.PyJWK:
        try:
            return self.jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable from exc
        except json.JSONDecodeError as exc:  # PyJWT lets a non-JSON JWKS through as this
            raise KeysUnavailable from exc

    def check_times(self, claims: Mapping[str, Any]) -> None:
        """RFC 7519 §4.1.4-4.1.6 with no leeway: now < exp, nbf <= now, iat <= now."""
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidToken(f"{name} is not a number")
        now = self.clock()
        if now >= claims["exp"]:
            raise InvalidToken("token expired")
        if now < claims.get("nbf", now):
            raise InvalidToken("token not valid yet")
        if now < claims["iat"]:
            raise InvalidToken("token issued in the future")

    def challenge(
        self, status: int, error: str | None = None, description: str | None = None, **extra: str
    ) -> Response:
        """A ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3)."""
        params = {"realm": self.realm}
        if error:
            params["error"] = error
        if description:
            params["error_description"] = _NOT_IN_DESCRIPTION.sub("", description)
        params.update(extra)
        response = Response(status=status)
        response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(
            f'{name}="{value}"' for name, value in params.items()
        )
        return response


def _json(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
