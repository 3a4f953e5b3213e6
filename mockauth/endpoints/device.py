"""The device authorization endpoint and the verification URI (RFC 8628 §3.1 to §3.3).

``POST /device_authorization`` starts a request and answers the codes; ``GET
/device`` is where the user goes: with ``user_code`` (as
``verification_uri_complete`` carries it) the request is approved at once as
the ``login_hint`` user, else the default user, as ``/authorize`` does without
a login page; without one it shows a form asking for the code.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from ..clientauth import authenticate
from ..device import GRANT_TYPE, decide, format_user_code, normalise, start
from ..errors import (
    AccessDenied,
    ErrorStyle,
    InvalidRequest,
    MockauthError,
    UnauthorizedClient,
)
from ..grants.common import check_scope, parse_scope, resolve_audience
from ..http import Params, Response, form_params, html_page, json_response, query_params
from . import Endpoint, register_endpoint
from .authorize.login import (
    browser_token,
    check_token,
    page_shell,
    signed_in,
    user_from_form,
    with_token,
)

if TYPE_CHECKING:
    from ..http import Request
    from ..services import Services
    from ..store import DeviceAuthorization
    from ..users import User


def device_authorization(s: Services, request: Request) -> Response:
    """RFC 8628 §3.2: 200 with the device code, the user code and where to go."""
    # A confidential client asking for its default scope may send no body at all.
    empty = not request.body and request.body_error is None and not request.mimetype
    params = Params(MultiDict()) if empty else form_params(request)
    params.reject_duplicates()
    client, _ = authenticate(s, request, params)
    if not client.allows_grant(GRANT_TYPE):
        raise UnauthorizedClient("this client is not registered for the device code grant")
    scope = parse_scope(params.get("scope") or client.default_scope)
    check_scope(client, scope)
    device = start(s, client, scope, resolve_audience(client, params))
    shown = format_user_code(device.user_code)
    verification_uri = s.url_for("device_verification")
    return json_response(
        {
            "device_code": device.device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={shown}",
            "expires_in": round(device.expires_at - s.clock.now()),
            "interval": device.interval,
        }
    )


_FORM = (
    '<form method="get"><label for="user_code">Code</label> '
    '<input id="user_code" name="user_code" autocomplete="off" autofocus> '
    '<button type="submit">Continue</button></form>'
)


def verification(s: Services, request: Request) -> Response:
    """The verification URI: approve the code it names, or ask for one; with the
    login page on, the user signs in and chooses Allow or Deny.
    """
    if s.config.login_page:
        return _interactive(s, request)
    params = form_params(request) if request.method == "POST" else query_params(request)
    user_code = params.get("user_code")
    if not user_code:
        response = html_page("Connect a device", "Enter the code your device shows.")
        body = response.get_data(as_text=True).replace("</body>", _FORM + "</body>")
        response.set_data(body)
        return response
    hint = params.get("login_hint")
    user = None
    if hint:
        user = s.users.find(hint)
        if user is None:
            raise InvalidRequest(f"login_hint {hint[:80]!r} matches no user of this provider")
    device = _decided(s, user_code, user, approve=True)
    return html_page("Device connected", f"You may go back to your device ({device.client_id}).")


register_endpoint(
    Endpoint(
        "device_authorization",
        "/device_authorization",
        ("POST",),
        device_authorization,
        "device_authorization_endpoint",
        client_auth="required",
        errors=ErrorStyle.BASIC,
        error_codes=frozenset({"invalid_client", "unauthorized_client", "invalid_scope"}),
    )
)


def _interactive(s: Services, request: Request) -> Response:
    """The device page of ``login_page = true``: the code (labelled **Code**), then
    who connects it (the session's user, or Username and Password) with **Allow**
    and **Deny**; the form posts here, guarded by the browser's anti-forgery token.
    """
    params = form_params(request) if request.method == "POST" else query_params(request)
    user_code = (params.get("user_code") or "").strip()
    token = browser_token(request)
    if not user_code:
        return with_token(s, _code_page(), token)
    device = s.store.device_by_user_code(normalise(user_code))
    if device is None or device.status != "pending" or device.expires_at <= s.clock.now():
        return with_token(s, _code_page(f"No device is waiting for the code {user_code}."), token)
    if request.method != "POST":
        return with_token(s, _connect_page(s, request, user_code, token), token)
    check_token(request, params.get("csrf") or "")
    if params.get("action") == "deny":
        _decided(s, user_code, None, approve=False)
        return page_shell("Device not connected", "<h1>Device not connected</h1>"
                          "<p>You may go back to your device.</p>")  # fmt: skip
    user = signed_in(s, request)
    problem = ""
    if user is None:
        user, problem = user_from_form(s, request)
    if user is None:
        return _connect_page(s, request, user_code, token, problem)
    device = _decided(s, user_code, user, approve=True)
    return page_shell("Device connected", "<h1>Device connected</h1><p>You may go back to "
                      f"your device ({html.escape(device.client_id)}).</p>")  # fmt: skip


def _decided(
    s: Services, user_code: str, user: User | None, *, approve: bool
) -> DeviceAuthorization:
    """:func:`~mockauth.device.decide`, a code gone or decided meanwhile shown as a page."""
    try:
        return decide(s, user_code, user, approve=approve)
    except MockauthError as exc:
        raise AccessDenied(str(exc), status_code=400) from None


def _code_page(error: str | None = None) -> Response:
    alert = f'<p role="alert" data-testid="error">{html.escape(error)}</p>' if error else ""
    return page_shell("Connect a device", (
        f"<h1>Connect a device</h1><p>Enter the code your device shows.</p>{alert}"
        '<form method="get"><label for="user_code">Code</label>'
        '<input id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" '
        'data-testid="user-code"><p><button type="submit" data-testid="continue">Continue'
        "</button></p></form>"
    ))  # fmt: skip


def _connect_page(
    s: Services, request: Request, user_code: str, token: str, error: str = ""
) -> Response:
    e = html.escape
    user = signed_in(s, request)
    alert = f'<p role="alert" data-testid="error">{e(error)}</p>' if error else ""
    who = (
        f'<p>Signed in as <strong data-testid="user">{e(user.username or user.sub)}</strong>.</p>'
        if user is not None
        else '<label for="username">Username</label><input id="username" name="username" '
        'autocomplete="username" autocapitalize="none" data-testid="username">'
        '<label for="password">Password</label><input id="password" name="password" '
        'type="password" autocomplete="current-password" data-testid="password">'
    )
    return page_shell("Connect a device", (
        f"<h1>Connect a device</h1><p>The device showing <strong>{e(user_code)}</strong> asks "
        f'for access.</p>{alert}<form method="post" action="{e(s.url_for("device_verification"))}">'
        f'<input type="hidden" name="user_code" value="{e(user_code)}">'
        f'<input type="hidden" name="csrf" value="{e(token)}">{who}'
        '<p><button type="submit" name="action" value="allow" data-testid="allow">Allow</button>'
        '<button type="submit" name="action" value="deny" class="secondary" data-testid="deny">'
        "Deny</button></p></form>"
    ))  # fmt: skip


register_endpoint(
    Endpoint(
        "device_verification",
        "/device",
        ("GET", "POST"),
        verification,
        errors=ErrorStyle.PAGE,
        cors=False,
        error_codes=frozenset({"access_denied"}),
        page_title="Cannot connect the device",
    )
)
