"""The authorization endpoint (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2).

With no login page it approves at once: as the user named by ``login_hint``,
else the user of the current session, else the provider's default user.
Errors about the client or the redirect URI are shown as a page and never
redirected (RFC 6749 §4.1.2.1); every other error goes back to the client
with ``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

import html
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from .. import pkce
from ..clients import Client
from ..errors import (
    InvalidRequest,
    LoginRequired,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from ..grants import check_scope, parse_scope, resolve_audience
from ..http import Params, Request, Response, form_params, html_page, query_params
from ..store import AuthorizationCode, Session
from ..tokens import new_secret
from ..users import User, claims_for_scopes

if TYPE_CHECKING:
    from ..provider import Provider

RESPONSE_MODES = ("query", "fragment", "form_post")
#: Response types and their default response mode: the code flow, and the
#: hybrid flow that also returns an ID token (OIDC Core §3.3; OAuth 2.0
#: Multiple Response Type Encoding Practices §5 forbids query for it).
RESPONSE_TYPES = {"code": "query", "code id_token": "fragment"}


def response_type_of(params: Params) -> str | None:
    """The ``response_type``, its space-separated values in a canonical order."""
    value = params.get("response_type")
    if value is None or "response_type" in params.duplicates:
        return None
    return " ".join(sorted(value.split(" "))) if " " in value else value


class _Page(Exception):
    """An error that must not be redirected."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _params(request: Request) -> Params:
    if request.method == "POST":
        try:
            return form_params(request)
        except OAuthError as exc:
            raise _Page(exc.description or exc.error, exc.status_code) from None
    return query_params(request)


def _redirect(redirect_uri: str, mode: str, values: dict[str, str]) -> Response:
    if mode == "form_post":
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in values.items()
        )
        body = (
            "<!doctype html><html><head><meta charset=utf-8><title>Submit</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(redirect_uri)}">{fields}'
            "<noscript><button>Continue</button></noscript></form></body></html>"
        )
        response = Response(body, status=200, mimetype="text/html")
    else:
        separator = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
        response = Response("", status=302)
        response.headers["Location"] = redirect_uri + separator + urlencode(values)
    response.headers["Cache-Control"] = "no-store"
    return response


def handle(provider: Provider, request: Request) -> Response:
    return _answer(provider, request, None)


def error_redirect(provider: Provider, request: Request, error: OAuthError) -> Response:
    """``error`` for this authorization request: redirected to the client when the
    client and redirect URI are valid (RFC 6749 §4.1.2.1), else shown as a page.
    """
    return _answer(provider, request, error)


def _answer(provider: Provider, request: Request, forced: OAuthError | None) -> Response:
    try:
        params = _params(request)
        client, redirect_uri = _client_and_redirect(provider, params)
    except _Page as exc:
        return html_page("Invalid authorization request", str(exc), exc.status)
    state = params.get("state") if "state" not in params.duplicates else None
    mode = params.get("response_mode")
    default_mode = RESPONSE_TYPES.get(response_type_of(params) or "", "query")
    usable = mode in RESPONSE_MODES and "response_mode" not in params.duplicates
    reply_mode = default_mode
    if usable and mode and not (mode == "query" and default_mode == "fragment"):
        reply_mode = mode
    try:
        if forced is not None:
            raise forced
        values, cookie = _approve(provider, request, params, client, redirect_uri, mode)
    except OAuthError as exc:
        values = exc.to_dict()
        cookie = None
    if state is not None:
        values["state"] = state
    values["iss"] = provider.issuer
    response = _redirect(redirect_uri, reply_mode, values)
    if cookie is not None:
        response.set_cookie(
            provider.session_cookie,
            cookie.sid,
            path=provider.cookie_path,
            httponly=True,
            samesite="Lax",
        )
    return response


def _client_and_redirect(provider: Provider, params: Params) -> tuple[Client, str]:
    for name in ("client_id", "redirect_uri"):
        if name in params.duplicates:
            raise _Page(f"{name} was sent more than once")
    client_id = params.get("client_id")
    if client_id is None:
        raise _Page("client_id is missing")
    client = provider.get_client(client_id)
    if client is None:
        raise _Page(f"unknown client_id {client_id[:80]!r}")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        raise _Page("redirect_uri is missing")
    if not client.redirect_uri_allowed(redirect_uri):
        if not client.redirect_uris:
            raise _Page(f"client {client_id!r} has no registered redirect_uris")
        raise _Page(f"redirect_uri {redirect_uri[:200]!r} is not registered for this client")
    return client, redirect_uri


def _approve(
    provider: Provider,
    request: Request,
    params: Params,
    client: Client,
    redirect_uri: str,
    mode: str | None,
) -> tuple[dict[str, str], Session | None]:
    params.reject_duplicates()
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
    scope = parse_scope(params.get("scope") or client.default_scope)
    check_scope(client, scope)
    method = pkce.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    if method is None and (client.public or provider.config.require_pkce):
        raise InvalidRequest("PKCE is required: send code_challenge (RFC 9700 §2.1.1)")
    prompt = set((params.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    max_age = _max_age(params.get("max_age"))
    audience = resolve_audience(client, params)
    now = provider.clock.now()
    current = provider.store.session(request.cookies.get(provider.session_cookie) or "", now)
    user, session, fresh = _authenticate(
        provider, current, params.get("login_hint"), prompt, max_age, now
    )
    code = AuthorizationCode(
        code=new_secret(),
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        sub=user.sub,
        auth_time=session.auth_time,
        expires_at=now + provider.config.tokens.code_ttl,
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=method,
        audience=audience,
        sid=session.sid,
    )
    provider.store.put_code(code, now)
    values = {"code": code.code}
    if hybrid:
        # OIDC Core §3.3.2.11: the front-channel ID token carries c_hash.
        claims = claims_for_scopes(user, user.sub, scope)
        claims.pop("sub")
        values["id_token"] = provider.tokens.id_token(
            client_id=client.client_id,
            client_secret=client.client_secret,
            sub=user.sub,
            auth_time=session.auth_time,
            alg=client.id_token_signed_response_alg,
            nonce=code.nonce,
            code=code.code,
            sid=session.sid,
            claims=claims,
        )
    return values, (session if fresh else None)


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(value)


def _authenticate(
    provider: Provider,
    session: Session | None,
    hint: str | None,
    prompt: set[str],
    max_age: int | None,
    now: float,
) -> tuple[User, Session, bool]:
    """The user to approve as and their session (OIDC Core §3.1.2.1 prompt, max_age)."""
    user: User | None
    if hint is not None:
        user = provider.find_user(hint)
        if user is None:
            raise LoginRequired(f"login_hint {hint[:80]!r} matches no user of this provider")
    elif session is not None:
        user = provider.find_user(session.sub, by_sub=True)
    else:
        user = None
    if user is None:
        user = provider.default_user()
    reusable = (
        session is not None
        and session.sub == user.sub
        and "login" not in prompt
        # OIDC Core §3.1.2.1: max_age=0 is prompt=login, even within the same second.
        and (max_age is None or (max_age > 0 and now - session.auth_time <= max_age))
    )
    if reusable:
        assert session is not None
        return user, session, False
    if "none" in prompt:
        raise LoginRequired("prompt=none, but there is no matching login session")
    fresh = Session(
        sid=secrets.token_urlsafe(16),
        sub=user.sub,
        auth_time=int(now),
        expires_at=now + provider.config.tokens.session_ttl,
    )
    provider.store.put_session(fresh, now)
    return user, fresh, True
