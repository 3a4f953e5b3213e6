"""Shared-secret client authentication (RFC 6749 §2.3.1) and public clients.

``client_secret_basic``, ``client_secret_post`` and ``none`` (a public client
naming itself, RFC 7591 §2). Real clients encode Basic credentials three
ways (raw, form-urlencoded, ``quote()``-d), so the raw pair is tried first,
then the decoded one (RFC 6749 §2.3.1, Appendix B).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from ..errors import InvalidClient, InvalidRequest
from . import ClientAuthMethod, check_method, register_method

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params, Request
    from ..services import Services

__all__ = ["ClientSecretBasic", "ClientSecretPost", "NoClientAuth"]


def _secret_matches(client: Client, candidates: tuple[str, ...]) -> bool:
    expected = (client.client_secret or "").encode()
    # Constant time (RFC 6819 §5.1.4.2.2); every candidate is compared.
    results = [hmac.compare_digest(expected, c.encode()) for c in candidates]
    return bool(expected) and any(results)


def _check_secret(s: Services, client: Client, candidates: tuple[str, ...]) -> None:
    """``invalid_client`` for a wrong secret, or one past its ``client_secret_expires_at``
    (RFC 7591 §3.2.1; 0 or none: it never expires).
    """
    if not _secret_matches(client, candidates):
        raise InvalidClient("wrong client secret")
    expires = client.client_secret_expires_at
    if expires and s.clock.now() >= expires:
        raise InvalidClient(f"the client secret expired (client_secret_expires_at {expires})")


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


class ClientSecretBasic(ClientAuthMethod):
    """RFC 6749 §2.3.1: the id and secret in ``Authorization: Basic``."""

    name = "client_secret_basic"
    secret_params = frozenset({"client_secret"})

    def presented(self, request: Request, params: Params) -> bool:
        return bool(request.headers.get("Authorization"))

    def authenticate(self, s: Services, request: Request, params: Params) -> Client:
        raw_id, raw_secret = _basic(request.headers.get("Authorization", ""))
        body_id = params.get("client_id")
        ids = (raw_id, unquote_plus(raw_id))
        secrets = (raw_secret, unquote_plus(raw_secret))
        if body_id is not None and body_id not in ids:
            raise InvalidRequest("client_id in the body differs from the one in Basic credentials")
        client = s.clients.get(ids[0]) or s.clients.get(ids[1])
        if client is None:
            raise InvalidClient("unknown client")
        if client.lenient:
            return client
        if client.public:
            if raw_secret:
                raise InvalidClient("a public client has no secret")
            return client
        check_method(client, self.name)
        _check_secret(s, client, secrets)
        return client


class ClientSecretPost(ClientAuthMethod):
    """RFC 6749 §2.3.1: ``client_id`` and ``client_secret`` in the form body."""

    name = "client_secret_post"
    secret_params = frozenset({"client_secret"})

    def presented(self, request: Request, params: Params) -> bool:
        return params.get("client_secret") is not None

    def authenticate(self, s: Services, request: Request, params: Params) -> Client:
        client_id = params.get("client_id")
        if client_id is None:
            raise InvalidRequest("client_secret without client_id")
        client = s.clients.get(client_id)
        if client is None:
            raise InvalidClient("unknown client")
        if client.lenient:
            return client
        if client.public:
            raise InvalidClient("a public client has no secret")
        check_method(client, self.name)
        _check_secret(s, client, (params.require("client_secret"),))
        return client


class NoClientAuth(ClientAuthMethod):
    """RFC 7591 §2 ``none``: a public client names itself with ``client_id``
    (tried only when the request presents no credentials of another method).
    """

    name = "none"
    public = True

    def presented(self, request: Request, params: Params) -> bool:
        return params.get("client_id") is not None

    def authenticate(self, s: Services, request: Request, params: Params) -> Client:
        client = s.clients.get(params.require("client_id"))
        if client is None:
            raise InvalidClient("unknown client")
        if not client.public and not client.lenient:
            raise InvalidClient("client authentication is required for a confidential client")
        return client


register_method(ClientSecretBasic())
register_method(ClientSecretPost())
register_method(NoClientAuth())
