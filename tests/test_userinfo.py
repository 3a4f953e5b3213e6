"""UserInfo endpoint (OIDC Core §5.3) as an RFC 6750 bearer-protected resource."""

from __future__ import annotations

import re

import httpx
import jwt
import pytest

from mockauth import Client, Provider

from .helpers import code_flow


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge_params(response: httpx.Response) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer ...`` challenge."""
    value = response.headers["www-authenticate"]
    assert value.startswith("Bearer "), value
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    params = challenge_params(response)
    assert params["error"] == "invalid_token"
    assert params["realm"]


@pytest.fixture
def token(http: httpx.Client, provider: Provider, web: Client) -> str:
    access_token: str = code_flow(
        http, provider, web, scope="openid profile email", login_hint="alice"
    )["access_token"]
    return access_token


# --- where the token comes from ---------------------------------------------


def test_get_with_bearer_header(http: httpx.Client, provider: Provider, token: str) -> None:
    r = http.get(provider.endpoint("userinfo"), headers=bearer(token))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "no-store"
    assert r.json()["sub"] == "alice"


def test_post_with_bearer_header(http: httpx.Client, provider: Provider, token: str) -> None:
    r = http.post(provider.endpoint("userinfo"), headers=bearer(token))
    assert r.status_code == 200
    assert r.json()["sub"] == "alice"


def test_post_with_form_body(http: httpx.Client, provider: Provider, token: str) -> None:
    r = http.post(provider.endpoint("userinfo"), data={"access_token": token})
    assert r.status_code == 200
    assert r.json()["sub"] == "alice"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(
    http: httpx.Client, provider: Provider, token: str, scheme: str
) -> None:
    r = http.get(provider.endpoint("userinfo"), headers={"Authorization": f"{scheme} {token}"})
    assert r.status_code == 200


def test_header_and_body_together_is_400(
    http: httpx.Client, provider: Provider, token: str
) -> None:
    r = http.post(
        provider.endpoint("userinfo"), headers=bearer(token), data={"access_token": token}
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert challenge_params(r)["error"] == "invalid_request"


def test_token_twice_in_the_body_is_400(http: httpx.Client, provider: Provider, token: str) -> None:
    r = http.post(
        provider.endpoint("userinfo"),
        content=f"access_token={token}&access_token={token}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400


@pytest.mark.parametrize("header", ["Basic d2ViOnNlY3JldA==", "Bearer", "Bearer ", "Token abc"])
def test_malformed_authorization_header_is_rejected(
    http: httpx.Client, provider: Provider, header: str
) -> None:
    r = http.get(provider.endpoint("userinfo"), headers={"Authorization": header})
    assert r.status_code in (400, 401)
    assert r.headers["www-authenticate"].startswith("Bearer ")
    assert "error" in challenge_params(r)


def test_token_in_the_query_is_not_accepted(
    http: httpx.Client, provider: Provider, token: str
) -> None:
    """RFC 6750 §2.3 query tokens leak into logs; treated as no token at all."""
    r = http.get(provider.endpoint("userinfo"), params={"access_token": token})
    assert r.status_code == 401
    assert "error" not in challenge_params(r)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_token_is_401_challenge_without_error(
    http: httpx.Client, provider: Provider, method: str
) -> None:
    r = http.request(method, provider.endpoint("userinfo"))
    assert r.status_code == 401
    params = challenge_params(r)
    assert params["realm"]
    assert "error" not in params
    assert "error_description" not in params


def test_empty_body_token_is_no_token(http: httpx.Client, provider: Provider) -> None:
    r = http.post(provider.endpoint("userinfo"), data={"access_token": ""})
    assert r.status_code == 401
    assert "error" not in challenge_params(r)


def test_other_methods_are_405(http: httpx.Client, provider: Provider) -> None:
    r = http.put(provider.endpoint("userinfo"))
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]


# --- bad tokens -------------------------------------------------------------


def test_garbage_token_is_invalid_token(http: httpx.Client, provider: Provider) -> None:
    assert_invalid_token(http.get(provider.endpoint("userinfo"), headers=bearer("garbage")))
    assert_invalid_token(http.post(provider.endpoint("userinfo"), data={"access_token": "x.y.z"}))


def test_expired_token_is_invalid_token(http: httpx.Client, provider: Provider, token: str) -> None:
    assert http.get(provider.endpoint("userinfo"), headers=bearer(token)).status_code == 200
    provider.clock.advance(provider.config.tokens.access_token_ttl + 1)
    assert_invalid_token(http.get(provider.endpoint("userinfo"), headers=bearer(token)))


def test_revoked_token_is_invalid_token(
    http: httpx.Client, provider: Provider, web: Client, token: str
) -> None:
    r = http.post(
        provider.endpoint("revoke"),
        data={"token": token},
        auth=(web.client_id, web.client_secret or ""),
    )
    assert r.status_code == 200
    assert_invalid_token(http.get(provider.endpoint("userinfo"), headers=bearer(token)))
    assert_invalid_token(http.post(provider.endpoint("userinfo"), data={"access_token": token}))


def test_error_description_is_quotable(http: httpx.Client, provider: Provider) -> None:
    r = http.get(provider.endpoint("userinfo"), headers=bearer('a"b\\c'))
    assert r.status_code == 401
    value = r.headers["www-authenticate"]
    # Every quoted-string is closed; no raw quote or backslash sneaks into a value.
    assert value.count('"') % 2 == 0
    assert "\\" not in value


def test_no_openid_scope_is_403_insufficient_scope(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    token = code_flow(http, provider, web, scope="profile email")["access_token"]
    r = http.get(provider.endpoint("userinfo"), headers=bearer(token))
    assert r.status_code == 403
    params = challenge_params(r)
    assert params["error"] == "insufficient_scope"
    assert "openid" in params.get("scope", "openid")
    assert r.json()["error"] == "insufficient_scope"


def test_client_credentials_token_is_403(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    token = provider.issue_token(client_id="service", scope="read")
    r = http.get(provider.endpoint("userinfo"), headers=bearer(token))
    assert r.status_code == 403


# --- claims by scope --------------------------------------------------------


@pytest.fixture
def rich(provider: Provider) -> str:
    provider.add_user(
        "carol",
        sub="u-carol",
        password="c",
        email="carol@example.com",
        email_verified=True,
        name="Carol C",
        given_name="Carol",
        phone_number="+1 555 0100",
        address={"country": "NZ"},
        claims={"groups": ["admins"]},
    )
    return "carol"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", {"sub", "groups"}),
        ("openid email", {"sub", "groups", "email", "email_verified"}),
        ("openid profile", {"sub", "groups", "name", "given_name"}),
        ("openid phone", {"sub", "groups", "phone_number"}),
        ("openid address", {"sub", "groups", "address"}),
        (
            "openid profile email phone address",
            {
                "sub",
                "groups",
                "name",
                "given_name",
                "email",
                "email_verified",
                "phone_number",
                "address",
            },
        ),
    ],
)
def test_claims_follow_the_scope(
    http: httpx.Client,
    provider: Provider,
    web: Client,
    rich: str,
    scope: str,
    expected: set[str],
) -> None:
    token = code_flow(http, provider, web, scope=scope, login_hint=rich)["access_token"]
    claims = http.get(provider.endpoint("userinfo"), headers=bearer(token)).json()
    assert set(claims) == expected
    assert claims["sub"] == "u-carol"
    if "email" in expected:
        assert claims["email"] == "carol@example.com"
        assert claims["email_verified"] is True
    if "address" in expected:
        assert claims["address"] == {"country": "NZ"}


def test_userinfo_sub_matches_id_token_sub(
    http: httpx.Client, provider: Provider, web: Client, rich: str
) -> None:
    tokens = code_flow(http, provider, web, login_hint="carol@example.com")
    id_sub = jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"]
    r = http.get(provider.endpoint("userinfo"), headers=bearer(tokens["access_token"]))
    assert r.json()["sub"] == id_sub == "u-carol"
