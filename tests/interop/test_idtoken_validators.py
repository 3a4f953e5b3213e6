"""The provider's ID tokens through two more JOSE libraries: joserfc and python-jose.

joserfc checks iss/aud/exp/nonce with ``JWTClaimsRegistry`` (given the
provider's clock as ``now``, so expiry is judged without sleeping);
python-jose checks ``at_hash`` against the access token it is handed
(OIDC Core §3.1.3.6) and refuses a different one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jose import jwt as jose_jwt
from jose.exceptions import JWTClaimsError, JWTError
from joserfc import jwt as rfc_jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry

from mockauth import Client, Provider, User

from ..helpers import code_flow, refresh


def with_alg(*algs: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "alg",
        [pytest.param(a, marks=pytest.mark.mockauth(tokens={"signing_alg": a})) for a in algs],
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def login(
    mockauth: Provider, http: httpx.Client, web_client: Client, alice: User
) -> dict[str, Any]:
    """A code flow with a nonce; the token response plus the nonce that was sent."""
    nonce = secrets.token_urlsafe(16)
    tokens = code_flow(http, mockauth, web_client, login_hint="alice", nonce=nonce)
    return {**tokens, "nonce": nonce}


def registry(provider: Provider, client: Client, nonce: str) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        now=lambda: int(provider.clock.now()),
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": client.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )


def served_keys(provider: Provider) -> KeySet:
    """The provider's JWKS as fetched over HTTP, imported into joserfc."""
    return KeySet.import_key_set(httpx.get(provider.endpoint("jwks")).json())


def jose_decode(
    provider: Provider, client: Client, id_token: str, key: Any, alg: str, **options: Any
) -> dict[str, Any]:
    """python-jose's decode with the provider as issuer and ``client`` as audience."""
    options = {"audience": client.client_id, "issuer": provider.issuer, **options}
    claims: dict[str, Any] = jose_jwt.decode(id_token, key, algorithms=[alg], **options)
    return claims


# --- joserfc -------------------------------------------------------------------------


@with_alg("RS256", "PS256", "ES256", "EdDSA")
# joserfc flags the "EdDSA" name (RFC 9864 prefers "Ed25519"); PyJWT, authlib still use it.
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated via RFC 9864")
def test_joserfc_validates_id_token(
    mockauth: Provider, web_client: Client, alice: User, login: dict[str, Any], alg: str
) -> None:
    key_set = served_keys(mockauth)
    token = rfc_jwt.decode(login["id_token"], key_set, algorithms=[alg])
    assert token.header["alg"] == alg
    assert token.header["kid"] == key_set.keys[0].kid
    registry(mockauth, web_client, login["nonce"]).validate(token.claims)
    assert token.claims["sub"] == alice.sub

    with pytest.raises(InvalidClaimError):
        registry(mockauth, web_client, "another-nonce").validate(token.claims)
    other = mockauth.add_client(client_id="other-app", redirect_uris=["http://127.0.0.1/cb"])
    with pytest.raises(InvalidClaimError):
        registry(mockauth, other, login["nonce"]).validate(token.claims)
    # Only the algorithm the caller allows is accepted.
    with pytest.raises(UnsupportedAlgorithmError):
        rfc_jwt.decode(login["id_token"], key_set, algorithms=["HS256"])


def test_joserfc_sees_id_token_expire_on_the_provider_clock(
    mockauth: Provider, web_client: Client, login: dict[str, Any]
) -> None:
    key_set = served_keys(mockauth)
    claims = rfc_jwt.decode(login["id_token"], key_set, algorithms=["RS256"]).claims
    check = registry(mockauth, web_client, login["nonce"])
    check.validate(claims)
    mockauth.clock.advance(claims["exp"] - claims["iat"] + 1)
    with pytest.raises(ExpiredTokenError):
        check.validate(claims)


def test_joserfc_id_token_without_nonce_lacks_the_claim(
    mockauth: Provider, http: httpx.Client, web_client: Client, alice: User
) -> None:
    tokens = code_flow(http, mockauth, web_client, login_hint="alice")
    key_set = served_keys(mockauth)
    claims = rfc_jwt.decode(tokens["id_token"], key_set, algorithms=["RS256"]).claims
    assert "nonce" not in claims
    with pytest.raises(MissingClaimError):
        registry(mockauth, web_client, "expected-nonce").validate(claims)


@pytest.mark.mockauth(tokens={"signing_alg": "HS256"})
def test_joserfc_validates_hs256_id_token_with_client_secret(
    mockauth: Provider, web_client: Client, login: dict[str, Any]
) -> None:
    key = OctKey.import_key(web_client.client_secret or "")
    token = rfc_jwt.decode(login["id_token"], key, algorithms=["HS256"])
    registry(mockauth, web_client, login["nonce"]).validate(token.claims)
    with pytest.raises(BadSignatureError):
        rfc_jwt.decode(login["id_token"], OctKey.import_key("x" * 40), algorithms=["HS256"])


# --- python-jose ---------------------------------------------------------------------


@with_alg("RS256", "ES256")  # python-jose supports neither PS256 nor EdDSA
def test_python_jose_checks_at_hash(
    mockauth: Provider,
    http: httpx.Client,
    web_client: Client,
    alice: User,
    login: dict[str, Any],
    alg: str,
) -> None:
    jwks = httpx.get(mockauth.endpoint("jwks")).json()
    id_token, access_token = login["id_token"], login["access_token"]
    claims = jose_decode(mockauth, web_client, id_token, jwks, alg, access_token=access_token)
    assert claims["sub"] == alice.sub
    assert claims["nonce"] == login["nonce"]
    assert "at_hash" in claims

    # Another access token (here: one from a refresh) does not match at_hash.
    refreshed = refresh(http, mockauth, web_client, login["refresh_token"]).json()
    new_id_token, new_access_token = refreshed["id_token"], refreshed["access_token"]
    assert new_access_token != access_token
    with pytest.raises(JWTClaimsError, match=r"at_hash|access_token hash"):
        jose_decode(mockauth, web_client, id_token, jwks, alg, access_token=new_access_token)
    # python-jose insists on the access token when at_hash is present.
    with pytest.raises(JWTClaimsError):
        jose_decode(mockauth, web_client, id_token, jwks, alg)
    # The refreshed ID token matches the refreshed access token.
    again = jose_decode(
        mockauth, web_client, new_id_token, jwks, alg, access_token=new_access_token
    )
    assert again["sub"] == alice.sub
    # Wrong audience and wrong issuer are refused.
    with pytest.raises(JWTClaimsError):
        jose_jwt.decode(
            id_token, jwks, algorithms=[alg], audience="someone-else", access_token=access_token
        )
    with pytest.raises(JWTClaimsError):
        jose_decode(
            mockauth,
            web_client,
            id_token,
            jwks,
            alg,
            issuer=mockauth.issuer + "/other",
            access_token=access_token,
        )


@pytest.mark.mockauth(tokens={"signing_alg": "HS256"})
def test_python_jose_validates_hs256_id_token_with_client_secret(
    mockauth: Provider, web_client: Client, login: dict[str, Any]
) -> None:
    secret = web_client.client_secret or ""
    claims = jose_decode(
        mockauth, web_client, login["id_token"], secret, "HS256", access_token=login["access_token"]
    )
    assert claims["nonce"] == login["nonce"]
    with pytest.raises(JWTError):
        jose_jwt.decode(
            login["id_token"],
            "x" * 40,
            algorithms=["HS256"],
            audience=web_client.client_id,
            access_token=login["access_token"],
        )
