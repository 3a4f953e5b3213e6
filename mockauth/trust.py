"""Issuers this provider trusts: whose JWTs it accepts as JWT bearer grant
assertions (RFC 7523 §2.1) and as token exchange subject or actor tokens
(RFC 8693 §2.1).

Each is found by the token's ``iss`` (exact match) and verified with its own
keys: a JWK Set given inline or fetched from its ``jwks_uri`` (cached, fetched
again for an unknown ``kid``). Nothing is taken on trust from the token
itself: the signature, ``alg`` (the issuer's allow-list, never ``none`` or an
HMAC), ``exp`` and ``nbf`` on the provider clock, and the issuer's
``subjects`` all count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import jose
from .config import TrustedIssuerConfig, parse
from .errors import InvalidGrant, MockauthError, OAuthError
from .keyed import Keyed

if TYPE_CHECKING:
    from .fetch import Fetcher

__all__ = ["TrustedIssuer", "TrustedIssuers"]


class TrustedIssuer:
    """One trusted issuer and how its JWTs are verified."""

    def __init__(self, config: TrustedIssuerConfig, fetcher: Fetcher) -> None:
        self.config = config
        self._fetcher = fetcher

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def _resolver(self, error: type[OAuthError]) -> jose.KeyResolver:
        owner = f"trusted issuer {self.issuer}"
        if self.config.jwks_uri is not None:
            source = jose.fetched_keys(self._fetcher, self.config.jwks_uri, owner, error)
            return jose.jwks_resolver(source, owner, error, refreshes=True)
        return jose.jwks_resolver(jose.static_keys(self.config.jwks), owner, error, refreshes=False)

    def verify(
        self,
        token: str,
        *,
        now: float,
        audience: Sequence[str] | None = None,
        require: Sequence[str] = ("iss", "sub", "exp"),
        error: type[OAuthError] = InvalidGrant,
        what: str = "the token",
        subject_optional: bool = False,
    ) -> dict[str, Any]:
        """The claims of ``token`` once signed by this issuer's key with one of its
        algorithms, live on ``now``, for an allowed subject and (with
        ``audience``) naming one of those audiences or the issuer's ``audiences``.
        """
        allowed_aud = None
        if audience is not None:
            allowed_aud = [*audience, *self.config.audiences]
        claims = jose.verify(
            token,
            self._resolver(error),
            algorithms=self.config.algorithms,
            issuer=self.issuer,
            audience=allowed_aud,
            require=require,
            error=error,
        )
        jose.check_times(claims, now, error=error)
        subjects = self.config.subjects
        sub = claims.get("sub")
        if sub is None and subject_optional:
            return claims
        if not isinstance(sub, str) or not sub:
            raise error(f"{what}'s sub must be a non-empty string")
        if subjects is not None and sub not in subjects:
            raise error(f"{what}'s subject {sub[:60]!r} is not allowed for issuer {self.issuer}")
        return claims

    def __repr__(self) -> str:
        return f"<TrustedIssuer {self.issuer}>"


class TrustedIssuers(Keyed[TrustedIssuer]):
    """The trusted issuers of one provider, by issuer URL; changeable at runtime."""

    def __init__(self, configs: Sequence[TrustedIssuerConfig], fetcher: Fetcher) -> None:
        super().__init__()
        self._fetcher = fetcher
        for config in configs:
            self._items[config.issuer] = TrustedIssuer(config, fetcher)

    def add(self, config: TrustedIssuerConfig | None = None, /, **fields: Any) -> TrustedIssuer:
        """Trust an issuer (the fields of :class:`~mockauth.config.TrustedIssuerConfig`)."""
        if config is None:
            config = parse(TrustedIssuerConfig, fields)
        elif fields:
            raise MockauthError("pass a TrustedIssuerConfig or keyword fields, not both")
        trusted = TrustedIssuer(config, self._fetcher)
        if not self._put(config.issuer, trusted):
            raise MockauthError(f"issuer {config.issuer!r} is trusted already")
        if config.jwks_uri is not None:
            self._fetcher.forget(config.jwks_uri)
        return trusted

    def remove(self, issuer: str) -> None:
        if not self._drop(issuer):
            raise MockauthError(f"issuer {issuer!r} is not trusted")

    def get(self, issuer: object) -> TrustedIssuer | None:
        return self._items.get(issuer) if isinstance(issuer, str) else None

    def for_token(
        self, token: str, error: type[OAuthError] = InvalidGrant, what: str = "the token"
    ) -> TrustedIssuer:
        """The trusted issuer named by ``token``'s (unverified) ``iss``, or ``error``."""
        claims = jose.unverified_claims(token, error)
        iss = claims.get("iss")
        found = self.get(iss)
        if found is None:
            shown = str(iss)[:80] if iss is not None else "(none)"
            known = ", ".join(self._items) or "none configured"
            raise error(f"{what}'s issuer {shown!r} is not trusted (trusted_issuers: {known})")
        return found
