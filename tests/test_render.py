"""One error renderer, by style; endpoints and faults render through it, and
the journal records the error that was raised.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mockauth import Client, Provider
from mockauth.endpoints import endpoints
from mockauth.errors import (
    ErrorStyle,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    render,
    scripted_status,
)
from mockauth.http import Response

from .helpers import WEB_REDIRECT, secret_auth


def body(response: Response) -> dict[str, str]:
    data: dict[str, str] = json.loads(response.get_data())
    return data


def test_json_style() -> None:
    response = render(InvalidGrant("the code expired"), ErrorStyle.JSON)
    assert (response.status_code, response.mimetype) == (400, "application/json")
    assert body(response) == {"error": "invalid_grant", "error_description": "the code expired"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("style", [ErrorStyle.JSON, ErrorStyle.BASIC])
def test_every_401_challenges(style: ErrorStyle) -> None:
    response = render(InvalidClient("unknown client"), style)
    assert (response.status_code, response.headers["WWW-Authenticate"]) == (
        401,
        'Basic realm="mockauth"',
    )


def test_a_challenge_the_error_carries_is_kept() -> None:
    error = InvalidClient("x", headers={"WWW-Authenticate": 'Custom realm="x"'})
    assert render(error, ErrorStyle.BASIC).headers["WWW-Authenticate"] == 'Custom realm="x"'


def test_bearer_style() -> None:
    response = render(InvalidToken("expired"), ErrorStyle.BEARER)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="mockauth", error="invalid_token", error_description="expired"'
    )
    scoped = render(InsufficientScope(challenge={"scope": "openid"}), ErrorStyle.BEARER)
    assert scoped.status_code == 403
    assert scoped.headers["WWW-Authenticate"] == (
        'Bearer realm="mockauth", error="insufficient_scope", scope="openid"'
    )


def test_redirect_style_and_its_page_fallback() -> None:
    sent: list[OAuthError] = []

    def redirect(error: OAuthError) -> Response:
        sent.append(error)
        answer = Response("", status=302)
        answer.headers["Location"] = "http://app/cb?error=" + error.error
        return answer

    error = InvalidRequest("bad scope")
    assert render(error, ErrorStyle.REDIRECT, redirect=redirect).status_code == 302
    assert sent == [error]
    page = render(
        InvalidRequest("<b>client</b>", redirect=False),
        ErrorStyle.REDIRECT,
        redirect=redirect,
        title="Invalid authorization request",
    )
    assert (page.status_code, page.mimetype) == (400, "text/html")
    assert "&lt;b&gt;client&lt;/b&gt;" in page.get_data(as_text=True)
    assert "<title>Invalid authorization request</title>" in page.get_data(as_text=True)
    assert len(sent) == 1  # never redirected
    assert render(error, ErrorStyle.REDIRECT).mimetype == "text/html"  # nowhere to redirect to


def test_page_style_keeps_the_status() -> None:
    page = render(InvalidRequest("too big", status_code=413), ErrorStyle.PAGE, title="Logout")
    assert (page.status_code, page.mimetype) == (413, "text/html")
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("code", "style", "status"),
    [
        ("invalid_client", ErrorStyle.BASIC, 401),
        ("invalid_client", ErrorStyle.BEARER, 400),
        ("invalid_token", ErrorStyle.BEARER, 401),
        ("invalid_token", ErrorStyle.JSON, 400),
        ("insufficient_scope", ErrorStyle.BEARER, 403),
        ("server_error", ErrorStyle.JSON, 500),
        ("temporarily_unavailable", ErrorStyle.BEARER, 503),
        ("invalid_grant", ErrorStyle.BASIC, 400),
    ],
)
def test_scripted_status_follows_the_endpoint(code: str, style: ErrorStyle, status: int) -> None:
    assert scripted_status(code, style) == status


def test_each_endpoint_declares_its_style() -> None:
    styles = {ep.name: ep.errors for ep in endpoints()}
    assert styles == {
        "discovery": ErrorStyle.JSON,
        "jwks": ErrorStyle.JSON,
        "authorize": ErrorStyle.REDIRECT,
        "token": ErrorStyle.BASIC,
        "userinfo": ErrorStyle.BEARER,
        "introspect": ErrorStyle.BASIC,
        "revoke": ErrorStyle.BASIC,
        "end_session": ErrorStyle.PAGE,
        "device_authorization": ErrorStyle.BASIC,
        "device_verification": ErrorStyle.PAGE,
        "registration": ErrorStyle.JSON,
        "registration_client": ErrorStyle.JSON,
        "par": ErrorStyle.BASIC,
        "resource": ErrorStyle.BEARER,
        "resource_metadata": ErrorStyle.JSON,
        "login": ErrorStyle.REDIRECT,
    }


# --- the same rendering for endpoints and faults ---------------------------------------------


@pytest.mark.parametrize("endpoint", ["userinfo", "token", "authorize", "end_session"])
def test_a_scripted_error_looks_like_the_real_one(
    provider: Provider, http: httpx.Client, web: Client, endpoint: str
) -> None:
    """The provider's own error and the same error scripted are the same response."""
    real_error = {
        "userinfo": ("GET", {"headers": {"Authorization": "Bearer nope"}}, "invalid_token"),
        "token": (
            "POST",
            {
                "data": {"grant_type": "refresh_token", "refresh_token": "nope"},
                "auth": secret_auth(web),
            },
            "invalid_grant",
        ),
        "authorize": (
            "GET",
            {
                "params": {
                    "client_id": "web",
                    "redirect_uri": WEB_REDIRECT,
                    "response_type": "bogus",
                    "state": "s",
                }
            },
            "unsupported_response_type",
        ),
        "end_session": ("GET", {"params": {"id_token_hint": "not-a-jwt"}}, "invalid_request"),
    }
    method, kwargs, code = real_error[endpoint]
    real = http.request(method, provider.endpoint(endpoint), **kwargs)  # type: ignore[arg-type]
    ok_kwargs = dict(kwargs)
    if endpoint == "authorize":
        ok_kwargs["params"] = {**kwargs["params"], "response_type": "code"}  # type: ignore[dict-item]
    description = (
        real.json().get("error_description") if endpoint in ("userinfo", "token") else None
    )
    provider.fail(endpoint, error=code, description=description, times=1)
    scripted = http.request(method, provider.endpoint(endpoint), **ok_kwargs)  # type: ignore[arg-type]
    assert scripted.status_code == real.status_code
    assert scripted.headers.get("WWW-Authenticate") == real.headers.get("WWW-Authenticate")
    assert scripted.headers.get("Content-Type") == real.headers.get("Content-Type")
    if endpoint == "authorize":
        got = parse_qs(urlsplit(scripted.headers["Location"]).query)
        want = parse_qs(urlsplit(real.headers["Location"]).query)
        assert (got["error"], got["state"], got["iss"]) == (
            want["error"],
            want["state"],
            want["iss"],
        )
    elif endpoint != "end_session":
        assert scripted.json() == real.json()
    errors = [c.error for c in provider.calls]
    assert errors == [code, code]  # both recorded as raised


def test_the_journal_records_the_raised_error_of_a_page(
    provider: Provider, http: httpx.Client
) -> None:
    params = {"client_id": "web", "redirect_uri": "http://evil/cb", "response_type": "code"}
    page = http.get(provider.endpoint("authorize"), params=params)
    assert (page.status_code, page.headers["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert (provider.calls[-1].status, provider.calls[-1].error) == (400, "invalid_request")


def test_a_scripted_body_is_read_for_its_error(provider: Provider, http: httpx.Client) -> None:
    provider.fail("token", status=400, body={"error": "custom_code"}, times=1)
    http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert provider.calls[-1].error == "custom_code"
