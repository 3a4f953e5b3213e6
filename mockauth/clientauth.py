"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 §2.3: ``client_secret_basic``, ``client_secret_post`` and ``none``
(a public client naming itself). Real clients encode Basic credentials three
ways (raw, form-urlencoded, ``quote()``-d), so the raw pair is tried first,
then the decoded one (RFC 6749 §2.3.1, Appendix B).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from urllib.parse import unquote_plus

from .clients import Client
from .errors import InvalidClient, InvalidRequest
from .http import Params, Request

__all__ = ["authenticate_client"]

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="mockauth"'}


def _secret_matches(client: Client, candidates: tuple[str, ...]) -> bool:
    expected = (client.client_secret or "").encode()
    # Constant time (RFC 6819 §5.1.4.2.2); every candidate is compared.
    results = [hmac.compare_digest(expected, c.encode()) for c in candidates]
    return bool(expected) and any(results)


def _basic(header_value: str) -> tuple[str, str]:
    scheme, _, credentials = header_value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidRequest(f"unsupported Authorization scheme {scheme[:20]!r}; use Basic")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequest("malformed Basic credentials: not base64 of UTF-8") from None
    if ":" not in decoded:
        raise InvalidRequest("malformed Basic credentials: no ':' between id and secret")
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def authenticate_client(
    request: Request, params: Params, lookup: Callable[[str], Client | None]
) -> tuple[Client, str]:
    """Authenticate the calling client; returns it and the method it used.

    Failure through the ``Authorization`` header is 401 with a ``Basic``
    challenge (RFC 6749 §5.2); malformed credentials are 400.
    """
    header = request.headers.get("Authorization")
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if header:
        raw_id, raw_secret = _basic(header)
        if body_secret is not None:
            raise InvalidRequest("use one client authentication method per request (RFC 6749 §2.3)")
        ids = (raw_id, unquote_plus(raw_id))
        secrets = (raw_secret, unquote_plus(raw_secret))
        if body_id is not None and body_id not in ids:
            raise InvalidRequest("client_id in the body differs from the one in Basic credentials")
        client = lookup(ids[0]) or lookup(ids[1])
        if client is None:
            raise InvalidClient("unknown client", headers=_CHALLENGE)
        if client.lenient:
            return client, "client_secret_basic"
        if client.public:
            if raw_secret:
                raise InvalidClient("a public client has no secret", headers=_CHALLENGE)
            return client, "none"
        _check_method(client, "client_secret_basic", _CHALLENGE)
        if not _secret_matches(client, secrets):
            raise InvalidClient("wrong client secret", headers=_CHALLENGE)
        return client, "client_secret_basic"
    if body_id is None:
        if body_secret is not None:
            raise InvalidRequest("client_secret without client_id")
        raise InvalidClient("client authentication is required")
    client = lookup(body_id)
    if client is None:
        raise InvalidClient("unknown client")
    if client.lenient:
        return client, "client_secret_post" if body_secret is not None else "none"
    if body_secret is not None:
        if client.public:
            raise InvalidClient("a public client has no secret")
        _check_method(client, "client_secret_post", {})
        if not _secret_matches(client, (body_secret,)):
            raise InvalidClient("wrong client secret")
        return client, "client_secret_post"
    if not client.public:
        raise InvalidClient("client authentication is required for a confidential client")
    return client, "none"


def _check_method(client: Client, method: str, headers: dict[str, str]) -> None:
    allowed = client.auth_methods()
    if method not in allowed:
        raise InvalidClient(
            f"this client is registered for {allowed[0]}, not {method}", headers=headers
        )
