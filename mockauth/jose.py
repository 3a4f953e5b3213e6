"""Verifying JWTs: the one place a signature, its algorithm and its header are judged.

The provider's own tokens (``id_token_hint``, access tokens presented back)
are verified here against the provider's keys; JWTs signed by a *client* —
client assertions (RFC 7523 §3), JWT bearer grants (RFC 7523 §2.1), DPoP
proofs (RFC 9449 §4.3) — against the client's registered ``jwks`` or its
secret, with ``jti`` replay caught through the store. RFC 8725 throughout: an
allow-list of algorithms (never ``none``), the key's own algorithm, no unknown
``crit``; time is judged by the provider clock, not by PyJWT's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .config import ASYMMETRIC_ALGS, SYMMETRIC_ALGS
from .errors import InvalidToken, OAuthError
from .fetch import FetchError

if TYPE_CHECKING:
    from .clients import Client
    from .fetch import Fetcher
    from .store import Store

__all__ = [
    "ASYMMETRIC_ALGS",
    "SYMMETRIC_ALGS",
    "KeyResolver",
    "KeySource",
    "check_times",
    "client_key_resolver",
    "fetched_keys",
    "first_use",
    "header_of",
    "jwks_resolver",
    "static_keys",
    "verify",
    "verify_client_jwt",
]

#: JOSE header parameters understood here; a JWT naming any other in ``crit``
#: is rejected (RFC 7515 §4.1.11, RFC 8725 §3.1).
UNDERSTOOD_CRIT: frozenset[str] = frozenset()

#: ``resolve(header, token) -> verification key``; raises the caller's error.
KeyResolver = Callable[[Mapping[str, Any], str], Any]


def header_of(token: str, error: type[OAuthError] = InvalidToken) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified (to choose the key)."""
    import jwt

    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise error("the token is not a well-formed JWT") from None
    return header


def unverified_claims(token: str, error: type[OAuthError] = InvalidToken) -> dict[str, Any]:
    """The payload of a compact JWS, unverified (to find whose key signed it)."""
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise error("the token is not a well-formed JWT") from None
    return claims


def verify(
    token: str,
    resolve: KeyResolver,
    *,
    algorithms: Collection[str],
    issuer: str | Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    require: Sequence[str] = ("iss", "exp", "iat"),
    typ: str | None = None,
    error: type[OAuthError] = InvalidToken,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature, header and (if given) ``iss``
    and ``aud`` check out; times are left to :func:`check_times`.
    """
    import jwt

    header = header_of(token, error)
    alg = header.get("alg")
    crit = header.get("crit")
    if crit is not None and (not isinstance(crit, list) or set(crit) - UNDERSTOOD_CRIT):
        raise error("the token has critical header parameters this server does not understand")
    if not isinstance(alg, str) or alg == "none" or alg not in algorithms:
        raise error(f"the token's alg {str(alg)[:20]!r} is not accepted here")
    if typ is not None and str(header.get("typ", "")).lower() != typ.lower():
        raise error(f"the token's typ must be {typ!r}")
    key = resolve(header, token)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": audience is not None,
                "verify_iss": issuer is not None,
                "require": list(require),
            },
        )
    except jwt.InvalidAudienceError:
        accepted = [audience] if isinstance(audience, str) else list(audience or ())
        shown = ", ".join(accepted[:4]) + (", ..." if len(accepted) > 4 else "")
        raise error(f"the token is invalid: its audience (aud) is none of {shown}") from None
    except jwt.PyJWTError as exc:
        raise error(f"the token is invalid: {exc}") from None
    return claims


def check_times(
    claims: Mapping[str, Any],
    now: float,
    *,
    leeway: float = 0,
    error: type[OAuthError] = InvalidToken,
) -> None:
    """``exp`` must be a number still in the future, ``nbf`` (if any) in the past,
    judged by ``now`` (the provider clock).
    """
    exp = claims.get("exp")
    if "exp" in claims:
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise error("exp is not a number")
        if exp + leeway <= now:
            raise error("the token has expired")
    nbf = claims.get("nbf")
    if nbf is not None and (
        isinstance(nbf, bool) or not isinstance(nbf, int | float) or nbf - leeway > now
    ):
        raise error("the token is not valid yet (nbf)")


#: ``keys(refresh) -> JWKs``: a key set, fetched again when ``refresh`` is true.
KeySource = Callable[[bool], Sequence[Mapping[str, Any]]]


def static_keys(jwks: Mapping[str, Any] | None) -> KeySource:
    """The keys of a JWK Set given inline (nothing to refresh)."""
    keys = [k for k in (jwks or {}).get("keys", []) if isinstance(k, Mapping)]
    return lambda refresh: keys


def fetched_keys(
    fetcher: Fetcher, url: str, owner: str, error: type[OAuthError] = InvalidToken
) -> KeySource:
    """The keys of the JWK Set at ``url`` (cached by ``fetcher``); failures are
    ``error`` naming ``owner``'s ``jwks_uri`` and what went wrong.
    """

    def keys(refresh: bool) -> Sequence[Mapping[str, Any]]:
        try:
            document = fetcher.json(url, refresh=refresh)
        except FetchError as exc:
            raise error(f"{owner}'s jwks_uri: {exc}") from None
        found = document.get("keys")
        if not isinstance(found, list):
            raise error(f"{owner}'s jwks_uri did not answer a JWK Set (RFC 7517 §5)")
        return [k for k in found if isinstance(k, Mapping)]

    return keys


def jwks_resolver(
    source: KeySource, owner: str, error: type[OAuthError] = InvalidToken, *, refreshes: bool
) -> KeyResolver:
    """Keys of ``source`` by ``kid``; by ``x5t#S256`` or ``x5t`` when there is no
    ``kid`` (RFC 7515 §4.1.7-8; MSAL sends them), registered or computed from
    the key's ``x5c`` certificate; else the only key. A miss asks
    ``source`` again once when it ``refreshes`` (the other end rotated its keys).
    """

    def choose(header: Mapping[str, Any], keys: Sequence[Mapping[str, Any]]) -> Any:
        kid = header.get("kid")
        chosen = [k for k in keys if kid is not None and k.get("kid") == kid]
        thumbprints = [(n, header[n]) for n in ("x5t#S256", "x5t") if header.get(n)]
        if not chosen and kid is None and thumbprints:
            chosen = [
                k for k in keys for n, v in thumbprints
                if _thumbprint(k, n) == _unpadded(v)
            ][:1]  # fmt: skip
            if not chosen:
                shown = ", ".join(f"{n} {str(v)[:40]!r}" for n, v in thumbprints)
                return f"no key of {owner} has {shown}"
        if not chosen and kid is None and len(keys) == 1:
            chosen = list(keys)
        if not chosen:
            return f"no key of {owner} has kid {str(kid)[:40]!r}"
        return chosen[0]

    def resolve(header: Mapping[str, Any], token: str) -> Any:
        import jwt

        keys = source(False)
        chosen = choose(header, keys)
        if isinstance(chosen, str) and refreshes:
            keys = source(True)
            chosen = choose(header, keys)
        if not keys:
            raise error(f"{owner} has no keys to verify the token with")
        if isinstance(chosen, str):
            raise error(chosen)
        alg = header.get("alg")
        try:
            return jwt.PyJWK(dict(chosen), algorithm=str(alg)).key
        except jwt.PyJWTError as exc:
            raise error(f"the key of {owner} cannot verify {alg}: {exc}") from None

    return resolve


def _unpadded(value: object) -> str | None:
    """A base64url value compared as RFC 7515 §2 writes it: without padding (MSAL pads)."""
    return value.rstrip("=").replace("+", "-").replace("/", "_") if isinstance(value, str) else None


def _thumbprint(jwk: Mapping[str, Any], name: str) -> str | None:
    """A JWK's ``x5t#S256`` or ``x5t``: as registered, else computed from the
    first certificate of its ``x5c`` (RFC 7517 §4.7-9).
    """
    given = jwk.get(name)
    if isinstance(given, str):
        return _unpadded(given)
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        return None
    import base64
    import binascii
    import hashlib

    try:
        der = base64.b64decode(chain[0], validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.sha256(der) if name == "x5t#S256" else hashlib.sha1(der)  # noqa: S324
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def client_key_resolver(
    client: Client, error: type[OAuthError] = InvalidToken, fetcher: Fetcher | None = None
) -> KeyResolver:
    """Keys of ``client``: its registered ``jwks`` or the JWK Set at its
    ``jwks_uri`` (RFC 7591 §2, fetched through ``fetcher``), chosen as
    :func:`jwks_resolver` does; or its secret for HS* (RFC 7523 §3,
    ``client_secret_jwt``).
    """
    owner = "the client"
    if client.jwks_uri and fetcher is not None:
        by_key = jwks_resolver(
            fetched_keys(fetcher, client.jwks_uri, owner, error), owner, error, refreshes=True
        )
    else:
        by_key = jwks_resolver(static_keys(client.jwks), owner, error, refreshes=False)

    def resolve(header: Mapping[str, Any], token: str) -> Any:
        if header.get("alg") in SYMMETRIC_ALGS:
            if not client.client_secret:
                raise error("the client has no secret to verify an HMAC-signed token")
            return client.client_secret.encode()
        if not client.jwks and not (client.jwks_uri and fetcher is not None):
            raise error("the client has registered no jwks or jwks_uri to verify the token with")
        return by_key(header, token)

    return resolve


def verify_client_jwt(
    token: str,
    client: Client,
    *,
    audience: str | Sequence[str],
    now: float,
    fetcher: Fetcher | None = None,
    algorithms: Collection[str] = ASYMMETRIC_ALGS + SYMMETRIC_ALGS,
    require: Sequence[str] = ("iss", "sub", "aud", "exp", "jti"),
    leeway: float = 0,
    error: type[OAuthError] = InvalidToken,
) -> dict[str, Any]:
    """A JWT signed by ``client`` (RFC 7523 §3): signature by the client's key,
    ``aud`` naming this provider, a live ``exp``. Replay is the caller's call
    (:func:`first_use`).
    """
    claims = verify(
        token,
        client_key_resolver(client, error, fetcher),
        algorithms=algorithms,
        audience=audience,
        require=require,
        error=error,
    )
    check_times(claims, now, leeway=leeway, error=error)
    return claims


def first_use(
    store: Store,
    owner: str,
    claims: Mapping[str, Any],
    now: float,
    error: type[OAuthError] = InvalidToken,
) -> bool:
    """Whether the ``jti`` of a JWT from ``owner`` is new (RFC 7523 §3, RFC 7519
    §4.1.7); it is remembered until the JWT's ``exp``. A JWT without ``jti`` is new.
    """
    if "jti" not in claims:
        return True
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti:
        raise error("jti must be a non-empty string")
    exp = claims.get("exp")
    until = float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else now + 3600
    return store.first_use(f"{owner}\x00{jti}", until, now)
