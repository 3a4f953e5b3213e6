"""The authorization endpoint (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2).

The request is validated into an :class:`~.request.AuthorizationRequest`,
the :class:`~.interaction.Authenticator` decides who approves it (at once,
or on the login page of :mod:`.login`), and :mod:`.respond` sends the code back. Errors about
the client or the redirect URI are shown as a page and never redirected
(RFC 6749 §4.1.2.1); every other error goes back to the client with
``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ErrorStyle, InvalidRequest
from .. import Endpoint, register_endpoint
from .interaction import Approved, authenticator_for, queued_login
from .login import LOGIN_PAGE, ask_consent, consent_needed
from .pushed import REQUEST_URI_PREFIX, pushed_params, requires_par
from .request import authorization_params, client_and_redirect, validate
from .respond import PAGE_TITLE, approve, error_redirect

if TYPE_CHECKING:
    from ...http import Request, Response
    from ...services import Services

__all__ = ["ENDPOINT", "handle"]


def handle(s: Services, request: Request) -> Response:
    params = authorization_params(request)
    # Another request_uri (a request object by reference) is refused in validate().
    pushed = (params.get("request_uri") or "").startswith(REQUEST_URI_PREFIX)
    if pushed:  # RFC 9126 §4: the pushed parameters, and nothing else, are the request
        params = pushed_params(s, params)
    target = client_and_redirect(s, params)
    if not pushed and requires_par(s, target.client):
        raise InvalidRequest("this client must push its authorization requests (RFC 9126 §5)")
    areq = validate(s, params, target)
    outcome: Approved | Response | None = queued_login(s)
    if outcome is None:
        authenticator = LOGIN_PAGE if s.config.login_page else authenticator_for(s)
        outcome = authenticator.authenticate(s, request, areq)
    if not isinstance(outcome, Approved):
        return outcome  # a page: the authenticator resumes the request later
    if consent_needed(s, areq, outcome):
        return ask_consent(s, request, areq, outcome)
    return approve(s, areq, outcome)


ENDPOINT = register_endpoint(
    Endpoint(
        "authorize",
        "/authorize",
        ("GET", "POST"),
        handle,
        "authorization_endpoint",
        errors=ErrorStyle.REDIRECT,
        cors=False,  # a browser navigates here; scripts have no business calling it
        redirect=error_redirect,
        page_title=PAGE_TITLE,
        # RFC 6749 §4.1.2.1, RFC 8707 §2, OIDC Core §3.1.2.6.
        error_codes=frozenset(
            {
                "unauthorized_client",
                "access_denied",
                "unsupported_response_type",
                "invalid_scope",
                "invalid_target",
                "interaction_required",
                "login_required",
                "account_selection_required",
                "consent_required",
                "invalid_request_uri",
                "invalid_request_object",
                "request_not_supported",
                "request_uri_not_supported",
                "registration_not_supported",
            }
        ),
    )
)
