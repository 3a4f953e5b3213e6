from __future__ import annotations

import httpx

from mockauth import Client, Provider

from .helpers import code_flow


def test_code_flow_in_process(provider: Provider, http: httpx.Client, web: Client) -> None:
    tokens = code_flow(http, provider, web, login_hint="alice")
    assert tokens["token_type"] == "Bearer"
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens)
    info = http.get(
        provider.endpoint("userinfo"),
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert info.json()["sub"] == "alice"


def test_mockauth_fixture_is_served(mockauth: Provider) -> None:
    response = httpx.get(mockauth.issuer + "/.well-known/openid-configuration")
    assert response.json()["issuer"] == mockauth.issuer
