"""DPoP (RFC 9449): proofs of possession, judged as §4.3 lists, and the
sender constraint they put on tokens.

A proof is one ``DPoP`` header holding a JWS with ``typ: dpop+jwt``, an
asymmetric ``alg``, and the client's public ``jwk`` (no private members); it
verifies with that key; ``htm`` is the request's method and ``htu`` its URL
(scheme and host compared without case, the default port and one trailing
slash ignored; a query or fragment in ``htu`` is refused); ``iat`` is within
the window of the provider clock; ``jti`` is not replayed; ``ath`` is the
hash of the access token at a resource; ``nonce`` is the server's when it asks
for one. Every failure is ``invalid_dpop_proof`` saying which check failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import jose
from .config import ASYMMETRIC_ALGS
from .errors import InvalidDpopProof, InvalidToken, OAuthError, UseDpopNonce
from .keys import b64url
from .tokens.binding import presented_with_dpop

if TYPE_CHECKING:
    from .http import Request
    from .services import Services
    from .store import AccessRecord

__all__ = [
    "ALGS",
    "PROOF_TYPE",
    "DPoPBinding",
    "Proof",
    "access_token_hash",
    "proof_of",
    "thumbprint",
]

PROOF_TYPE = "dpop+jwt"
#: ``dpop_signing_alg_values_supported`` (RFC 9449 §5.1): asymmetric only, never ``none``.
ALGS = ASYMMETRIC_ALGS
_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
#: RFC 7638 §3.2: the members of each key type a thumbprint covers.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
                       "OKP": ("crv", "kty", "x")}  # fmt: skip


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (``cnf.jkt``, ``dpop_jkt``)."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise InvalidDpopProof("the proof's jwk is not an EC, RSA or OKP public key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (RFC 9449 §4.2): the base64url SHA-256 of the access token."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


def _normal_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/") and not path.endswith("//"):
        path = path[:-1]
    return f"{scheme}://{netloc}{path}"


@dataclass(frozen=True)
class Proof:
    """A DPoP proof that checked out: the key's thumbprint and the claims."""

    jkt: str
    claims: Mapping[str, Any]


def proof_of(
    s: Services,
    request: Request,
    url: str,
    *,
    access_token: str | None = None,
    resource: bool = False,
) -> Proof | None:
    """The request's DPoP proof, checked (RFC 9449 §4.3); ``None`` when it sends none."""
    values = request.headers.getlist("DPoP")
    if not values:
        return None
    # A proxy or server may fold repeated headers into one with commas; a JWS has none.
    if len(values) > 1 or "," in values[0]:
        raise InvalidDpopProof("send one DPoP header (RFC 9449 §4.3)")
    token = values[0].strip()
    header = jose.header_of(token, InvalidDpopProof)
    if str(header.get("typ", "")).lower() != PROOF_TYPE:
        raise InvalidDpopProof(f"the proof's typ must be {PROOF_TYPE}")
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise InvalidDpopProof("the proof's header must carry the public jwk")
    if any(member in jwk for member in _PRIVATE):
        raise InvalidDpopProof("the proof's jwk holds private key material")
    jkt = thumbprint(jwk)

    def key(head: Mapping[str, Any], _token: str) -> Any:
        import jwt

        try:
            return jwt.PyJWK(dict(jwk), algorithm=str(head.get("alg"))).key
        except jwt.PyJWTError as exc:
            raise InvalidDpopProof(f"the proof's jwk cannot verify it: {exc}") from None

    claims = jose.verify(
        token, key, algorithms=ALGS, require=("jti", "htm", "htu", "iat"), error=InvalidDpopProof
    )
    if claims["htm"] != request.method:
        raise InvalidDpopProof(
            f"the proof's htm {str(claims['htm'])[:10]!r} is not {request.method}"
        )
    htu = claims["htu"]
    if not isinstance(htu, str) or "?" in htu or "#" in htu:
        raise InvalidDpopProof("the proof's htu must be a URL without query or fragment")
    normal = _normal_url(htu)
    if normal is None or normal != _normal_url(url):
        raise InvalidDpopProof(f"the proof's htu {htu[:120]!r} is not {url}")
    now = s.clock.now()
    iat = claims["iat"]
    window = s.config.dpop.iat_window
    if isinstance(iat, bool) or not isinstance(iat, int | float) or abs(iat - now) > window:
        raise InvalidDpopProof(f"the proof's iat is more than {window} s from the server's clock")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise InvalidDpopProof("the proof's ath is not the hash of the access token")
    settings = s.config.dpop
    if settings.require_nonce and not s.store.dpop_nonces.valid(
        claims.get("nonce"), now, settings.nonce_ttl
    ):
        raise nonce_error(s, resource)
    if not jose.first_use(s.store, f"dpop\x00{jkt}", claims, now, InvalidDpopProof):
        raise InvalidDpopProof("the proof's jti was used before (replay, RFC 9449 §11.1)")
    return Proof(jkt=jkt, claims=claims)


def check_presentation(
    s: Services, request: Request, token: str, record: AccessRecord, url: str
) -> None:
    """A resource request (RFC 9449 §7): a DPoP-bound token only with the ``DPoP``
    scheme and a proof by its key, with ``ath``; an unbound one only as ``Bearer``.
    Failures are 401 with a ``DPoP`` challenge.
    """
    bound = record.token_type == "DPoP"
    if not presented_with_dpop(request):
        if bound:
            raise at_resource(InvalidToken("the token is DPoP-bound: present it with the "
                                            "DPoP scheme and a proof (RFC 9449 §7.1)"))  # fmt: skip
        return
    if not bound:
        raise at_resource(InvalidToken("the token is not DPoP-bound: present it as Bearer"))
    try:
        proof = proof_of(s, request, url, access_token=token, resource=True)
    except UseDpopNonce:
        raise
    except OAuthError as exc:
        raise at_resource(InvalidDpopProof(exc.description)) from None
    if proof is None:
        raise at_resource(InvalidDpopProof("a DPoP token needs a DPoP proof"))
    try:
        DPoPBinding(proof.jkt).verify(request, record)
    except InvalidToken as exc:
        raise at_resource(exc) from None


def at_resource(error: OAuthError) -> OAuthError:
    """``error`` as a resource answers it: 401 with a ``DPoP`` challenge (RFC 9449 §7.1)."""
    return type(error)(
        error.description,
        status_code=401,
        headers=error.headers,
        challenge={**error.challenge, "algs": " ".join(ALGS)},
        scheme="DPoP",
    )


def nonce_error(s: Services, resource: bool) -> OAuthError:
    """``use_dpop_nonce`` with the nonce to use (§8 at the server, §9 at a resource: 401)."""
    nonce = s.store.dpop_nonces.current(s.clock.now(), s.config.dpop.nonce_ttl)
    error = UseDpopNonce("the proof must carry the server's nonce (DPoP-Nonce)",
                         headers={"DPoP-Nonce": nonce})  # fmt: skip
    return at_resource(error) if resource else error


class DPoPBinding:
    """RFC 9449: the token is bound to the key whose thumbprint is ``jkt``
    (``cnf.jkt``) and presented with the ``DPoP`` scheme.
    """

    token_type = "DPoP"

    def __init__(self, jkt: str) -> None:
        self.jkt = jkt

    def confirm(self, claims: dict[str, Any]) -> None:
        claims["cnf"] = {"jkt": self.jkt}

    def verify(self, request: Request, record: AccessRecord) -> None:
        cnf = record.claims.get("cnf")
        if not isinstance(cnf, Mapping) or cnf.get("jkt") != self.jkt:
            raise InvalidToken("the token is bound to another DPoP key")

    def __repr__(self) -> str:
        return f"DPoPBinding({self.jkt!r})"
