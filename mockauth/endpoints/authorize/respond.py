"""The authorization response: the code (and the hybrid flow's ID token),
or an error, back at the redirect URI in the response mode (RFC 6749
§4.1.2, OIDC Core §3.3.2.5, OAuth 2.0 Form Post Response Mode), with
``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ...errors import ErrorStyle, OAuthError, render
from ...http import Response
from ...store import AuthorizationCode
from ...tokens.service import new_secret
from ...users import claims_for_scopes
from .request import authorization_params, client_and_redirect, reply_mode, state_of

if TYPE_CHECKING:
    from ...http import Request
    from ...services import Services
    from .interaction import Approved
    from .request import AuthorizationRequest

__all__ = ["PAGE_TITLE", "answer_error", "approve", "error_redirect", "redirect"]

PAGE_TITLE = "Invalid authorization request"


def redirect(redirect_uri: str, mode: str, values: dict[str, str]) -> Response:
    """``values`` back at ``redirect_uri``: in the query, the fragment, or a self-posting form."""
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


def _finish(
    s: Services, redirect_uri: str, mode: str, state: str | None, values: dict[str, str]
) -> Response:
    if state is not None:
        values["state"] = state
    values["iss"] = s.issuer
    return redirect(redirect_uri, mode, values)


def approve(s: Services, areq: AuthorizationRequest, approved: Approved) -> Response:
    """Issue the code (and, hybrid, the ID token with ``c_hash``) and redirect."""
    now = s.clock.now()
    session, user = approved.session, approved.user
    code = AuthorizationCode(
        code=new_secret(),
        client_id=areq.client.client_id,
        redirect_uri=areq.redirect_uri,
        redirect_uri_sent=areq.redirect_uri_sent,
        scope=areq.scope,
        sub=user.sub,
        auth_time=session.auth_time,
        expires_at=now + s.config.tokens.code_ttl,
        nonce=areq.nonce,
        code_challenge=areq.code_challenge,
        code_challenge_method=areq.code_challenge_method,
        audience=areq.audience,
        resources=areq.resources,
        sid=session.sid,
        dpop_jkt=areq.dpop_jkt,
        login_claims=session.claims,
    )
    s.store.put_code(code, now)
    values = {"code": code.code}
    if areq.hybrid:
        # OIDC Core §3.3.2.11: the front-channel ID token carries c_hash.
        claims = {**claims_for_scopes(user, user.sub, areq.scope), **session.claims}
        claims.pop("sub")
        values["id_token"] = s.tokens.id_token(
            client_id=areq.client.client_id,
            client_secret=areq.client.client_secret,
            sub=user.sub,
            auth_time=session.auth_time,
            alg=areq.client.id_token_signed_response_alg,
            nonce=code.nonce,
            code=code.code,
            sid=session.sid,
            claims=claims,
            user=user,
        )
    response = _finish(s, areq.redirect_uri, areq.response_mode, areq.state, values)
    if approved.fresh:
        response.set_cookie(
            s.session_cookie, session.sid, path=s.cookie_path, httponly=True, samesite="Lax"
        )
    return response


def answer_error(s: Services, areq: AuthorizationRequest, error: OAuthError) -> Response:
    """``error`` back at ``areq``'s client, in its response mode, with ``state`` and ``iss``."""
    return _finish(s, areq.redirect_uri, areq.response_mode, areq.state, error.to_dict())


def error_redirect(s: Services, request: Request, error: OAuthError) -> Response:
    """``error`` for this authorization request: redirected to the client when the
    client and redirect URI are valid (RFC 6749 §4.1.2.1), else shown as a page.
    """
    try:
        params = authorization_params(request)
        target = client_and_redirect(s, params)
    except OAuthError as bad:
        return render(bad, ErrorStyle.PAGE, title=PAGE_TITLE)
    values = error.to_dict()
    return _finish(s, target.redirect_uri, reply_mode(params), state_of(params), values)
