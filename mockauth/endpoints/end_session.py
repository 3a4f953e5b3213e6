"""RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0 §2-§3).

A browser is on the other end, so every error is a page; the user agent is
redirected only to a registered ``post_logout_redirect_uri``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ..errors import ErrorStyle, InvalidRequest, InvalidToken
from ..http import Response, form_params, html_page, query_params
from ..jose import header_of
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params, Request
    from ..services import Services


def _client(s: Services, params: Params) -> Client | None:
    client_id = params.get("client_id")
    hint = params.get("id_token_hint")
    hinted: str | None = None
    if hint is not None:
        try:
            claims = s.tokens.decode(hint, verify_exp=False, client_secret=s.clients.secret)
        except InvalidToken as exc:
            raise InvalidRequest(
                f"id_token_hint is not an ID token of this issuer ({exc.description})"
            ) from None
        if header_of(hint).get("typ") == "at+jwt":  # verified by decode()
            raise InvalidRequest(
                "id_token_hint is an access token, not an ID token (RFC 8725 §3.11)"
            )
        aud = claims.get("aud")
        found = claims.get("azp") or (aud[0] if isinstance(aud, list) and aud else aud)
        if not isinstance(found, str):
            raise InvalidRequest("id_token_hint has no audience")
        hinted = found
    if client_id is not None and hinted is not None and client_id != hinted:
        raise InvalidRequest("client_id does not match the id_token_hint audience")
    chosen = client_id or hinted
    if chosen is None:
        return None
    client = s.clients.get(chosen)
    if client is None:
        raise InvalidRequest(f"unknown client_id {chosen[:80]!r}")
    return client


def handle(s: Services, request: Request) -> Response:
    """End the session; redirect only to a registered ``post_logout_redirect_uri``."""
    params = form_params(request) if request.method == "POST" else query_params(request)
    params.reject_duplicates()
    client = _client(s, params)
    target = params.get("post_logout_redirect_uri")
    if target is not None:
        if client is None:
            raise InvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint")
        if not client.post_logout_uri_allowed(target):
            raise InvalidRequest("post_logout_redirect_uri is not registered for this client")
    sid = request.cookies.get(s.session_cookie)
    if sid:
        s.store.end_session(sid)
    if target is not None:
        state = params.get("state")
        response = Response("", status=302)
        query = urlencode({"state": state}) if state is not None else ""
        separator = "&" if "?" in target else "?"
        response.headers["Location"] = target + (separator + query if query else "")
    else:
        response = html_page("Logged out", "You have been logged out.")
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(s.session_cookie, path=s.cookie_path)
    return response


ENDPOINT = register_endpoint(
    Endpoint(
        "end_session",
        "/endsession",
        ("GET", "POST"),
        handle,
        "end_session_endpoint",
        errors=ErrorStyle.PAGE,
        page_title="Logout failed",
    )
)
