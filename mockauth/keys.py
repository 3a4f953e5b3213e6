"""Signing keys: generation (once per process), JWKS export and rotation.

Keys are generated lazily and cached per process, keyed by algorithm and
generation: a fresh provider per test costs no key generation after the first
(RSA-2048 takes about 30 ms). Every ``kid`` starts with ``mockauth-``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .config import SIGNING_ALGS
from .errors import MockauthError

__all__ = ["ALGORITHMS", "Algorithm", "KeySet", "SigningKey", "algorithm", "b64url"]


# RFC 7638 §3.2: the members that make up a JWK thumbprint, per key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """One key: ``key`` signs (a private key, or the secret bytes for HS256)."""

    kid: str
    alg: str
    key: Any
    public_jwk: dict[str, Any] | None = field(repr=False)

    @property
    def symmetric(self) -> bool:
        """HS256 keys are shared secrets and never published in the JWKS."""
        return self.public_jwk is None

    @property
    def verify_key(self) -> Any:
        """What verifies this key's signatures."""
        return self.key if self.symmetric else self.key.public_key()


def _rsa() -> Any:
    # cryptography and PyJWT load on first use: `mockauth serve` answers discovery without them.
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _p256() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _ed25519() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate()


def _secret() -> bytes:
    return secrets.token_bytes(32)


class Algorithm(NamedTuple):
    """A signing algorithm the provider offers (RFC 7518 §3.1, RFC 8037 §3.1)."""

    name: str
    #: The key type of its JWKs (RFC 7517 §4.1); ``oct`` keys are never published.
    kty: str
    #: Makes a new private key (or secret).
    generate: Callable[[], Any]
    #: The hash ``at_hash`` / ``c_hash`` take (OIDC Core §3.1.3.6); Ed25519 uses
    #: SHA-512 (OIDC Core errata set 2).
    hash: str


#: Every algorithm tokens may be signed with: the one table key generation,
#: JWKs and the ID-token hashes read.
ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("RS256", "RSA", _rsa, "sha256"),
        Algorithm("PS256", "RSA", _rsa, "sha256"),
        Algorithm("ES256", "EC", _p256, "sha256"),
        Algorithm("EdDSA", "OKP", _ed25519, "sha512"),
        Algorithm("HS256", "oct", _secret, "sha256"),
    )
}


def algorithm(alg: str) -> Algorithm:
    """The table entry for ``alg``; :class:`MockauthError` for one the provider lacks."""
    found = ALGORITHMS.get(alg)
    if found is None:
        raise MockauthError(f"unsupported signing algorithm {alg!r}; use one of {SIGNING_ALGS}")
    return found


def _public_jwk(alg: str, key: Any) -> dict[str, Any]:
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    exporters: dict[str, Any] = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm}
    jwk: dict[str, Any] = exporters[algorithm(alg).kty].to_jwk(key.public_key(), as_dict=True)
    # key_ops beside use makes cryptojwt/idpyoidc reject the whole set.
    jwk.pop("key_ops", None)
    return jwk


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256)."""
    members = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


_cache: dict[tuple[str, int], SigningKey] = {}
_cache_lock = threading.Lock()


def process_key(alg: str, generation: int = 0) -> SigningKey:
    """The process-wide key for ``alg`` and ``generation``, made on first use."""
    cache_key = (alg, generation)
    found = _cache.get(cache_key)
    if found is not None:
        return found
    with _cache_lock:
        found = _cache.get(cache_key)
        if found is None:
            raw = algorithm(alg).generate()
            if algorithm(alg).kty == "oct":
                kid = f"mockauth-hs256-{b64url(hashlib.sha256(raw).digest())[:16]}"
                found = SigningKey(kid, alg, raw, None)
            else:
                jwk = _public_jwk(alg, raw)
                kid = f"mockauth-{alg.lower()}-{_thumbprint(jwk)[:16]}"
                jwk.update(kid=kid, alg=alg, use="sig")
                found = SigningKey(kid, alg, raw, jwk)
            _cache[cache_key] = found
    return found


class KeySet:
    """A provider's keys: one active key per algorithm, older ones kept until retired.

    OIDC Core §10.1.1: after a rotation the previous key stays in the JWKS so
    tokens it signed still verify.
    """

    def __init__(self, default_alg: str) -> None:
        if default_alg not in SIGNING_ALGS:
            raise MockauthError(f"unsupported signing algorithm {default_alg!r}")
        self.default_alg = default_alg
        self._lock = threading.Lock()
        self._next_generation: dict[str, int] = {}
        self._keys: list[SigningKey] = []  # oldest first; the last of an alg is active
        self._by_kid: dict[str, SigningKey] = {}
        self._active: dict[str, SigningKey] = {}

    def _add(self, alg: str) -> SigningKey:
        generation = self._next_generation.get(alg, 0)
        self._next_generation[alg] = generation + 1
        key = process_key(alg, generation)
        self._keys.append(key)
        self._by_kid[key.kid] = key
        self._active[alg] = key
        return key

    def active(self, alg: str | None = None) -> SigningKey:
        """The key new tokens of ``alg`` (default: the provider's) are signed with."""
        alg = alg or self.default_alg
        key = self._active.get(alg)
        if key is None:
            if alg not in SIGNING_ALGS:
                raise MockauthError(f"unsupported signing algorithm {alg!r}")
            with self._lock:
                key = self._active.get(alg) or self._add(alg)
        return key

    def get(self, kid: str) -> SigningKey | None:
        """A published (not retired) key by ``kid``."""
        if not self._keys:
            self.active()
        return self._by_kid.get(kid)

    def rotate(self, alg: str | None = None) -> SigningKey:
        """Make a new key active for ``alg``; the old one stays until :meth:`retire`."""
        alg = alg or self.default_alg
        self.active(alg)
        with self._lock:
            return self._add(alg)

    def retire(self, kid: str) -> None:
        """Remove a key from the set; tokens it signed no longer verify."""
        with self._lock:
            key = self._by_kid.pop(kid, None)
            if key is None:
                raise MockauthError(f"no key with kid {kid!r}")
            self._keys.remove(key)
            if self._active.get(key.alg) is key:
                rest = [k for k in self._keys if k.alg == key.alg]
                if rest:
                    self._active[key.alg] = rest[-1]
                else:
                    del self._active[key.alg]

    @property
    def keys(self) -> list[SigningKey]:
        """Every published key, oldest first."""
        if not self._keys:
            self.active()
        return list(self._keys)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set (RFC 7517 §5): asymmetric keys only, no private parts."""
        return {"keys": [dict(k.public_jwk) for k in self.keys if k.public_jwk is not None]}
