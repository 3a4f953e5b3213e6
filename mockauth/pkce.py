"""PKCE (RFC 7636)."""

from __future__ import annotations

import hashlib
import hmac
import re

from .errors import InvalidGrant, InvalidRequest
from .keys import b64url

__all__ = ["METHODS", "check_challenge", "verify"]

METHODS = ("S256", "plain")
# RFC 7636 §4.1/§4.2: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"
_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def check_challenge(challenge: str | None, method: str | None) -> str | None:
    """Validate an authorization request's challenge; returns the method (RFC 7636 §4.3)."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        return None
    method = method or "plain"  # RFC 7636 §4.3: defaults to plain
    if method not in METHODS:
        raise InvalidRequest("unsupported code_challenge_method; use S256 or plain")
    if not _VALUE.match(challenge):
        raise InvalidRequest("code_challenge must be 43-128 unreserved characters (RFC 7636 §4.2)")
    return method


def verify(challenge: str | None, method: str | None, verifier: str | None) -> None:
    """Check a token request's ``code_verifier`` against the code's challenge (RFC 7636 §4.6).

    A verifier for a code issued without a challenge is rejected too
    (RFC 9700 §4.8.2: it may be a downgrade attack).
    """
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant(
                "code_verifier sent, but the authorization request had no code_challenge"
            )
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required: the authorization request used PKCE")
    if not _VALUE.match(verifier):
        raise InvalidGrant("code_verifier must be 43-128 unreserved characters (RFC 7636 §4.1)")
    computed = (
        b64url(hashlib.sha256(verifier.encode("ascii")).digest()) if method == "S256" else verifier
    )
    if not hmac.compare_digest(computed.encode(), challenge.encode()):
        raise InvalidGrant("code_verifier does not match the code_challenge")
