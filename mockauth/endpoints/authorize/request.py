"""The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) as a value.

:func:`client_and_redirect` settles who is asking and where the answer goes;
its errors are never redirected (RFC 6749 §4.1.2.1). :func:`validate` checks
everything else and returns an :class:`AuthorizationRequest`; its errors go
back to the client. The authorization endpoint, pushed authorization
requests and the login page all use these same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ... import pkce
from ...errors import (
    InvalidRequest,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from ...grants.common import check_scope, parse_scope, requested_targets, resolve_audience
from ...http import form_params, query_params

if TYPE_CHECKING:
    from ...clients import Client
    from ...http import Params, Request
    from ...services import Services

__all__ = [
    "RESPONSE_MODES",
    "RESPONSE_TYPES",
    "AuthorizationRequest",
    "Target",
    "authorization_params",
    "client_and_redirect",
    "reply_mode",
    "response_type_of",
    "validate",
]

RESPONSE_MODES = ("query", "fragment", "form_post")
#: Response types and their default response mode: the code flow, and the
#: hybrid flow that also returns an ID token (OIDC Core §3.3; OAuth 2.0
#: Multiple Response Type Encoding Practices §5 forbids query for it).
RESPONSE_TYPES = {"code": "query", "code id_token": "fragment"}


@dataclass(frozen=True)
class Target:
    """Who asks and where the answer goes: a client and one of its redirect URIs."""

    client: Client
    redirect_uri: str
    #: False when the request left ``redirect_uri`` out (the client's only one is used).
    redirect_uri_sent: bool = True


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request."""

    client: Client
    redirect_uri: str
    response_type: str
    response_mode: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: frozenset[str]
    max_age: int | None
    audience: tuple[str, ...]
    login_hint: str | None
    #: The targets the request named (RFC 8707 ``resource``, ``audience``): what a
    #: token request may narrow the audience to. Empty when it named none.
    resources: tuple[str, ...] = ()
    redirect_uri_sent: bool = True
    #: RFC 9449 §10: the DPoP key the code will be bound to (``dpop_jkt``).
    dpop_jkt: str | None = None

    @property
    def hybrid(self) -> bool:
        """Whether an ID token comes back from the authorization endpoint too."""
        return self.response_type != "code"


def authorization_params(request: Request) -> Params:
    """The query (GET) or form body (POST) of an authorization request; a body
    that cannot be read is an error shown as a page.
    """
    if request.method != "POST":
        return query_params(request)
    try:
        return form_params(request)
    except OAuthError as exc:
        raise InvalidRequest(
            exc.description or exc.error, status_code=exc.status_code, redirect=False
        ) from None


def response_type_of(params: Params) -> str | None:
    """The ``response_type``, its space-separated values in a canonical order."""
    value = params.get("response_type")
    if value is None or "response_type" in params.duplicates:
        return None
    return " ".join(sorted(value.split(" "))) if " " in value else value


def reply_mode(params: Params) -> str:
    """The response mode the answer (an error too) goes back in: the one asked
    for if usable, else the response type's default (never ``query`` for an ID token).
    """
    mode = params.get("response_mode")
    default_mode = RESPONSE_TYPES.get(response_type_of(params) or "", "query")
    usable = mode in RESPONSE_MODES and "response_mode" not in params.duplicates
    if usable and mode and not (mode == "query" and default_mode == "fragment"):
        return mode
    return default_mode


def state_of(params: Params) -> str | None:
    return params.get("state") if "state" not in params.duplicates else None


def _page(message: str) -> InvalidRequest:
    return InvalidRequest(message, redirect=False)


def client_and_redirect(s: Services, params: Params) -> Target:
    """The client and the redirect URI to answer at (RFC 6749 §3.1.2.3).

    ``redirect_uri`` may be left out of a plain OAuth request when the client
    registered exactly one (RFC 6749 §3.1.2.3); OpenID requests need it
    (OIDC Core §3.1.2.1).
    """
    for name in ("client_id", "redirect_uri"):
        if name in params.duplicates:
            raise _page(f"{name} was sent more than once")
    client_id = params.get("client_id")
    if client_id is None:
        raise _page("client_id is missing")
    try:
        client = s.clients.get(client_id)
    except OAuthError as exc:  # a client ID metadata document that does not resolve
        raise _page(exc.description or exc.error) from None
    if client is None:
        raise _page(f"unknown client_id {client_id[:80]!r}")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        scope = (params.get("scope") or client.default_scope).split(" ")
        if len(client.redirect_uris) == 1 and "openid" not in scope:
            return Target(client, client.redirect_uris[0], redirect_uri_sent=False)
        if "openid" in scope and client.redirect_uris:
            raise _page("redirect_uri is missing (OpenID requests must send it)")
        raise _page("redirect_uri is missing")
    if not client.redirect_uri_allowed(redirect_uri):
        if not client.redirect_uris:
            raise _page(f"client {client_id!r} has no registered redirect_uris")
        raise _page(f"redirect_uri {redirect_uri[:200]!r} is not registered for this client")
    return Target(client, redirect_uri)


def validate(s: Services, params: Params, target: Target) -> AuthorizationRequest:
    """Every check of an authorization request for ``target``; errors go back
    to the client (RFC 6749 §4.1.2.1).
    """
    client = target.client
    params.reject_duplicates()
    mode = params.get("response_mode")
    if mode is not None and mode not in RESPONSE_MODES:
        raise InvalidRequest(f"unsupported response_mode {mode[:40]!r}")
    if params.get("request") is not None:
        raise RequestNotSupported("request objects are not supported")
    if params.get("request_uri") is not None:
        raise RequestUriNotSupported("request_uri is not supported")
    response_type = response_type_of(params)
    if response_type is None:
        raise InvalidRequest("missing parameter: response_type")
    if response_type not in RESPONSE_TYPES:
        raise UnsupportedResponseType(f"response_type {response_type[:40]!r} is not supported")
    hybrid = response_type != "code"
    if hybrid and mode == "query":
        raise InvalidRequest("response_mode=query cannot carry an ID token: use fragment")
    if hybrid and not params.get("nonce"):
        raise InvalidRequest("nonce is required when an ID token comes back from /authorize")
    if not client.allows_grant("authorization_code"):
        raise UnauthorizedClient("this client may not use the authorization code flow")
    if not client.allows_response_type(response_type):
        raise UnauthorizedClient(f"this client did not register response_type {response_type!r}")
    scope = parse_scope(params.get("scope") or client.default_scope)
    check_scope(client, scope)
    method = pkce.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    if method is None and (client.public or s.config.require_pkce):
        raise InvalidRequest("PKCE is required: send code_challenge (RFC 9700 §2.1.1)")
    if method == "plain" and client.public and not client.lenient:
        # RFC 9700 §2.1.1 and the MCP authorization spec: a public client uses S256.
        raise InvalidRequest("a public client must use code_challenge_method=S256, not plain")
    prompt = frozenset((params.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return AuthorizationRequest(
        client=client,
        redirect_uri=target.redirect_uri,
        redirect_uri_sent=target.redirect_uri_sent,
        response_type=response_type,
        response_mode=reply_mode(params),
        scope=scope,
        state=state_of(params),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=method,
        prompt=prompt,
        max_age=_max_age(params.get("max_age")),
        audience=resolve_audience(client, params),
        login_hint=params.get("login_hint"),
        resources=requested_targets(params),
        dpop_jkt=params.get("dpop_jkt"),
    )


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(value)
