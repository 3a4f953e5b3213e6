"""Token introspection (RFC 7662)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockauth import Client, Provider

from .helpers import code_flow, post_as, refresh, secret_auth

INACTIVE = {"active": False}


def active(
    http: httpx.Client, provider: Provider, token: str, client: Client, **extra: str
) -> dict[str, Any]:
    r = post_as(http, provider, "introspect", client, {"token": token, **extra})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def tokens(http: httpx.Client, provider: Provider, web: Client) -> dict[str, Any]:
    return code_flow(http, provider, web, scope="openid email", login_hint="bob")


# --- the caller authenticates -----------------------------------------------


def test_no_client_authentication_is_401(
    http: httpx.Client, provider: Provider, tokens: dict[str, Any]
) -> None:
    r = http.post(provider.endpoint("introspect"), data={"token": tokens["access_token"]})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "active" not in r.json()


def test_wrong_secret_is_401(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    r = http.post(
        provider.endpoint("introspect"),
        data={"token": tokens["access_token"]},
        auth=(web.client_id, "wrong"),
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic ")
    body = http.post(
        provider.endpoint("introspect"),
        data={"token": tokens["access_token"], "client_id": "web", "client_secret": "wrong"},
    )
    assert body.status_code == 401


def test_bearer_token_is_not_client_authentication(
    http: httpx.Client, provider: Provider, tokens: dict[str, Any]
) -> None:
    r = http.post(
        provider.endpoint("introspect"),
        data={"token": tokens["access_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert r.status_code in (400, 401)
    assert "active" not in r.json()


def test_missing_token_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = http.post(provider.endpoint("introspect"), data={}, auth=secret_auth(web))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_get_is_405(http: httpx.Client, provider: Provider) -> None:
    r = http.get(provider.endpoint("introspect"))
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


def test_json_body_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    r = http.post(
        provider.endpoint("introspect"),
        json={"token": tokens["access_token"]},
        auth=secret_auth(web),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


# --- active tokens ----------------------------------------------------------


def test_active_access_token(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    body = active(http, provider, tokens["access_token"], web)
    assert body["active"] is True
    assert body["sub"] == "bob"
    assert body["client_id"] == "web"
    assert body["scope"] == "openid email"
    assert body["username"] == "bob"
    assert body["iss"] == provider.issuer
    assert type(body["exp"]) is int
    assert type(body["iat"]) is int
    assert body["exp"] - body["iat"] == tokens["expires_in"]
    assert body["token_type"] == "Bearer"


def test_active_refresh_token(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    body = active(http, provider, tokens["refresh_token"], web)
    assert body["active"] is True
    assert body["sub"] == "bob"
    assert body["client_id"] == "web"
    assert body["scope"] == "openid email"


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "bogus"])
def test_token_type_hint_does_not_change_the_answer(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any], hint: str
) -> None:
    for kind in ("access_token", "refresh_token"):
        body = active(http, provider, tokens[kind], web, token_type_hint=hint)
        assert body["active"] is True, (kind, hint)
        assert body["sub"] == "bob"


def test_public_client_introspects_its_own_token(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    token = code_flow(http, provider, spa)["access_token"]
    assert active(http, provider, token, spa)["active"] is True


def test_resource_server_in_the_audience_may_introspect(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    token = provider.issue_token(subject="alice", client_id="web", audience="service")
    assert active(http, provider, token, service)["active"] is True


# --- exactly {"active": false} ----------------------------------------------


@pytest.mark.parametrize("token", ["unknown", "a.b.c", "x" * 5000])
def test_unknown_token_is_exactly_inactive(
    http: httpx.Client, provider: Provider, web: Client, token: str
) -> None:
    assert active(http, provider, token, web) == INACTIVE


def test_expired_access_token_is_exactly_inactive(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    provider.clock.advance(provider.config.tokens.access_token_ttl + 1)
    assert active(http, provider, tokens["access_token"], web) == INACTIVE


def test_expired_refresh_token_is_exactly_inactive(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    provider.clock.advance(provider.config.tokens.refresh_token_ttl + 1)
    assert active(http, provider, tokens["refresh_token"], web) == INACTIVE


def test_issued_expired_token_is_exactly_inactive(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    token = provider.issue_token(subject="alice", client_id="web", expires_in=-60)
    assert active(http, provider, token, web) == INACTIVE


def test_revoked_tokens_are_exactly_inactive(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    r = post_as(http, provider, "revoke", web, {"token": tokens["refresh_token"]})
    assert r.status_code == 200
    assert active(http, provider, tokens["refresh_token"], web) == INACTIVE
    assert active(http, provider, tokens["access_token"], web) == INACTIVE


def test_used_refresh_token_is_exactly_inactive(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    r = refresh(http, provider, web, tokens["refresh_token"])
    assert r.status_code == 200
    assert active(http, provider, tokens["refresh_token"], web) == INACTIVE
    assert active(http, provider, r.json()["refresh_token"], web)["active"] is True


def test_other_clients_tokens_are_exactly_inactive(
    http: httpx.Client, provider: Provider, other: Client, tokens: dict[str, Any]
) -> None:
    assert active(http, provider, tokens["access_token"], other) == INACTIVE
    assert active(http, provider, tokens["refresh_token"], other) == INACTIVE


def test_public_client_cannot_see_other_clients_tokens(
    http: httpx.Client, provider: Provider, spa: Client, tokens: dict[str, Any]
) -> None:
    assert active(http, provider, tokens["access_token"], spa) == INACTIVE
    assert active(http, provider, tokens["refresh_token"], spa) == INACTIVE


def test_id_token_is_not_an_active_access_token(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    assert active(http, provider, tokens["id_token"], web) == INACTIVE
