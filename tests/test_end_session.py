"""RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from mockauth import Client, Provider

from .helpers import WEB_REDIRECT, code_flow, redirect_params

BYE = "http://127.0.0.1:5000/bye"


def end_session(http: httpx.Client, provider: Provider, **params: str) -> httpx.Response:
    return http.get(provider.endpoint("end_session"), params=params)


def assert_error_page(response: httpx.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.headers)
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def login(http: httpx.Client, provider: Provider, client: Client, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": "openid",
        **extra,
    }
    return redirect_params(http.get(provider.endpoint("authorize"), params=params))


def prompt_none(http: httpx.Client, provider: Provider, client: Client) -> dict[str, str]:
    return login(http, provider, client, prompt="none")


@pytest.fixture
def id_token(http: httpx.Client, provider: Provider, web: Client) -> str:
    token: str = code_flow(http, provider, web, login_hint="alice")["id_token"]
    return token


# --- post_logout_redirect_uri -----------------------------------------------


@pytest.mark.parametrize("state", ["s1", "a&b=c+d%20 é", "x" * 2048])
def test_registered_uri_redirects_with_state(
    http: httpx.Client, provider: Provider, web: Client, state: str
) -> None:
    r = end_session(http, provider, client_id="web", post_logout_redirect_uri=BYE, state=state)
    assert r.status_code == 302
    location = r.headers["location"]
    parts = urlsplit(location)
    assert location.startswith(BYE + "?")
    assert parse_qs(parts.query) == {"state": [state]}
    assert r.headers["cache-control"] == "no-store"


def test_registered_uri_without_state_redirects_exactly(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = end_session(http, provider, client_id="web", post_logout_redirect_uri=BYE)
    assert r.status_code == 302
    assert r.headers["location"] == BYE


def test_registered_uri_with_id_token_hint_only(
    http: httpx.Client, provider: Provider, id_token: str
) -> None:
    r = end_session(http, provider, id_token_hint=id_token, post_logout_redirect_uri=BYE, state="s")
    assert r.status_code == 302
    assert r.headers["location"] == BYE + "?state=s"


def test_post_form_works(http: httpx.Client, provider: Provider, id_token: str) -> None:
    r = http.post(
        provider.endpoint("end_session"),
        data={"id_token_hint": id_token, "post_logout_redirect_uri": BYE, "state": "p"},
    )
    assert r.status_code == 302
    assert r.headers["location"] == BYE + "?state=p"


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/bye",
        BYE + "/",
        BYE + "?x=1",
        BYE + "#f",
        "HTTP://127.0.0.1:5000/bye",
        "http://127.0.0.1:5001/bye",
        WEB_REDIRECT,  # a login redirect URI is not a logout one
        "javascript:alert(1)",
    ],
)
def test_unregistered_uri_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client, id_token: str, uri: str
) -> None:
    assert_error_page(end_session(http, provider, client_id="web", post_logout_redirect_uri=uri))
    assert_error_page(
        end_session(http, provider, id_token_hint=id_token, post_logout_redirect_uri=uri)
    )


def test_uri_of_another_client_is_an_error_page(http: httpx.Client, provider: Provider) -> None:
    provider.add_client(
        client_id="other",
        client_secret="other-secret-0123456789",
        redirect_uris=["http://127.0.0.1:6000/cb"],
        post_logout_redirect_uris=["http://127.0.0.1:6000/bye"],
    )
    r = end_session(
        http, provider, client_id="web", post_logout_redirect_uri="http://127.0.0.1:6000/bye"
    )
    assert_error_page(r)


def test_uri_without_a_client_is_an_error_page(http: httpx.Client, provider: Provider) -> None:
    assert_error_page(end_session(http, provider, post_logout_redirect_uri=BYE))


def test_unknown_client_is_an_error_page(http: httpx.Client, provider: Provider) -> None:
    assert_error_page(end_session(http, provider, client_id="ghost", post_logout_redirect_uri=BYE))


def test_error_page_does_not_end_the_session(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    login(http, provider, web)
    assert_error_page(
        end_session(
            http, provider, client_id="web", post_logout_redirect_uri="https://evil.example/"
        )
    )
    assert "code" in prompt_none(http, provider, web)


def test_duplicate_parameters_are_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = http.get(
        provider.endpoint("end_session"),
        params=[
            ("client_id", "web"),
            ("post_logout_redirect_uri", BYE),
            ("post_logout_redirect_uri", BYE),
        ],
    )
    assert_error_page(r)


# --- id_token_hint ----------------------------------------------------------


def test_id_token_hint_for_another_client_id_is_an_error_page(
    http: httpx.Client, provider: Provider, id_token: str, spa: Client
) -> None:
    r = end_session(
        http, provider, id_token_hint=id_token, client_id="spa", post_logout_redirect_uri=BYE
    )
    assert_error_page(r)


def test_id_token_hint_with_matching_client_id(
    http: httpx.Client, provider: Provider, id_token: str
) -> None:
    r = end_session(
        http, provider, id_token_hint=id_token, client_id="web", post_logout_redirect_uri=BYE
    )
    assert r.status_code == 302


def test_expired_id_token_hint_is_still_a_hint(
    http: httpx.Client, provider: Provider, id_token: str
) -> None:
    """RP-Initiated Logout §2: the OP should accept an expired ID token as a hint."""
    provider.clock.advance(provider.config.tokens.id_token_ttl + 3600)
    r = end_session(http, provider, id_token_hint=id_token, post_logout_redirect_uri=BYE)
    assert r.status_code == 302


def _forged_hints(provider: Provider, id_token: str) -> dict[str, str]:
    header = jwt.get_unverified_header(id_token)
    claims = jwt.decode(id_token, options={"verify_signature": False})
    other = Provider(issuer="https://other.example/default")
    return {
        "garbage": "garbage",
        "a.b.c.d": "a.b.c.d",
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": header["kid"]}),
        "tampered": id_token[:-4] + ("AAAA" if not id_token.endswith("AAAA") else "BBBB"),
        "other issuer": other.issue_id_token("alice", client_id="web"),
    }


def test_forged_id_token_hint_is_an_error_page(
    http: httpx.Client, provider: Provider, id_token: str
) -> None:
    for name, hint in _forged_hints(provider, id_token).items():
        r = end_session(http, provider, id_token_hint=hint, post_logout_redirect_uri=BYE)
        assert r.status_code == 400, name
        assert "location" not in r.headers, name


def test_access_token_is_not_an_id_token_hint(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    """RFC 8725 §3.11: an access token (typ at+jwt) must not pass as an ID token."""
    access_token = code_flow(http, provider, web)["access_token"]
    r = end_session(http, provider, id_token_hint=access_token, post_logout_redirect_uri=BYE)
    assert_error_page(r)


# --- the session ends -------------------------------------------------------


def test_logout_clears_the_session_cookie(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    login(http, provider, web)
    assert "code" in prompt_none(http, provider, web)
    r = end_session(http, provider, client_id="web", post_logout_redirect_uri=BYE)
    assert r.status_code == 302
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(provider.session_cookie + "=")
    assert "Max-Age=0" in cookie or "expires=Thu, 01 Jan 1970" in cookie
    assert f"Path={provider.cookie_path}" in cookie
    assert prompt_none(http, provider, web)["error"] == "login_required"


def test_logout_ends_the_session_server_side(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    """A client that kept the old cookie value is not logged in either."""
    login(http, provider, web)
    sid = http.cookies[provider.session_cookie]
    end_session(http, provider)
    http.cookies.set(
        provider.session_cookie, sid, domain="mockauth.test", path=provider.cookie_path
    )
    assert prompt_none(http, provider, web)["error"] == "login_required"


def test_logout_without_redirect_shows_a_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    login(http, provider, web)
    r = end_session(http, provider)
    assert r.status_code == 200
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert prompt_none(http, provider, web)["error"] == "login_required"


def test_logout_with_id_token_hint_ends_the_session(
    http: httpx.Client, provider: Provider, web: Client, id_token: str
) -> None:
    assert "code" in prompt_none(http, provider, web)
    r = end_session(http, provider, id_token_hint=id_token, post_logout_redirect_uri=BYE)
    assert r.status_code == 302
    assert prompt_none(http, provider, web)["error"] == "login_required"


def test_logout_without_session_is_fine(http: httpx.Client, provider: Provider) -> None:
    r = end_session(http, provider, client_id="web", post_logout_redirect_uri=BYE, state="s")
    assert r.status_code == 302
    assert r.headers["location"] == BYE + "?state=s"


def test_new_login_after_logout_gets_a_new_session(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    login(http, provider, web)
    old = http.cookies[provider.session_cookie]
    end_session(http, provider)
    login(http, provider, web, login_hint="bob")
    new = http.cookies[provider.session_cookie]
    assert new != old
    got: dict[str, Any] = prompt_none(http, provider, web)
    assert "code" in got


def test_hs256_id_token_hint_is_accepted() -> None:
    provider = Provider(tokens={"signing_alg": "HS256"})
    web = provider.add_client(
        client_id="web",
        client_secret="web-secret-0123456789-abcdefghijkl",
        redirect_uris=[WEB_REDIRECT],
        post_logout_redirect_uris=[BYE],
    )
    provider.add_user("alice", password="alice-pw")
    with provider.httpx_client() as http:
        id_token = code_flow(http, provider, web)["id_token"]
        r = end_session(http, provider, id_token_hint=id_token, post_logout_redirect_uri=BYE)
    assert r.status_code == 302
