"""Minting and verifying tokens.

Access tokens follow RFC 9068 (``typ: at+jwt``) or are opaque; ID tokens
follow OIDC Core §2 and §3.1.3.6; refresh tokens are opaque. Every token the
provider issues is recorded, so userinfo, introspection and revocation judge
it by the provider's own memory and clock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import jose, notes
from ..clock import ClockLike
from ..config import SIGNING_ALGS, TokenConfig
from ..errors import InvalidToken, MockauthError
from ..ids import unique_hex
from ..keys import ALGORITHMS, KeySet, SigningKey, b64url
from ..store import AccessRecord, RefreshRecord, Store
from .binding import BEARER, SenderConstraint
from .claims import RFC9068, ClaimsContext, ClaimsPolicy

if TYPE_CHECKING:
    from ..users import User

__all__ = ["TokenService", "half_hash", "new_secret"]


def new_secret(nbytes: int = 32) -> str:
    """A fresh random value for codes and opaque tokens (≥ 128 bits, RFC 6749 §10.10)."""
    return secrets.token_urlsafe(nbytes)


def half_hash(value: str, alg: str) -> str:
    """``at_hash`` / ``c_hash``: left half of the hash matching ``alg`` (OIDC Core §3.1.3.6).

    The provider's algorithms name their hash in :data:`~mockauth.keys.ALGORITHMS`
    (Ed25519: SHA-512); others follow their name (``ES384``: SHA-384).
    """
    known = ALGORITHMS.get(alg)
    name = known.hash if known is not None else f"sha{alg[2:]}"
    digest = hashlib.new(name, value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


class TokenService:
    """Mints and verifies the tokens of one provider."""

    def __init__(
        self,
        *,
        issuer: Callable[[], str],
        keys: KeySet,
        clock: ClockLike,
        store: Store,
        config: TokenConfig,
        claims: ClaimsPolicy = RFC9068,
        issuers: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self._issuer = issuer
        #: The issuers a token of this provider may name (aliases of one issuer).
        self._issuers = issuers or (lambda: (issuer(),))
        self.keys = keys
        self.clock = clock
        self.store = store
        self.config = config
        self.claims = claims

    def _sign(self, claims: Mapping[str, Any], key: SigningKey, typ: str) -> str:
        headers = {"kid": key.kid, "typ": typ} if key.kid else {"typ": typ}
        import jwt

        return jwt.encode(dict(claims), key.key, algorithm=key.alg, headers=headers)

    def _key(self, alg: str | None, kid: str | None) -> SigningKey:
        if kid is None:
            return self.keys.active(alg)
        key = self.keys.get(kid)
        if key is None:
            raise MockauthError(f"no published key with kid {kid!r}")
        return key

    def id_token_key(self, alg: str | None, client_secret: str | None) -> SigningKey:
        """The key an ID token is signed with.

        HS256 ID tokens are keyed with the client's secret (OIDC Core §10.1) and
        carry no ``kid``; a client without a secret gets RS256 instead, which
        every OpenID provider supports (OIDC Discovery §3).
        """
        alg = alg or self.keys.default_alg
        if alg == "HS256":
            if client_secret:
                return SigningKey("", "HS256", client_secret.encode(), None)
            alg = "RS256"
        return self.keys.active(alg)

    def access_token(
        self,
        *,
        client_id: str,
        sub: str,
        scope: tuple[str, ...],
        audience: tuple[str, ...],
        grant_id: str | None = None,
        auth_time: int | None = None,
        username: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        expires_in: int | None = None,
        opaque: bool | None = None,
        alg: str | None = None,
        not_before: int | None = None,
        kid: str | None = None,
        constraint: SenderConstraint = BEARER,
        user: User | None = None,
        login_claims: Mapping[str, Any] | None = None,
    ) -> tuple[str, AccessRecord]:
        """A new access token (RFC 9068 §2.2 claims when it is a JWT), recorded.

        ``constraint`` binds it (``cnf``, RFC 7800); the claims policy has the
        last word on its claims.
        """
        now = self.clock.now()
        iat = int(now)
        lifetime = self.config.access_token_ttl if expires_in is None else expires_in
        jti = unique_hex()
        claims: dict[str, Any] = dict(extra_claims or {})
        claims.update(
            iss=self._issuer(),
            sub=sub,
            aud=audience[0] if len(audience) == 1 else list(audience),
            client_id=client_id,
            iat=iat,
            exp=iat + lifetime,
            jti=jti,
        )
        if scope:
            claims["scope"] = " ".join(scope)
        if auth_time is not None:
            claims["auth_time"] = auth_time
        if not audience:
            del claims["aud"]
        if not_before is not None:
            claims["nbf"] = iat + not_before
        constraint.confirm(claims)
        claims = self.claims.access_token(claims, ClaimsContext(client_id, sub, scope, user))
        if opaque is None:
            opaque = self.config.access_token_format == "opaque"
        token = new_secret() if opaque else self._sign(claims, self._key(alg, kid), "at+jwt")
        notes.issued("access_token", claims)
        record = AccessRecord(
            jti=jti,
            client_id=client_id,
            sub=sub,
            scope=scope,
            issued_at=iat,
            expires_at=iat + lifetime,
            audience=audience,
            grant_id=grant_id,
            username=username,
            opaque=token if opaque else None,
            claims=claims,
            token_type=constraint.token_type,
            login_claims=dict(login_claims or {}),
        )
        self.store.put_access(record, now)
        return token, record

    def id_token(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        sub: str,
        auth_time: int | None,
        nonce: str | None = None,
        access_token: str | None = None,
        code: str | None = None,
        sid: str | None = None,
        claims: Mapping[str, Any] | None = None,
        expires_in: int | None = None,
        alg: str | None = None,
        user: User | None = None,
    ) -> str:
        """An ID token (OIDC Core §2): ``nonce`` only when one was sent, hashes of siblings.

        With HS256 the client's secret is the key (OIDC Core §10.1).
        """
        key = self.id_token_key(alg, client_secret)
        iat = int(self.clock.now())
        body: dict[str, Any] = dict(claims or {})
        body.update(
            iss=self._issuer(),
            sub=sub,
            aud=client_id,
            azp=client_id,
            iat=iat,
            exp=iat + (self.config.id_token_ttl if expires_in is None else expires_in),
        )
        if auth_time is not None:
            body["auth_time"] = auth_time
        if nonce:
            body["nonce"] = nonce
        if sid:
            body["sid"] = sid
        if access_token:
            body["at_hash"] = half_hash(access_token, key.alg)
        if code:
            body["c_hash"] = half_hash(code, key.alg)
        body = self.claims.id_token(body, ClaimsContext(client_id, sub, (), user))
        notes.issued("id_token", body)
        return self._sign(body, key, "JWT")

    def refresh_token(
        self,
        *,
        grant_id: str,
        client_id: str,
        sub: str,
        scope: tuple[str, ...],
        auth_time: int | None,
        audience: tuple[str, ...] = (),
        resources: tuple[str, ...] = (),
        sid: str | None = None,
        expires_at: float | None = None,
        jkt: str | None = None,
        login_claims: Mapping[str, Any] | None = None,
    ) -> RefreshRecord:
        """A new opaque refresh token in the grant's family, recorded."""
        now = self.clock.now()
        record = RefreshRecord(
            token=new_secret(),
            grant_id=grant_id,
            client_id=client_id,
            sub=sub,
            scope=scope,
            auth_time=auth_time,
            audience=audience,
            resources=resources,
            sid=sid,
            jkt=jkt,
            login_claims=dict(login_claims or {}),
            expires_at=expires_at
            if expires_at is not None
            else now + self.config.refresh_token_ttl,
        )
        self.store.put_refresh(record, now)
        notes.issued(
            "refresh_token",
            {"sub": sub, "client_id": client_id, "scope": " ".join(scope),
             "exp": int(record.expires_at)},
        )  # fmt: skip
        return record

    def verify_access_token(self, token: str) -> AccessRecord:
        """The record of a live access token this provider issued, or :class:`InvalidToken`.

        JWTs are checked as RFC 8725 asks: a known ``kid``, the key's own
        algorithm (never ``none``), no unknown ``crit``, this issuer, and
        ``exp`` judged by the provider's clock.
        """
        if len(token) > 16_384:
            raise InvalidToken("the token is too long")
        record = self.store.access_by_opaque(token)
        if record is None:
            record = self._verify_jwt_access_token(token)
        if record.revoked or self.store.grant_revoked(record.grant_id):
            raise InvalidToken("the token has been revoked")
        now = self.clock.now()
        if record.expires_at <= now:
            raise InvalidToken("the token has expired")
        nbf = record.claims.get("nbf")
        if isinstance(nbf, int) and nbf > now:
            raise InvalidToken("the token is not valid yet (nbf)")
        return record

    def decode(
        self,
        token: str,
        *,
        verify_exp: bool = True,
        audience: str | None = None,
        client_secret: Callable[[str], str | None] | None = None,
    ) -> dict[str, Any]:
        """Verify a JWT signed by one of this provider's keys and return its claims.

        With ``client_secret`` (a look-up by client id), an HS256 token without
        ``kid`` is verified with the secret of the client it is for: an ID
        token keyed as OIDC Core §10.1 says.
        """
        resolve = self._resolver(client_secret)
        claims = jose.verify(
            token, resolve, algorithms=SIGNING_ALGS, issuer=self._issuers(), audience=audience
        )
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise InvalidToken("exp is not a number")
        if verify_exp and exp <= self.clock.now():
            raise InvalidToken("the token has expired")
        return claims

    def _resolver(self, client_secret: Callable[[str], str | None] | None) -> jose.KeyResolver:
        """The provider's published keys by ``kid``; with ``client_secret``, an HS256
        ID token without ``kid`` is keyed with its client's secret (OIDC Core §10.1).
        """

        def resolve(header: Mapping[str, Any], token: str) -> Any:
            kid, alg = header.get("kid"), header.get("alg")
            if alg == "HS256" and kid is None and client_secret is not None:
                return _client_secret_key(token, client_secret)
            if not isinstance(kid, str):
                raise InvalidToken("the token header lacks kid or alg")
            key = self.keys.get(kid)
            if key is None or key.alg != alg:
                raise InvalidToken("the token is not signed by a key of this issuer")
            return key.verify_key

        return resolve

    def _verify_jwt_access_token(self, token: str) -> AccessRecord:
        if token.count(".") != 2:
            raise InvalidToken("unknown token")
        # The token's own exp and nbf count too: a forged copy of a live token
        # (a scripted TokenFault) must not outlive what it claims.
        claims = self.decode(token)
        nbf = claims.get("nbf")
        if nbf is not None and (not isinstance(nbf, int | float) or nbf > self.clock.now()):
            raise InvalidToken("the token is not valid yet (nbf)")
        jti = claims.get("jti")
        record = self.store.access_by_jti(jti) if isinstance(jti, str) else None
        if record is None or record.opaque is not None:
            raise InvalidToken("this provider did not issue the token")
        return record


def _client_secret_key(token: str, client_secret: Callable[[str], str | None]) -> bytes:
    unverified = jose.unverified_claims(token)
    aud = unverified.get("aud")
    client_id = unverified.get("azp") or (aud[0] if isinstance(aud, list) and aud else aud)
    secret = client_secret(client_id) if isinstance(client_id, str) else None
    if not secret:
        raise InvalidToken("the token is not signed by a key of this issuer")
    return secret.encode()
