"""Clients by the client metadata names of RFC 7591 §2, in Python, config files
and the admin API; ``token_endpoint_auth_method = "none"`` is a public client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import ClientConfig, ConfigError, LiveServer, Provider, ProviderConfig
from mockauth.admin import TOKEN_HEADER

from .helpers import WEB_REDIRECT, get_code, pkce_pair, redirect_params, secret_auth


def public_jwk() -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": "k1"}


# --- "none" is a public client ----------------------------------------------------------


def test_auth_method_none_makes_a_public_client_in_python() -> None:
    provider = Provider()
    client = provider.add_client(
        client_id="cli", token_endpoint_auth_method="none", redirect_uris=["http://127.0.0.1/cb"]
    )
    assert (client.public, client.client_secret, client.auth_methods()) == (True, None, ("none",))
    assert "client_credentials" not in client.grant_types
    assert client.to_metadata()["token_endpoint_auth_method"] == "none"
    verifier, challenge = pkce_pair()
    with provider.httpx_client() as http:
        code = get_code(http, provider, client, scope="openid", challenge=challenge)["code"]
        r = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "cli",
                "code_verifier": verifier,
                "redirect_uri": "http://127.0.0.1/cb",
            },
        )
    assert r.status_code == 200, r.text


def test_auth_method_none_makes_a_public_client_in_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "mockauth.toml"
    path.write_text(
        '[[clients]]\nclient_id = "cli"\ntoken_endpoint_auth_method = "none"\n'
        'redirect_uris = ["http://127.0.0.1/cb"]\n'
    )
    client = Provider(ProviderConfig.from_file(path)).client("cli")
    assert (client.public, client.client_secret) == (True, None)


def test_auth_method_none_makes_a_public_client_over_the_admin_api() -> None:
    with LiveServer([Provider()], admin_token="t0ken") as server, httpx.Client() as http:
        r = http.post(
            f"{server.admin_url}/issuers/default/clients",
            json={
                "client_id": "cli",
                "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1/cb"],
            },
            headers={TOKEN_HEADER: "t0ken"},
        )
    assert r.status_code == 201, r.text
    data = r.json()
    assert (data["public"], data["client_secret"], data["token_endpoint_auth_method"]) == (
        True,
        None,
        "none",
    )


def test_none_cannot_have_a_secret_or_client_credentials() -> None:
    with pytest.raises(ConfigError) as secret:
        ClientConfig(token_endpoint_auth_method="none", client_secret="s")
    assert secret.value.key == "client_secret"
    with pytest.raises(ConfigError) as grant:
        ClientConfig(token_endpoint_auth_method="none", grant_types=("client_credentials",))
    assert grant.value.key == "grant_types"


# --- the RFC 7591 names ----------------------------------------------------------------------


def test_client_metadata_by_rfc_7591_names() -> None:
    jwk = public_jwk()
    provider = Provider()
    client = provider.add_client(
        client_id="app",
        client_name="The App",
        scope="openid profile orders:read",
        response_types=["code"],
        client_uri="https://app.example/",
        logo_uri="https://app.example/logo.png",
        tos_uri="https://app.example/tos",
        policy_uri="https://app.example/privacy",
        contacts=["ops@app.example"],
        software_id="4NRB1-0XZABZI9E6-5SM3R",
        software_version="2.1",
        jwks={"keys": [jwk]},
        redirect_uris=[WEB_REDIRECT],
    )
    assert (client.client_name, client.name) == ("The App", "The App")
    assert client.allowed_scopes == frozenset({"openid", "profile", "orders:read"})
    meta = client.to_metadata()
    assert meta["scope"] == "openid orders:read profile"
    assert {
        k: meta[k]
        for k in (
            "client_name",
            "response_types",
            "client_uri",
            "logo_uri",
            "tos_uri",
            "policy_uri",
            "contacts",
            "software_id",
            "software_version",
            "jwks",
        )
    } == {
        "client_name": "The App",
        "response_types": ["code"],
        "client_uri": "https://app.example/",
        "logo_uri": "https://app.example/logo.png",
        "tos_uri": "https://app.example/tos",
        "policy_uri": "https://app.example/privacy",
        "contacts": ["ops@app.example"],
        "software_id": "4NRB1-0XZABZI9E6-5SM3R",
        "software_version": "2.1",
        "jwks": {"keys": [jwk]},
    }
    other = provider.add_client(client_id="remote", jwks_uri="https://app.example/jwks.json")
    assert other.to_metadata()["jwks_uri"] == "https://app.example/jwks.json"


def test_the_old_names_stay_aliases() -> None:
    old = ClientConfig(name="Legacy", allowed_scopes=("openid", "email"))
    assert (old.client_name, old.scope) == ("Legacy", "openid email")
    new = ClientConfig(client_name="Legacy", scope="openid email")
    assert (new.name, new.allowed_scopes) == ("Legacy", ("openid", "email"))
    with pytest.raises(ConfigError) as both:
        ClientConfig(name="A", client_name="B")
    assert both.value.key == "name"
    with pytest.raises(ConfigError) as scopes:
        ClientConfig(scope="openid", allowed_scopes=("email",))
    assert scopes.value.key == "allowed_scopes"
    base = ClientConfig(client_id="c", scope="openid")
    assert Provider().add_client(base, allowed_scopes=["email"]).allowed_scopes == {"email"}


def test_scope_bounds_what_the_client_may_ask_for() -> None:
    provider = Provider()
    client = provider.add_client(
        client_id="app", scope="openid email", redirect_uris=[WEB_REDIRECT]
    )
    with provider.httpx_client() as http:
        ok = get_code(http, provider, client, scope="openid email")
        wider = http.get(
            "/authorize",
            params={
                "client_id": "app",
                "redirect_uri": WEB_REDIRECT,
                "response_type": "code",
                "scope": "openid phone",
            },
        )
    assert "code" in ok
    assert redirect_params(wider)["error"] == "invalid_scope"


def test_response_types_bound_the_flows() -> None:
    provider = Provider()
    provider.add_client(client_id="app", response_types=["code"], redirect_uris=[WEB_REDIRECT])
    with provider.httpx_client() as http:
        hybrid = http.get(
            "/authorize",
            params={
                "client_id": "app",
                "redirect_uri": WEB_REDIRECT,
                "response_type": "id_token code",
                "nonce": "n",
                "scope": "openid",
            },
        )
    assert hybrid.status_code == 302
    assert "unauthorized_client" in hybrid.headers["Location"]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"scope": 'openid "bad'}, "scope"),
        ({"client_uri": "not a uri"}, "client_uri"),
        ({"logo_uri": "ftp://x/logo"}, "logo_uri"),
        ({"jwks": {"keys": []}}, "jwks.keys"),
        ({"jwks": {"keys": [{"kty": "EC", "d": "secret"}]}}, "jwks.keys[0]"),
        ({"jwks": {"keys": [{"x": "no kty"}]}}, "jwks.keys[0]"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "jwks.keys[0]"),
        ({"jwks": {"keys": [{"kty": "EC"}]}, "jwks_uri": "https://x/jwks"}, "jwks_uri"),
        ({"response_types": [""]}, "response_types[0]"),
        ({"token_endpoint_auth_method": "client_secret_bacis"}, "token_endpoint_auth_method"),
    ],
)
def test_bad_metadata_names_the_key(fields: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Provider().add_client(**fields)
    assert info.value.key == key


def test_a_typo_in_an_auth_method_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match="did you mean 'client_secret_basic'"):
        ClientConfig(token_endpoint_auth_method="client_secret_bacis")


def test_the_admin_api_answers_with_rfc_names() -> None:
    provider = Provider()
    provider.add_client(
        client_id="app", client_name="The App", scope="openid", redirect_uris=[WEB_REDIRECT]
    )
    with LiveServer([provider], admin_token="t0ken") as server, httpx.Client() as http:
        data = http.get(
            f"{server.admin_url}/issuers/default/clients/app", headers={TOKEN_HEADER: "t0ken"}
        ).json()
        secret = http.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=secret_auth(provider.client("app")),
        ).status_code
    assert (data["client_name"], data["scope"], data["token_endpoint_auth_method"]) == (
        "The App",
        "openid",
        "client_secret_basic",
    )
    assert secret == 200
