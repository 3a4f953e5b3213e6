"""RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0 §2-§3)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ..clients import Client
from ..errors import InvalidToken, OAuthError
from ..http import Params, Request, Response, form_params, html_page, query_params

if TYPE_CHECKING:
    from ..provider import Provider


class _Bad(Exception):
    pass


def _client(provider: Provider, params: Params) -> Client | None:
    client_id = params.get("client_id")
    hint = params.get("id_token_hint")
    hinted: str | None = None
    if hint is not None:
        try:
            claims = provider.tokens.decode(
                hint, verify_exp=False, client_secret=provider.client_secret
            )
        except InvalidToken as exc:
            raise _Bad(
                f"id_token_hint is not an ID token of this issuer ({exc.description})"
            ) from None
        if _header(hint).get("typ") == "at+jwt":  # verified by decode()
            raise _Bad("id_token_hint is an access token, not an ID token (RFC 8725 §3.11)")
        aud = claims.get("aud")
        found = claims.get("azp") or (aud[0] if isinstance(aud, list) and aud else aud)
        if not isinstance(found, str):
            raise _Bad("id_token_hint has no audience")
        hinted = found
    if client_id is not None and hinted is not None and client_id != hinted:
        raise _Bad("client_id does not match the id_token_hint audience")
    chosen = client_id or hinted
    if chosen is None:
        return None
    client = provider.get_client(chosen)
    if client is None:
        raise _Bad(f"unknown client_id {chosen[:80]!r}")
    return client


def handle(provider: Provider, request: Request) -> Response:
    """End the session; redirect only to a registered ``post_logout_redirect_uri``."""
    try:
        params = form_params(request) if request.method == "POST" else query_params(request)
        params.reject_duplicates()
        client = _client(provider, params)
        target = params.get("post_logout_redirect_uri")
        if target is not None:
            if client is None:
                raise _Bad("post_logout_redirect_uri needs client_id or id_token_hint")
            if not client.post_logout_uri_allowed(target):
                raise _Bad("post_logout_redirect_uri is not registered for this client")
    except (_Bad, OAuthError) as exc:
        message = exc.description if isinstance(exc, OAuthError) else str(exc)
        status = exc.status_code if isinstance(exc, OAuthError) else 400  # 413 stays 413
        return html_page("Logout failed", message or "invalid request", status)
    sid = request.cookies.get(provider.session_cookie)
    if sid:
        provider.store.end_session(sid)
    if target is not None:
        state = params.get("state")
        response = Response("", status=302)
        query = urlencode({"state": state}) if state is not None else ""
        separator = "&" if "?" in target else "?"
        response.headers["Location"] = target + (separator + query if query else "")
    else:
        response = html_page("Logged out", "You have been logged out.")
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(provider.session_cookie, path=provider.cookie_path)
    return response


def _header(token: str) -> dict[str, object]:
    import jwt  # only logout with a hint needs it: start-up stays light

    return jwt.get_unverified_header(token)
