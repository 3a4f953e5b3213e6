"""The device authorization endpoint and the verification URI (RFC 8628 §3.1 to §3.3).

``POST /device_authorization`` starts a request and answers the codes; ``GET
/device`` is where the user goes: with ``user_code`` (as
``verification_uri_complete`` carries it) the request is approved at once as
the ``login_hint`` user, else the default user, as ``/authorize`` does without
a login page; without one it shows a form asking for the code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from ..clientauth import authenticate
from ..device import GRANT_TYPE, decide, format_user_code, start
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

if TYPE_CHECKING:
    from ..http import Request
    from ..services import Services


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
    """The verification URI: approve the code it names, or ask for one."""
    params = query_params(request)
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
    try:
        device = decide(s, user_code, user, approve=True)
    except MockauthError as exc:
        raise AccessDenied(str(exc), status_code=400) from None
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
register_endpoint(
    Endpoint(
        "device_verification",
        "/device",
        ("GET",),
        verification,
        errors=ErrorStyle.PAGE,
        cors=False,
        error_codes=frozenset({"access_denied"}),
        page_title="Cannot connect the device",
    )
)
