"""PyJWT's ``PyJWKClient`` verifying the provider's tokens over the served JWKS.

Access tokens are checked against RFC 9068 (``typ: at+jwt``; iss, sub, aud,
client_id, scope, jti, iat, exp), ID tokens against OIDC Core §2 / §3.1.3.6,
for every asymmetric signing algorithm the provider supports. HS256 ID tokens
are MACed with the client secret (OIDC Core §10.1) and nothing symmetric is
ever published. Key rotation keeps the old key published (OIDC Core §10.1.1).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from jwt import PyJWKClient, PyJWKClientError

from mockauth import Client, Provider, User

from ..helpers import code_flow
from .support import bearer_get, introspect

ASYMMETRIC = ["RS256", "PS256", "ES256", "EdDSA"]
PER_ALG = pytest.mark.parametrize(
    "alg",
    [pytest.param(a, marks=pytest.mark.mockauth(tokens={"signing_alg": a})) for a in ASYMMETRIC],
)
RFC9068_CLAIMS = {"iss", "sub", "aud", "client_id", "jti", "iat", "exp"}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain httpx client over the real socket (redirects are not followed)."""
    with httpx.Client() as client:
        yield client


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6, computed here independently of mockauth (EdDSA/Ed25519: SHA-512)."""
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def verify(
    client: PyJWKClient, token: str, alg: str, *, audience: str, issuer: str
) -> dict[str, Any]:
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=audience,
        issuer=issuer,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    return claims


@PER_ALG
def test_access_and_id_token_verify_with_pyjwkclient(
    mockauth: Provider, http: httpx.Client, web_client: Client, alice: User, alg: str
) -> None:
    tokens = code_flow(http, mockauth, web_client, login_hint="alice", nonce="n-0S6_WzA2Mj")
    access, id_token = tokens["access_token"], tokens["id_token"]
    jwks_client = PyJWKClient(mockauth.endpoint("jwks"))

    header = jwt.get_unverified_header(access)
    assert header["typ"] == "at+jwt"  # RFC 9068 §2.1
    assert header["alg"] == alg
    assert header["kid"].startswith("mockauth-")
    key = jwks_client.get_signing_key_from_jwt(access)
    assert key.key_id == header["kid"]
    assert key.algorithm_name == alg  # the JWK carries its alg

    claims = verify(jwks_client, access, alg, audience=web_client.client_id, issuer=mockauth.issuer)
    assert set(claims) >= RFC9068_CLAIMS
    assert claims["sub"] == alice.sub
    assert claims["client_id"] == web_client.client_id
    assert set(claims["scope"].split()) == {"openid", "profile", "email"}
    assert claims["exp"] - claims["iat"] == tokens["expires_in"]
    assert isinstance(claims["auth_time"], int)

    id_header = jwt.get_unverified_header(id_token)
    assert id_header["alg"] == alg
    assert id_header["kid"] == header["kid"]
    id_claims = verify(
        jwks_client, id_token, alg, audience=web_client.client_id, issuer=mockauth.issuer
    )
    assert id_claims["sub"] == alice.sub
    assert id_claims["nonce"] == "n-0S6_WzA2Mj"
    assert id_claims["at_hash"] == at_hash(access, alg)
    assert id_claims["auth_time"] == claims["auth_time"]

    # Tampering is caught: the same token with another payload fails verification.
    head, _, sig = access.split(".")
    forged_body = base64.urlsafe_b64encode(b'{"sub":"mallory"}').rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{forged_body}.{sig}", key, algorithms=[alg])


@PER_ALG
def test_client_credentials_token_verifies(
    mockauth: Provider, service_client: Client, alg: str
) -> None:
    response = httpx.post(
        mockauth.endpoint("token"),
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(service_client.client_id, service_client.client_secret or ""),
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    jwks_client = PyJWKClient(mockauth.endpoint("jwks"))
    claims = verify(jwks_client, token, alg, audience="api", issuer=mockauth.issuer)
    assert claims["sub"] == claims["client_id"] == service_client.client_id
    assert claims["scope"] == "read"
    # Another audience is refused by PyJWT.
    with pytest.raises(jwt.InvalidAudienceError):
        verify(jwks_client, token, alg, audience="other-api", issuer=mockauth.issuer)


@PER_ALG
def test_minted_tokens_verify(mockauth: Provider, alg: str) -> None:
    token = mockauth.issue_token(subject="someone", scope="read write", audience="api")
    jwks_client = PyJWKClient(mockauth.endpoint("jwks"))
    claims = verify(jwks_client, token, alg, audience="api", issuer=mockauth.issuer)
    assert claims["sub"] == "someone"
    assert claims["scope"] == "read write"
    # An already-expired token is refused by PyJWT (it judges exp by wall time; -60 is past).
    expired = mockauth.issue_token(subject="someone", audience="api", expires_in=-60)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(jwks_client, expired, alg, audience="api", issuer=mockauth.issuer)


@pytest.mark.mockauth(tokens={"signing_alg": "HS256"})
def test_hs256_id_token_is_signed_with_the_client_secret(
    mockauth: Provider, http: httpx.Client, web_client: Client, alice: User
) -> None:
    tokens = code_flow(http, mockauth, web_client, login_hint="alice", nonce="hs-nonce")
    id_token = tokens["id_token"]
    assert jwt.get_unverified_header(id_token)["alg"] == "HS256"
    secret = web_client.client_secret or ""
    assert len(secret.encode()) >= 32  # PyJWT's minimum for HS256
    claims = jwt.decode(
        id_token,
        secret,
        algorithms=["HS256"],
        audience=web_client.client_id,
        issuer=mockauth.issuer,
    )
    assert claims["sub"] == alice.sub
    assert claims["nonce"] == "hs-nonce"
    assert claims["at_hash"] == at_hash(tokens["access_token"], "HS256")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            id_token,
            "another-secret-of-32-bytes-or-more!!",
            algorithms=["HS256"],
            audience=web_client.client_id,
        )

    # Nothing symmetric is ever published.
    jwks = httpx.get(mockauth.endpoint("jwks")).json()
    assert all(key.get("kty") != "oct" and "k" not in key for key in jwks["keys"])
    assert secret not in httpx.get(mockauth.endpoint("jwks")).text

    # The provider still accepts, introspects and revokes its own access token.
    access = tokens["access_token"]
    info = bearer_get(mockauth, "userinfo", access)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == alice.sub
    creds = (web_client.client_id, secret)
    assert introspect(mockauth, access, *creds)["sub"] == alice.sub
    assert httpx.post(mockauth.endpoint("revoke"), data={"token": access}, auth=creds).is_success
    assert introspect(mockauth, access, *creds) == {"active": False}


@PER_ALG
def test_rotation_new_key_is_found_and_old_tokens_still_verify(
    mockauth: Provider, service_client: Client, alg: str
) -> None:
    def mint() -> str:
        return mockauth.issue_token(
            client_id=service_client.client_id, scope="openid", audience="api"
        )

    old_token = mint()
    # cooldown_duration=0: PyJWKClient would otherwise not refetch for an unknown
    # kid within 30 s of its last fetch (INTEROP.md).
    client = PyJWKClient(mockauth.endpoint("jwks"), cache_jwk_set=True, cooldown_duration=0)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert client.get_signing_key_from_jwt(old_token).key_id == old_kid
    verify(client, old_token, alg, audience="api", issuer=mockauth.issuer)

    new_key = mockauth.rotate_keys()
    assert new_key.kid != old_kid
    assert new_key.alg == alg
    new_token = mint()
    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid

    # The cached set lacks the new kid: the client refetches and finds it.
    assert verify(client, new_token, alg, audience="api", issuer=mockauth.issuer)["sub"]
    # The old key is still published, so tokens it signed still verify ...
    assert verify(client, old_token, alg, audience="api", issuer=mockauth.issuer)["sub"]
    fresh = PyJWKClient(mockauth.endpoint("jwks"))
    published = {k.key_id for k in fresh.get_signing_keys() if k.algorithm_name == alg}
    assert published == {old_kid, new_key.kid}
    assert verify(fresh, old_token, alg, audience="api", issuer=mockauth.issuer)["sub"]
    # ... and by the provider itself.
    creds = (service_client.client_id, service_client.client_secret or "")
    assert introspect(mockauth, old_token, *creds)["active"] is True
    assert introspect(mockauth, new_token, *creds)["active"] is True

    # Retiring the old key unpublishes it: a fresh client can no longer verify old tokens.
    mockauth.keys.retire(old_kid)
    with pytest.raises(PyJWKClientError):
        PyJWKClient(mockauth.endpoint("jwks")).get_signing_key_from_jwt(old_token)
    assert verify(fresh, new_token, alg, audience="api", issuer=mockauth.issuer)["sub"]
    assert introspect(mockauth, old_token, *creds) == {"active": False}
    assert introspect(mockauth, new_token, *creds)["active"] is True
