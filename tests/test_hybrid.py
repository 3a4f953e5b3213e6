"""The hybrid flow ``response_type=code id_token`` (OIDC Core §3.3)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.oidc.core import HybridIDToken

from mockauth import Client, Provider

from .helpers import code_data, pkce_pair, secret_auth


def authorize(
    http: httpx.Client, provider: Provider, client: Client, **extra: str
) -> httpx.Response:
    params = {
        "response_type": "code id_token",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": "openid email",
        "state": "s-1",
        "nonce": "n-1",
        "login_hint": "alice",
        **extra,
    }
    return http.get(provider.endpoint("authorize"), params=params)


def fragment(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert location.query == ""  # never the query for an ID token
    return {k: v[0] for k, v in parse_qs(location.fragment).items()}


def c_hash(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def verified(provider: Provider, token: str, client: Client) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in provider.jwks()["keys"] if k["kid"] == kid]
    return jwt.decode(
        token,
        jwt.PyJWK.from_dict(jwk).key,
        algorithms=[jwk["alg"]],
        audience=client.client_id,
        issuer=provider.issuer,
    )


def test_the_front_channel_carries_code_and_id_token_with_c_hash(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    got = fragment(authorize(http, provider, web))
    assert got["state"] == "s-1"
    assert got["iss"] == provider.issuer
    claims = verified(provider, got["id_token"], web)
    assert claims["c_hash"] == c_hash(got["code"])
    assert claims["nonce"] == "n-1"
    assert claims["sub"] == "alice"
    assert "at_hash" not in claims


def test_the_code_redeems_for_tokens_of_the_same_user(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    verifier, challenge = pkce_pair()
    got = fragment(
        authorize(http, provider, web, code_challenge=challenge, code_challenge_method="S256")
    )
    response = http.post(
        provider.endpoint("token"),
        data=code_data(web, got["code"], verifier),
        auth=secret_auth(web),
    )
    assert response.status_code == 200, response.text
    back = verified(provider, response.json()["id_token"], web)
    front = verified(provider, got["id_token"], web)
    assert (back["sub"], back["auth_time"], back["nonce"]) == (
        front["sub"],
        front["auth_time"],
        front["nonce"],
    )
    assert "at_hash" in back


def test_value_order_does_not_matter(http: httpx.Client, provider: Provider, web: Client) -> None:
    got = fragment(authorize(http, provider, web, response_type="id_token code"))
    assert {"code", "id_token"} <= got.keys()


@pytest.mark.parametrize(
    ("extra", "error"),
    [({"response_mode": "query"}, "invalid_request"), ({"nonce": ""}, "invalid_request")],
)
def test_errors_come_back_in_the_fragment(
    http: httpx.Client, provider: Provider, web: Client, extra: dict[str, str], error: str
) -> None:
    got = fragment(authorize(http, provider, web, **extra))
    assert got["error"] == error
    assert "code" not in got
    assert got["state"] == "s-1"


def test_form_post_carries_both(http: httpx.Client, provider: Provider, web: Client) -> None:
    response = authorize(http, provider, web, response_mode="form_post")
    assert response.status_code == 200
    assert 'name="code"' in response.text
    assert 'name="id_token"' in response.text


def test_metadata_lists_the_hybrid_response_type(provider: Provider) -> None:
    assert provider.metadata()["response_types_supported"] == ["code", "code id_token"]


def test_authlib_hybrid_validator_accepts_the_c_hash(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as authlib_jwt

    got = fragment(authorize(http, provider, web))
    claims = authlib_jwt.decode(
        got["id_token"],
        JsonWebKey.import_key_set(provider.jwks()),
        claims_cls=HybridIDToken,
        claims_options={"iss": {"values": [provider.issuer]}},
        claims_params={"nonce": "n-1", "client_id": web.client_id, "code": got["code"]},
    )
    claims.validate(now=int(provider.clock.now()))
    tampered = authlib_jwt.decode(
        got["id_token"],
        JsonWebKey.import_key_set(provider.jwks()),
        claims_cls=HybridIDToken,
        claims_params={"nonce": "n-1", "client_id": web.client_id, "code": got["code"] + "x"},
    )
    with pytest.raises(Exception, match="c_hash"):
        tampered.validate(now=int(provider.clock.now()))
