"""Forged tokens: the broken JWTs a relying party must reject.

Each forgery starts from a genuine token and changes one thing, re-signing
with the provider's own key where the signature should stay valid, so a
client that accepts the result is checking too little (OpenID Connect
conformance suite, RP tests; RFC 8725). :data:`FORGERIES` is the one list of
them: the ``token`` fault, the admin API and ``provider.forge()`` read it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import MockauthError
from .keys import SigningKey, b64url, process_key
from .services import Services
from .tokens.service import half_hash

__all__ = ["FORGERIES", "ID_TOKEN_ONLY", "TOKEN_FAULTS", "Forgery", "forge", "rebind_at_hash"]

#: A generation of process keys no provider uses: "another key" for bad signatures.
_FOREIGN_GENERATION = 10_000


@dataclass
class _Token:
    header: dict[str, Any]
    payload: dict[str, Any]
    key: SigningKey
    now: int
    claim: str | None
    value: Any


@dataclass(frozen=True)
class Forgery:
    """One way to break a token. ``edit`` changes header or payload (the token is
    then re-signed) or returns the finished token itself.
    """

    name: str
    edit: Callable[[_Token], str | None]
    #: Changes claims only ID tokens carry (OIDC Core §2, §3.1.3.6).
    id_token_only: bool = False
    #: Needs ``claim=`` (the claim to remove or set).
    needs_claim: bool = False


def _expired(t: _Token) -> None:
    lifetime = t.payload.get("exp", t.now) - t.payload.get("iat", t.now)
    t.payload.update(iat=t.now - lifetime - 120, exp=t.now - 120)


def _not_yet_valid(t: _Token) -> None:
    t.payload["nbf"] = t.now + 3600


def _issued_in_future(t: _Token) -> None:
    t.payload.update(iat=t.now + 3600, exp=t.now + 7200)


def _wrong(name: str) -> Callable[[_Token], None]:
    def edit(t: _Token) -> None:
        t.payload[name] = t.value if t.value is not None else f"https://wrong-{name}.mockauth.test"

    return edit


def _missing_claim(t: _Token) -> None:
    t.payload.pop(str(t.claim), None)


def _set_claim(t: _Token) -> None:
    t.payload[str(t.claim)] = t.value


def _wrong_hash(name: str) -> Callable[[_Token], None]:
    def edit(t: _Token) -> None:
        t.payload[name] = half_hash("not-the-token-it-came-with", t.key.alg)

    return edit


def _missing(name: str) -> Callable[[_Token], None]:
    def edit(t: _Token) -> None:
        if t.payload.pop(name, None) is None:
            raise MockauthError(f"missing_{name}: the token has no {name}")

    return edit


def _wrong_nonce(t: _Token) -> None:
    t.payload["nonce"] = t.value if t.value is not None else "not-the-nonce-that-was-sent"


def _unknown_kid(t: _Token) -> None:
    t.header["kid"] = "mockauth-unknown-kid"


def _no_kid(t: _Token) -> None:
    t.header.pop("kid", None)


def _bad_signature(t: _Token) -> str:
    # A well-formed signature by another key of the same algorithm, under the real kid.
    key = t.key
    other = (
        process_key(key.alg, _FOREIGN_GENERATION)
        if key.alg != "HS256"
        else SigningKey("", "HS256", b"not-the-secret-" + key.key[:17], None)
    )
    return _sign(t.payload, other, t.header)


def _alg_none(t: _Token) -> str:
    t.header["alg"] = "none"
    return _raw(t.header, t.payload, b"")


def _hs256_public_key(t: _Token) -> str:
    from cryptography.hazmat.primitives import serialization

    if t.key.symmetric:
        raise MockauthError("hs256_public_key needs an asymmetric signing key")
    pem = t.key.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    t.header["alg"] = "HS256"
    signing_input = _raw(t.header, t.payload, b"").rstrip(".")
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


FORGERIES: dict[str, Forgery] = {
    f.name: f
    for f in (
        Forgery("expired", _expired),
        Forgery("not_yet_valid", _not_yet_valid),
        Forgery("issued_in_future", _issued_in_future),
        Forgery("wrong_iss", _wrong("iss")),
        Forgery("wrong_aud", _wrong("aud")),
        Forgery("wrong_sub", _wrong("sub")),
        Forgery("wrong_azp", _wrong("azp"), id_token_only=True),
        Forgery("missing_claim", _missing_claim, needs_claim=True),
        Forgery("set_claim", _set_claim, needs_claim=True),
        Forgery("bad_signature", _bad_signature),
        Forgery("unknown_kid", _unknown_kid),
        Forgery("no_kid", _no_kid),
        Forgery("alg_none", _alg_none),
        Forgery("hs256_public_key", _hs256_public_key),
        Forgery("wrong_at_hash", _wrong_hash("at_hash"), id_token_only=True),
        Forgery("missing_at_hash", _missing("at_hash"), id_token_only=True),
        Forgery("wrong_c_hash", _wrong_hash("c_hash"), id_token_only=True),
        Forgery("missing_c_hash", _missing("c_hash"), id_token_only=True),
        Forgery("wrong_nonce", _wrong_nonce, id_token_only=True),
        Forgery("missing_nonce", _missing("nonce"), id_token_only=True),
    )
}
#: The names of the forgeries.
TOKEN_FAULTS: tuple[str, ...] = tuple(FORGERIES)
#: Forgeries of claims only ID tokens carry.
ID_TOKEN_ONLY = frozenset(f.name for f in FORGERIES.values() if f.id_token_only)


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import jwt  # PyJWT and cryptography load on first use: start-up stays light

    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise MockauthError(f"cannot forge a token that is not a JWT: {exc}") from None
    return header, payload


def _key_for(s: Services, header: dict[str, Any], payload: dict[str, Any]) -> SigningKey:
    kid = header.get("kid")
    if isinstance(kid, str):
        key = s.keys.get(kid)
        if key is not None:
            return key
    if header.get("alg") == "HS256":  # an ID token keyed with the client secret
        aud = payload.get("azp") or payload.get("aud")
        client_id = aud[0] if isinstance(aud, list) else aud
        secret = s.clients.secret(client_id) if isinstance(client_id, str) else None
        if secret:
            return SigningKey("", "HS256", secret.encode(), None)
    raise MockauthError("the token is not signed by a key of this provider")


def _sign(payload: dict[str, Any], key: SigningKey, header: dict[str, Any]) -> str:
    import jwt

    extra = {k: v for k, v in header.items() if k not in ("alg",)}
    return jwt.encode(payload, key.key, algorithm=key.alg, headers=extra)


def _raw(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    def part(value: Any) -> str:
        return b64url(json.dumps(value, separators=(",", ":")).encode())

    return f"{part(header)}.{part(payload)}.{b64url(signature)}"


class _HasServices(Protocol):
    @property
    def services(self) -> Services: ...


def _services(target: Services | _HasServices) -> Services:
    # A Provider is accepted too: forge(provider, ...) is the documented call.
    if isinstance(target, Services):
        return target
    return target.services


def forge(
    services: Services | _HasServices,
    token: str,
    fault: str,
    *,
    claim: str | None = None,
    value: Any = None,
) -> str:
    """``token`` with one thing wrong; ``fault`` is one of :data:`TOKEN_FAULTS`.

    ``services`` is the provider's (a :class:`~mockauth.Provider` works too);
    ``claim`` names the claim ``missing_claim`` / ``set_claim`` change.
    """
    forgery = FORGERIES.get(fault) if isinstance(fault, str) else None
    if forgery is None:
        raise MockauthError(f"unknown token fault {fault!r}; one of {', '.join(TOKEN_FAULTS)}")
    if forgery.needs_claim and not (isinstance(claim, str) and claim):
        raise MockauthError(f"{fault} needs claim= (the name of the claim to change)")
    s = _services(services)
    header, payload = _segments(token)
    key = _key_for(s, header, payload)
    t = _Token(header, payload, key, int(s.clock.now()), claim, value)
    finished = forgery.edit(t)
    return finished if finished is not None else _sign(t.payload, key, t.header)


def rebind_at_hash(
    services: Services | _HasServices, id_token: str, old_access: str, new_access: str
) -> str:
    """``id_token`` with its ``at_hash`` moved from ``old_access`` to ``new_access``
    (re-signed), so that forging the access token leaves the ID token valid: one
    thing wrong at a time. An ID token whose ``at_hash`` was not that of
    ``old_access`` is returned unchanged.
    """
    s = _services(services)
    header, payload = _segments(id_token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg == "none":
        return id_token
    if payload.get("at_hash") != half_hash(old_access, alg):
        return id_token
    payload["at_hash"] = half_hash(new_access, alg)
    return _sign(payload, _key_for(s, header, payload), header)
