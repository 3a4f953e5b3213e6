"""Token revocation (RFC 7009)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockauth import Client, Provider

from .helpers import code_flow, post_as, refresh, secret_auth, userinfo_status


def revoke(
    http: httpx.Client, provider: Provider, token: str, client: Client, **extra: str
) -> httpx.Response:
    return post_as(http, provider, "revoke", client, {"token": token, **extra})


def assert_revoked_ok(response: httpx.Response) -> None:
    """RFC 7009 §2.2: 200 (not 204), for known and unknown tokens alike."""
    assert response.status_code == 200, response.text
    assert response.headers.get("cache-control") == "no-store"


@pytest.fixture
def tokens(http: httpx.Client, provider: Provider, web: Client) -> dict[str, Any]:
    return code_flow(http, provider, web)


def test_revocation_needs_client_authentication(
    http: httpx.Client, provider: Provider, tokens: dict[str, Any]
) -> None:
    r = http.post(provider.endpoint("revoke"), data={"token": tokens["access_token"]})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert userinfo_status(http, provider, tokens["access_token"]) == 200


def test_wrong_secret_is_401_and_revokes_nothing(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    r = http.post(
        provider.endpoint("revoke"),
        data={"token": tokens["access_token"]},
        auth=(web.client_id, "wrong"),
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic ")
    assert userinfo_status(http, provider, tokens["access_token"]) == 200


def test_missing_token_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = http.post(provider.endpoint("revoke"), data={}, auth=secret_auth(web))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_get_is_405(http: httpx.Client, provider: Provider) -> None:
    r = http.get(provider.endpoint("revoke"), params={"token": "x"})
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("token", ["unknown", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_unknown_token_is_200(
    http: httpx.Client, provider: Provider, web: Client, token: str
) -> None:
    assert_revoked_ok(revoke(http, provider, token, web))


def test_revoking_an_access_token(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    other_grant = code_flow(http, provider, web)
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], web))
    assert userinfo_status(http, provider, tokens["access_token"]) == 401
    assert userinfo_status(http, provider, other_grant["access_token"]) == 200
    # Revoking it again is still fine.
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], web))


def test_another_clients_token_is_not_revoked(
    http: httpx.Client, provider: Provider, other: Client, web: Client, tokens: dict[str, Any]
) -> None:
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], other))
    assert_revoked_ok(revoke(http, provider, tokens["refresh_token"], other))
    assert userinfo_status(http, provider, tokens["access_token"]) == 200
    assert refresh(http, provider, web, tokens["refresh_token"]).status_code == 200


def test_public_client_revokes_its_own_token(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    tokens = code_flow(http, provider, spa)
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], spa))
    assert userinfo_status(http, provider, tokens["access_token"]) == 401


def test_public_client_cannot_revoke_another_clients_token(
    http: httpx.Client, provider: Provider, spa: Client, tokens: dict[str, Any]
) -> None:
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], spa))
    assert userinfo_status(http, provider, tokens["access_token"]) == 200


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", "bogus"])
def test_wrong_token_type_hint_still_finds_an_access_token(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any], hint: str
) -> None:
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], web, token_type_hint=hint))
    assert userinfo_status(http, provider, tokens["access_token"]) == 401


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "bogus"])
def test_wrong_token_type_hint_still_finds_a_refresh_token(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any], hint: str
) -> None:
    assert_revoked_ok(revoke(http, provider, tokens["refresh_token"], web, token_type_hint=hint))
    r = refresh(http, provider, web, tokens["refresh_token"])
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_kills_its_access_tokens(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    second = refresh(http, provider, web, tokens["refresh_token"]).json()
    bystander = code_flow(http, provider, web)
    assert_revoked_ok(revoke(http, provider, second["refresh_token"], web))
    # Both access tokens of the grant, before and after the refresh, are dead ...
    assert userinfo_status(http, provider, tokens["access_token"]) == 401
    assert userinfo_status(http, provider, second["access_token"]) == 401
    assert refresh(http, provider, web, second["refresh_token"]).status_code == 400
    # ... and another grant of the same client and user is not.
    assert userinfo_status(http, provider, bystander["access_token"]) == 200
    assert refresh(http, provider, web, bystander["refresh_token"]).status_code == 200


def test_revoked_token_is_inactive_at_introspection(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], web))
    r = post_as(http, provider, "introspect", web, {"token": tokens["access_token"]})
    assert r.json() == {"active": False}


def test_revoking_an_issued_token(http: httpx.Client, provider: Provider, web: Client) -> None:
    token = provider.issue_token(subject="alice", client_id="web", scope="openid")
    assert userinfo_status(http, provider, token) == 200
    assert_revoked_ok(revoke(http, provider, token, web))
    assert userinfo_status(http, provider, token) == 401


def test_revoking_an_expired_token_is_200(
    http: httpx.Client, provider: Provider, web: Client, tokens: dict[str, Any]
) -> None:
    provider.clock.advance(provider.config.tokens.refresh_token_ttl + 1)
    assert_revoked_ok(revoke(http, provider, tokens["access_token"], web))
    assert_revoked_ok(revoke(http, provider, tokens["refresh_token"], web))
