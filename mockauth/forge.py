"""Forged tokens: the broken JWTs a relying party must reject.

Each forgery starts from a genuine token and changes one thing, re-signing
with the provider's own key where the signature should stay valid, so a
client that accepts the result is checking too little (OpenID Connect
conformance suite, RP tests; RFC 8725).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization

from .errors import MockauthError
from .keys import SigningKey, b64url, process_key
from .tokens import half_hash

if TYPE_CHECKING:
    from .provider import Provider

__all__ = ["forge", "rebind_at_hash"]

#: A generation of process keys no provider uses: "another key" for bad signatures.
_FOREIGN_GENERATION = 10_000


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise MockauthError(f"cannot forge a token that is not a JWT: {exc}") from None
    return header, payload


def _key_for(provider: Provider, header: dict[str, Any], payload: dict[str, Any]) -> SigningKey:
    kid = header.get("kid")
    if isinstance(kid, str):
        key = provider.keys.get(kid)
        if key is not None:
            return key
    if header.get("alg") == "HS256":  # an ID token keyed with the client secret
        aud = payload.get("azp") or payload.get("aud")
        client_id = aud[0] if isinstance(aud, list) else aud
        secret = provider.client_secret(client_id) if isinstance(client_id, str) else None
        if secret:
            return SigningKey("", "HS256", secret.encode(), None)
    raise MockauthError("the token is not signed by a key of this provider")


def _sign(payload: dict[str, Any], key: SigningKey, header: dict[str, Any]) -> str:
    extra = {k: v for k, v in header.items() if k not in ("alg",)}
    return jwt.encode(payload, key.key, algorithm=key.alg, headers=extra)


def _raw(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    def part(value: Any) -> str:
        return b64url(json.dumps(value, separators=(",", ":")).encode())

    return f"{part(header)}.{part(payload)}.{b64url(signature)}"


def forge(
    provider: Provider, token: str, fault: str, *, claim: str | None = None, value: Any = None
) -> str:
    """``token`` with one thing wrong; ``fault`` is one of ``faults.TOKEN_FAULTS``."""
    header, payload = _segments(token)
    key = _key_for(provider, header, payload)
    now = int(provider.clock.now())
    if fault == "expired":
        lifetime = payload.get("exp", now) - payload.get("iat", now)
        payload.update(iat=now - lifetime - 120, exp=now - 120)
    elif fault == "not_yet_valid":
        payload["nbf"] = now + 3600
    elif fault == "issued_in_future":
        payload.update(iat=now + 3600, exp=now + 7200)
    elif fault in ("wrong_iss", "wrong_aud", "wrong_sub", "wrong_azp"):
        name = fault.removeprefix("wrong_")
        payload[name] = value if value is not None else f"https://wrong-{name}.mockauth.test"
    elif fault == "missing_claim":
        assert claim is not None
        payload.pop(claim, None)
    elif fault == "set_claim":
        assert claim is not None
        payload[claim] = value
    elif fault in ("wrong_at_hash", "wrong_c_hash"):
        name = fault.removeprefix("wrong_")
        payload[name] = half_hash("not-the-token-it-came-with", key.alg)
    elif fault in ("missing_at_hash", "missing_c_hash", "missing_nonce"):
        if payload.pop(fault.removeprefix("missing_"), None) is None:
            raise MockauthError(f"{fault}: the token has no {fault.removeprefix('missing_')}")
    elif fault == "wrong_nonce":
        payload["nonce"] = value if value is not None else "not-the-nonce-that-was-sent"
    elif fault == "unknown_kid":
        header["kid"] = "mockauth-unknown-kid"
    elif fault == "no_kid":
        header.pop("kid", None)
    elif fault == "bad_signature":
        # A well-formed signature by another key of the same algorithm, under the real kid.
        other = (
            process_key(key.alg, _FOREIGN_GENERATION)
            if key.alg != "HS256"
            else SigningKey("", "HS256", b"not-the-secret-" + key.key[:17], None)
        )
        return _sign(payload, other, header)
    elif fault == "alg_none":
        header["alg"] = "none"
        return _raw(header, payload, b"")
    elif fault == "hs256_public_key":
        if key.symmetric:
            raise MockauthError("hs256_public_key needs an asymmetric signing key")
        pem = key.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header["alg"] = "HS256"
        signing_input = _raw(header, payload, b"").rstrip(".")
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"
    else:
        raise MockauthError(f"unknown token fault {fault!r}")
    return _sign(payload, key, header)


def rebind_at_hash(provider: Provider, id_token: str, old_access: str, new_access: str) -> str:
    """``id_token`` with its ``at_hash`` moved from ``old_access`` to ``new_access``
    (re-signed), so that forging the access token leaves the ID token valid: one
    thing wrong at a time. An ID token whose ``at_hash`` was not that of
    ``old_access`` is returned unchanged.
    """
    header, payload = _segments(id_token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg == "none":
        return id_token
    if payload.get("at_hash") != half_hash(old_access, alg):
        return id_token
    payload["at_hash"] = half_hash(new_access, alg)
    return _sign(payload, _key_for(provider, header, payload), header)
