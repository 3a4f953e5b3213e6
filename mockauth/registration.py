"""Dynamic client registration (RFC 7591) and management (RFC 7592): client
metadata in, a registered :class:`~mockauth.clients.Client` out.

The metadata a client may send is RFC 7591 §2's (and OIDC Registration's
``application_type``); anything else is ignored (§2: "MUST ignore"), and so
are ``client_id`` and ``client_secret``, which the server assigns. A bad
redirect URI is ``invalid_redirect_uri``, any other bad field
``invalid_client_metadata``, each naming the field (§3.2.2). A
``software_statement`` (§2.3) is a JWT of a trusted issuer; its claims win
over the same fields sent in the clear.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .config import REGISTRABLE, ClientConfig, parse, registrable
from .errors import (
    ConfigError,
    InvalidClientMetadata,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidSoftwareStatement,
    OAuthError,
)
from .fetch import fetchable

if TYPE_CHECKING:
    from .clients import Client
    from .services import Services

__all__ = ["REGISTRABLE", "client_config", "registration_response"]

#: RFC 7591 §2 defaults where the client sends nothing.
_DEFAULTS = {"grant_types": ["authorization_code"], "response_types": ["code"],
             "token_endpoint_auth_method": "client_secret_basic"}  # fmt: skip
#: Members RFC 7591 §2 defines as JSON arrays (the config would take a lone string).
_ARRAYS = ("redirect_uris", "grant_types", "response_types", "contacts",
           "post_logout_redirect_uris")  # fmt: skip
#: What a client must not send on an RFC 7592 §2.2 update.
_NOT_ON_UPDATE = ("registration_access_token", "registration_client_uri",
                  "client_secret_expires_at", "client_id_issued_at")  # fmt: skip
#: Members of a software statement that describe the statement, not the client.
_STATEMENT_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "nbf", "jti")


def _field_error(exc: ConfigError) -> OAuthError:
    if exc.key.startswith(("redirect_uris", "post_logout_redirect_uris")):
        return InvalidRedirectUri(f"{exc.key}: {exc.message}")
    return InvalidClientMetadata(f"{exc.key}: {exc.message}")


def _allowed(uri: str, allow_list: tuple[str, ...]) -> bool:
    return any(uri.startswith(a[:-1]) if a.endswith("*") else uri == a for a in allow_list)


def _statement(s: Services, statement: object) -> dict[str, Any]:
    """The client metadata a software statement (RFC 7591 §2.3) asserts."""
    if not isinstance(statement, str):
        raise InvalidSoftwareStatement("software_statement must be a JWT (a string)")
    trusted = s.trusted.for_token(statement, InvalidSoftwareStatement, "the software_statement")
    claims = trusted.verify(
        statement, now=s.clock.now(), require=("iss",), error=InvalidSoftwareStatement,
        what="the software_statement", subject_optional=True,
    )  # fmt: skip
    return {k: v for k, v in claims.items() if k not in _STATEMENT_CLAIMS}


def client_config(
    s: Services, metadata: Mapping[str, Any], *, update: Client | None = None
) -> ClientConfig:
    """The registration ``metadata`` asks for, checked; ``update`` is the client an
    RFC 7592 §2.2 update replaces (it must name it, and may repeat its secret only).
    """
    if update is not None:
        if metadata.get("client_id") != update.client_id:
            raise InvalidRequest("an update carries the client's own client_id (RFC 7592 §2.2)")
        for name in _NOT_ON_UPDATE:
            if name in metadata:
                raise InvalidRequest(f"an update must not carry {name} (RFC 7592 §2.2)")
        secret = metadata.get("client_secret")
        if secret is not None and (
            not isinstance(secret, str)
            or update.client_secret is None
            or not secrets.compare_digest(secret, update.client_secret)
        ):
            raise InvalidRequest("client_secret does not match the client's (RFC 7592 §2.2)")
    data = registrable(metadata, _DEFAULTS)
    if "software_statement" in metadata:
        data.update((k, v) for k, v in _statement(s, metadata["software_statement"]).items()
                    if k in REGISTRABLE)  # fmt: skip
    for name in _ARRAYS:
        if name in data and not isinstance(data[name], list):
            error = InvalidRedirectUri if name.endswith("redirect_uris") else InvalidClientMetadata
            raise error(f"{name}: must be a JSON array (RFC 7591 §2)")
    if isinstance(data.get("scope"), str):  # asking for nothing gets what was registered
        data["default_scope"] = data["scope"]
    grants = data.get("grant_types")
    uris = data.get("redirect_uris")
    redirect_grants = ("authorization_code", "implicit")
    if isinstance(grants, list) and any(g in redirect_grants for g in grants) and not uris:
        raise InvalidRedirectUri("redirect_uris: required for the authorization_code grant")
    allow_list = s.config.registration.redirect_uris
    if allow_list is not None and isinstance(uris, list):
        for i, uri in enumerate(uris):
            if isinstance(uri, str) and not _allowed(uri, allow_list):
                raise InvalidRedirectUri(f"redirect_uris[{i}]: not one this server allows")
    jwks_uri = data.get("jwks_uri")
    hosts = s.config.registration.metadata_document_hosts
    if isinstance(jwks_uri, str) and not fetchable(jwks_uri, hosts):
        raise InvalidClientMetadata(
            "jwks_uri: keys are fetched from loopback hosts and "
            "registration.metadata_document_hosts only"
        )
    confidential = data.get("token_endpoint_auth_method") != "none"
    if confidential and data.get("token_endpoint_auth_method") != "private_key_jwt":
        data["client_secret"] = (
            update.client_secret if update is not None and update.client_secret else None
        ) or secrets.token_urlsafe(32)
    try:
        return parse(ClientConfig, data)
    except ConfigError as exc:
        raise _field_error(exc) from None


def registration_response(s: Services, client: Client) -> dict[str, Any]:
    """RFC 7591 §3.2.1 and RFC 7592 §3: the registered metadata, the client's
    credentials and where and how to manage the registration.
    """
    body = client.to_metadata()
    body["registration_client_uri"] = s.url_for("registration") + "/" + client.client_id
    if client.registration_access_token is not None:
        body["registration_access_token"] = client.registration_access_token
    return body
