"""Dynamic client registration (RFC 7591 §3) and its management (RFC 7592 §2).

``POST /register`` registers a client from its JSON metadata (201). The
answer carries a ``registration_access_token`` and a
``registration_client_uri`` (``/register/{client_id}``), where the client
reads (``GET``), replaces (``PUT``) and deletes (``DELETE``, 204) its
registration with that token. A missing or wrong token, or an unknown client,
is 401 ``invalid_token`` (RFC 7592 §2: never 404, which would tell who is
registered). Open by default; ``registration.initial_access_token`` makes
the POST need one (RFC 7591 §3). Switched off, both answer 404 and metadata
leaves ``registration_endpoint`` out.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .. import notes
from ..errors import InvalidClientMetadata, InvalidToken, challenge
from ..http import Response, bearer_token, json_object, json_response
from ..registration import client_config, registration_response
from ..tokens.service import new_secret
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..http import Request
    from ..services import Services

_ERRORS = frozenset({"invalid_redirect_uri", "invalid_client_metadata",
                     "invalid_software_statement", "unapproved_software_statement",
                     "invalid_token"})  # fmt: skip
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _refused(description: str) -> InvalidToken:
    error = InvalidToken(description)
    error.headers["WWW-Authenticate"] = challenge("Bearer", error)
    return error


def _answer(body: dict[str, object], status: int = 200) -> Response:
    return json_response(body, status, _NO_STORE.items())


def register(s: Services, request: Request) -> Response:
    """RFC 7591 §3.1: register a client; 201 with its metadata and credentials."""
    settings = s.config.registration
    if settings.initial_access_token is not None:
        token = bearer_token(request)
        if token is None or not secrets.compare_digest(token, settings.initial_access_token):
            raise _refused("registration needs a valid initial access token (RFC 7591 §3)")
    config = client_config(s, json_object(request, InvalidClientMetadata))
    client = s.clients.register(
        config,
        issued_at=int(s.clock.now()),
        secret_ttl=settings.client_secret_ttl,
        token=new_secret(),
    )
    notes.event("client_registered", client_id=client.client_id)
    return _answer(registration_response(s, client), 201)


def manage(s: Services, request: Request) -> Response:
    """RFC 7592 §2: read, replace or delete a registration with its access token."""
    client_id = request.route_params.get("client_id", "")
    client = s.clients.registered(client_id)
    token = bearer_token(request)
    expected = client.registration_access_token if client is not None else None
    if expected is None or token is None or not secrets.compare_digest(token, expected):
        raise _refused("the registration access token is not valid for this client")
    if client is None:  # expected came from it; for the type checker
        raise _refused("the registration access token is not valid for this client")
    if request.method == "GET":
        return _answer(registration_response(s, client))
    if request.method == "PUT":
        config = client_config(s, json_object(request, InvalidClientMetadata), update=client)
        updated = s.clients.replace(client_id, config)
        notes.event("client_updated", client_id=client_id)
        return _answer(registration_response(s, updated))
    s.clients.remove(client_id)
    # RFC 7592 §2.3: its grants and tokens go with it.
    s.store.revoke_matching(lambda sub, cid: cid == client_id, s.clock.now())
    notes.event("client_deleted", client_id=client_id)
    return Response(status=204)


def _enabled(s: Services) -> bool:
    return s.config.registration.enabled


ENDPOINT = register_endpoint(
    Endpoint(
        "registration",
        "/register",
        ("POST",),
        register,
        "registration_endpoint",
        error_codes=_ERRORS,
        enabled=_enabled,
    )
)
CLIENT_ENDPOINT = register_endpoint(
    Endpoint(
        "registration_client",
        "/register/{client_id}",
        ("GET", "PUT", "DELETE"),
        manage,
        error_codes=_ERRORS,
        enabled=_enabled,
    )
)
