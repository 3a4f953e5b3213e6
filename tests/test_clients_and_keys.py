"""Lenient clients, secret rotation, mass revocation, several keys at once."""

from __future__ import annotations

import httpx
import jwt
import pytest

from mockauth import Client, MockauthError, Provider

from .helpers import code_flow, secret_auth

SERVICE = ("service", "service-secret-0123456789-abcdefgh")


def token_status(http: httpx.Client, provider: Provider, auth: tuple[str, str]) -> int:
    response = http.post(
        provider.endpoint("token"), data={"grant_type": "client_credentials"}, auth=auth
    )
    return response.status_code


def userinfo_status(http: httpx.Client, provider: Provider, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return http.get(provider.endpoint("userinfo"), headers=headers).status_code


def test_strict_by_default_lenient_on_request() -> None:
    strict = Provider()
    with strict.httpx_client() as http:
        assert token_status(http, strict, ("anyone", "anything")) == 401
    lenient = Provider(lenient_clients=True)
    with lenient.httpx_client() as http:
        assert token_status(http, lenient, ("anyone", "anything")) == 200
        assert token_status(http, lenient, ("anyone", "something else")) == 200
        response = http.get(
            lenient.endpoint("authorize"),
            params={
                "response_type": "code", "client_id": "web-app", "scope": "openid",
                "redirect_uri": "https://app.example.test/whatever/cb", "state": "s",
            },
        )  # fmt: skip
        assert response.status_code == 302
        assert response.headers["location"].startswith("https://app.example.test/whatever/cb?")
        # even a lenient provider never redirects to a script or a fragment
        for bad in ("javascript:alert(1)", "https://app.example.test/cb#frag"):
            refused = http.get(
                lenient.endpoint("authorize"),
                params={"response_type": "code", "client_id": "web-app", "redirect_uri": bad},
            )
            assert refused.status_code == 400
            assert "location" not in refused.headers


def test_rotated_secret(provider: Provider, http: httpx.Client) -> None:
    assert token_status(http, provider, SERVICE) == 200
    updated = provider.rotate_client_secret("service")
    assert updated.client_secret not in (None, SERVICE[1])
    assert token_status(http, provider, SERVICE) == 401
    assert token_status(http, provider, secret_auth(updated)) == 200
    fixed = provider.rotate_client_secret("service", "a-chosen-secret-0123456789-abcdef")
    assert fixed.client_secret == "a-chosen-secret-0123456789-abcdef"
    with pytest.raises(MockauthError, match="public"):
        provider.rotate_client_secret("spa")


def test_revoke_every_token_of_a_user(provider: Provider, http: httpx.Client, web: Client) -> None:
    alice = code_flow(http, provider, web, login_hint="alice")
    bob = code_flow(http, provider, web, login_hint="bob")
    assert provider.revoke_tokens(user="alice") == 2  # her access and refresh token
    assert userinfo_status(http, provider, alice["access_token"]) == 401
    assert userinfo_status(http, provider, bob["access_token"]) == 200
    refreshed = http.post(
        provider.endpoint("token"),
        data={"grant_type": "refresh_token", "refresh_token": alice["refresh_token"]},
        auth=secret_auth(web),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_revoke_every_token_of_a_client(
    provider: Provider, http: httpx.Client, web: Client
) -> None:
    user_token = code_flow(http, provider, web, login_hint="alice")["access_token"]
    service_token = provider.issue_token(client_id="service", scope="openid")
    assert provider.revoke_tokens(client="service") == 1
    assert userinfo_status(http, provider, service_token) == 401
    assert userinfo_status(http, provider, user_token) == 200
    with pytest.raises(MockauthError, match="user= or client="):
        provider.revoke_tokens()


def test_remove_user(provider: Provider) -> None:
    provider.remove_user("bob")
    assert provider.find_user("bob") is None
    assert provider.find_user("alice") is not None


def test_several_algorithms_at_once_and_a_key_per_token(provider: Provider) -> None:
    rs = provider.issue_token("alice", audience="api")
    es = provider.issue_token("alice", audience="api", alg="ES256")
    old_kid = jwt.get_unverified_header(rs)["kid"]
    provider.rotate_keys()
    by_old_key = provider.issue_token("alice", audience="api", kid=old_kid)
    keys = jwt.PyJWKSet.from_dict(provider.jwks())
    for token, alg in ((rs, "RS256"), (es, "ES256"), (by_old_key, "RS256")):
        header = jwt.get_unverified_header(token)
        assert header["alg"] == alg
        key = keys[header["kid"]]
        assert jwt.decode(token, key.key, algorithms=[alg], audience="api")["sub"] == "alice"
    assert jwt.get_unverified_header(by_old_key)["kid"] == old_kid
    with pytest.raises(MockauthError, match="no published key"):
        provider.issue_token("alice", kid="mockauth-nope")


def test_one_table_of_algorithms() -> None:
    import hashlib

    from mockauth.config import SIGNING_ALGS
    from mockauth.keys import ALGORITHMS, algorithm, b64url, process_key
    from mockauth.tokens import half_hash

    assert tuple(ALGORITHMS) == SIGNING_ALGS  # the config's choices are the table's
    for alg in SIGNING_ALGS:
        key = process_key(alg)
        assert key.alg == alg
        assert (key.public_jwk is None) == (ALGORITHMS[alg].kty == "oct")
        if key.public_jwk is not None:
            assert key.public_jwk["kty"] == ALGORITHMS[alg].kty
    # at_hash / c_hash follow the table: SHA-512 for Ed25519, else the name's hash
    assert len(half_hash("x", "EdDSA")) == len(half_hash("x", "ES512"))
    assert half_hash("x", "RS256") == b64url(hashlib.sha256(b"x").digest()[:16])
    assert half_hash("x", "EdDSA") == b64url(hashlib.sha512(b"x").digest()[:32])
    with pytest.raises(MockauthError, match="unsupported signing algorithm 'RS1'"):
        algorithm("RS1")
