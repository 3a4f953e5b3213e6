"""Resource indicators (RFC 8707) all the way through: ``resource`` at /authorize
is bound into the code and the refresh token, narrowed at the token request and
becomes the access token's ``aud``; several resources; ``invalid_target``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockauth import Client, Provider

from .helpers import code_data, pkce_pair, post_as, redirect_params, refresh

API = "https://api.example.test/"
FILES = "https://files.example.test/v1"
OTHER = "https://elsewhere.example.test/"


def _code(
    http: httpx.Client, provider: Provider, client: Client, resources: list[str]
) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params: dict[str, Any] = {
        "response_type": "code", "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0], "scope": "openid offline_access",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": resources,
    }  # fmt: skip
    return redirect_params(http.get(provider.endpoint("authorize"), params=params))[
        "code"
    ], verifier


def _redeem(http: httpx.Client, provider: Provider, client: Client, code: str, verifier: str,
            resources: list[str] | None = None) -> httpx.Response:  # fmt: skip
    data: dict[str, Any] = code_data(client, code, verifier)
    if resources:
        data["resource"] = resources
    return post_as(http, provider, "token", client, data)


def _aud(provider: Provider, body: dict[str, Any]) -> Any:
    return provider.tokens.decode(body["access_token"])["aud"]


def test_several_resources_become_the_audience_and_stay_with_the_refresh_token(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = _code(http, provider, web, [API, FILES])
    body = _redeem(http, provider, web, code, verifier).json()
    assert _aud(provider, body) == [API, FILES]
    refreshed = refresh(http, provider, web, body["refresh_token"]).json()
    assert _aud(provider, refreshed) == [API, FILES]


def test_the_token_request_narrows_and_the_refresh_token_keeps_the_whole_grant(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = _code(http, provider, web, [API, FILES])
    body = _redeem(http, provider, web, code, verifier, [API]).json()
    assert _aud(provider, body) == API
    # the refresh token was granted both: a refresh may narrow to the other one
    files = refresh(http, provider, web, body["refresh_token"], resource=FILES).json()
    assert _aud(provider, files) == FILES
    both = refresh(http, provider, web, files["refresh_token"]).json()
    assert _aud(provider, both) == [API, FILES]


def test_a_resource_the_authorization_did_not_grant_is_invalid_target(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = _code(http, provider, web, [API])
    answer = _redeem(http, provider, web, code, verifier, [API, OTHER])
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_target")
    assert OTHER in answer.json()["error_description"]

    code, verifier = _code(http, provider, web, [API])
    body = _redeem(http, provider, web, code, verifier).json()
    widened = refresh(http, provider, web, body["refresh_token"], resource=OTHER)
    assert (widened.status_code, widened.json()["error"]) == (400, "invalid_target")
    # a refused refresh does not burn the refresh token
    assert refresh(http, provider, web, body["refresh_token"]).status_code == 200


def test_without_resources_at_authorize_the_token_request_may_name_one(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = _code(http, provider, web, [])
    body = _redeem(http, provider, web, code, verifier, [API]).json()
    assert _aud(provider, body) == API
    code, verifier = _code(http, provider, web, [])
    assert _aud(provider, _redeem(http, provider, web, code, verifier).json()) == "web"


def test_a_client_with_registered_audiences_may_ask_only_for_them(
    http: httpx.Client, provider: Provider
) -> None:
    bounded = provider.add_client(
        client_id="bounded", client_secret="bounded-secret-0123456789",
        redirect_uris=["http://127.0.0.1:5000/cb"], audience=[API],
    )  # fmt: skip
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code", "client_id": "bounded", "redirect_uri": bounded.redirect_uris[0],
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": OTHER,
        "state": "s1",
    }  # fmt: skip
    refused = redirect_params(http.get(provider.endpoint("authorize"), params=params))
    assert refused["error"] == "invalid_target"
    assert refused["state"] == "s1"
    assert OTHER in refused["error_description"]
    code, verifier = _code(http, provider, bounded, [API])
    assert _aud(provider, _redeem(http, provider, bounded, code, verifier).json()) == API


@pytest.mark.parametrize("bad", ["relative/path", "https://api.example.test/#frag", "http://[x"])
def test_a_resource_that_is_not_an_absolute_uri_is_invalid_target(
    http: httpx.Client, provider: Provider, service: Client, bad: str
) -> None:
    data = {"grant_type": "client_credentials", "resource": bad}
    answer = post_as(http, provider, "token", service, data)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_target")


def test_introspection_reports_the_audience(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = _code(http, provider, web, [API, FILES])
    token = _redeem(http, provider, web, code, verifier).json()["access_token"]
    info = post_as(http, provider, "introspect", web, {"token": token}).json()
    assert info["aud"] == [API, FILES]
