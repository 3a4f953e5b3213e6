"""authlib's OAuth 2.0 clients against the live provider.

The same scenarios run through authlib's requests ``OAuth2Session`` and its
httpx ``OAuth2Client``; ``AsyncOAuth2Client`` runs them under ``asyncio.run``.
ID tokens are checked with authlib's own OIDC validator (``CodeIDToken``) and
the discovery document with ``OpenIDProviderMetadata``.

authlib decides that a token needs refreshing by wall time with a leeway of
60 s: a token whose ``expires_in`` is at most 60 is refreshed before every
request. The refresh tests therefore use a provider whose access tokens live
30 s (always "expired" for authlib, whatever the wall clock says) and move the
provider's clock past that lifetime, so the old token is really dead at the
provider too and only a working refresh makes the request succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.errors import InvalidClaimError
from joserfc.jwk import ECKey

from mockauth import Client, Provider, User

from ..helpers import WEB_REDIRECT
from .support import authorize, bearer_get, introspect, query, record_requests

SHORT_LIVED = pytest.mark.mockauth(tokens={"access_token_ttl": 30})
SCOPE = "openid profile email"

SessionFactory = Callable[..., Any]
Updates = list[tuple[dict[str, Any], dict[str, Any]]]

ASYMMETRIC_ALGS = [
    pytest.param(alg, marks=pytest.mark.mockauth(tokens={"signing_alg": alg}))
    for alg in ("RS256", "PS256", "ES256", "EdDSA")
]


@pytest.fixture(params=["requests", "httpx"])
def session_factory(request: pytest.FixtureRequest, mockauth: Provider) -> Iterator[SessionFactory]:
    """Builds authlib sync clients (requests ``OAuth2Session`` or httpx ``OAuth2Client``)."""
    cls = {"requests": OAuth2Session, "httpx": OAuth2Client}[request.param]
    made: list[Any] = []

    def make(client_id: str, client_secret: str | None, **kwargs: Any) -> Any:
        kwargs.setdefault("token_endpoint", mockauth.endpoint("token"))
        session = cls(client_id, client_secret, **kwargs)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def web_session(make: SessionFactory, client: Client, **kwargs: Any) -> Any:
    return make(
        client.client_id,
        client.client_secret,
        scope=SCOPE,
        redirect_uri=WEB_REDIRECT,
        code_challenge_method="S256",
        **kwargs,
    )


def async_web_client(provider: Provider, client: Client, **kwargs: Any) -> Any:
    """An ``AsyncOAuth2Client`` set up like ``web_session``."""
    return web_session(
        AsyncOAuth2Client, client, token_endpoint=provider.endpoint("token"), **kwargs
    )


def update_recorder() -> tuple[Updates, Callable[..., None]]:
    """An authlib ``update_token`` callback and the (token, kwargs) pairs it is called with."""
    updates: Updates = []

    def update_token(token: dict[str, Any], **kwargs: Any) -> None:
        updates.append((dict(token), kwargs))

    return updates, update_token


def one_update(updates: Updates, first: dict[str, Any], **kwargs: str) -> dict[str, Any]:
    """The token authlib replaced ``first`` with, by one ``update_token(token, **kwargs)``."""
    assert len(updates) == 1
    new_token, called_with = updates[0]
    assert called_with == kwargs
    assert new_token["access_token"] != first["access_token"]
    return new_token


def expire(provider: Provider, token: dict[str, Any]) -> None:
    """Move the clock past a 30 s access token's lifetime: it is dead at the provider too."""
    assert token["expires_in"] == 30
    provider.clock.advance(31)
    assert bearer_get(provider, "userinfo", token["access_token"]).status_code == 401


def assert_userinfo_sub(response: Any, sub: str) -> None:
    """A 200 from /userinfo about ``sub`` (a requests or httpx response)."""
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == sub


def code_flow(provider: Provider, session: Any, nonce: str | None = None) -> dict[str, Any]:
    """authorization URL -> /authorize (no redirect following) -> fetch_token with PKCE."""
    verifier = generate_token(48)
    extra = {"nonce": nonce} if nonce else {}
    url, state = session.create_authorization_url(
        provider.endpoint("authorize"), code_verifier=verifier, login_hint="alice", **extra
    )
    sent = query(url)
    assert sent["code_challenge_method"] == "S256"
    assert sent["code_challenge"]
    location = authorize(url)
    assert query(location)["state"] == state
    assert query(location)["iss"] == provider.issuer
    token: dict[str, Any] = session.fetch_token(
        authorization_response=location, code_verifier=verifier
    )
    return token


def validate_id_token(
    provider: Provider,
    token: dict[str, Any],
    client: Client,
    nonce: str | None,
    *,
    access_token: str | None = None,
) -> CodeIDToken:
    """authlib's own OIDC Core §3.1.3.7 validation of ``token``'s ID token, keys from the
    served JWKS; at_hash is checked against ``access_token``, by default ``token``'s own.
    """
    client_id = client.client_id
    if access_token is None:
        access_token = token["access_token"]
    jwks = httpx.get(provider.endpoint("jwks")).json()
    claims = authlib_jwt.decode(
        token["id_token"],
        key=JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate()
    return claims


# --- authorization code + PKCE + nonce -------------------------------------------------


def test_code_flow_pkce_nonce_id_token_userinfo(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    session = web_session(session_factory, web_client)
    nonce = generate_token(20)
    token = code_flow(mockauth, session, nonce)

    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == set(SCOPE.split())
    assert isinstance(token["expires_in"], int)
    assert {"access_token", "refresh_token", "id_token"} <= set(token)

    claims = validate_id_token(mockauth, token, web_client, nonce)
    assert claims["sub"] == alice.sub
    assert claims["nonce"] == nonce
    assert claims["iss"] == mockauth.issuer
    assert "auth_time" in claims

    # The validator is not a rubber stamp: a different nonce or access token fails it.
    with pytest.raises(InvalidClaimError):
        validate_id_token(mockauth, token, web_client, "another-nonce")
    with pytest.raises(InvalidClaimError):
        validate_id_token(
            mockauth, token, web_client, nonce, access_token=token["access_token"] + "x"
        )

    info = session.get(mockauth.endpoint("userinfo"))
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["sub"] == claims["sub"] == alice.sub
    assert body["email"] == "alice@example.com"
    assert body["name"] == "Alice A"


@pytest.mark.parametrize("alg", [*ASYMMETRIC_ALGS[1:]])
def test_id_token_of_each_alg_passes_authlib_validator(
    mockauth: Provider,
    session_factory: SessionFactory,
    web_client: Client,
    alice: User,
    alg: str,
) -> None:
    nonce = generate_token(20)
    token = code_flow(mockauth, web_session(session_factory, web_client), nonce)
    claims = validate_id_token(mockauth, token, web_client, nonce)
    assert claims.header["alg"] == alg
    assert claims["sub"] == alice.sub


def test_code_flow_without_nonce_has_no_nonce_claim(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    token = code_flow(mockauth, web_session(session_factory, web_client))
    claims = validate_id_token(mockauth, token, web_client, None)
    assert "nonce" not in claims
    assert claims["sub"] == alice.sub


def test_pkce_wrong_verifier_is_invalid_grant(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    session = web_session(session_factory, web_client)
    url, _ = session.create_authorization_url(
        mockauth.endpoint("authorize"), code_verifier=generate_token(48)
    )
    location = authorize(url)
    with pytest.raises(OAuthError) as caught:
        session.fetch_token(authorization_response=location, code_verifier=generate_token(48))
    assert caught.value.error == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(
    mockauth: Provider, session_factory: SessionFactory, service_client: Client
) -> None:
    wrong = f"{service_client.client_secret}-wrong"
    session = session_factory(service_client.client_id, wrong)
    with pytest.raises(OAuthError) as caught:
        session.fetch_token(grant_type="client_credentials")
    assert caught.value.error == "invalid_client"


# --- client credentials --------------------------------------------------------------


def test_client_credentials(
    mockauth: Provider, session_factory: SessionFactory, service_client: Client
) -> None:
    session = session_factory(
        service_client.client_id, service_client.client_secret, scope="openid read"
    )
    token = session.fetch_token(grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "openid read"
    assert "refresh_token" not in token  # RFC 6749 §4.4.3
    assert "id_token" not in token  # no end-user

    assert_userinfo_sub(session.get(mockauth.endpoint("userinfo")), service_client.client_id)

    found = session.introspect_token(mockauth.endpoint("introspect"), token=token["access_token"])
    assert found.status_code == 200
    body = found.json()
    assert body["active"] is True
    assert body["client_id"] == body["sub"] == service_client.client_id
    assert body["aud"] == "api"
    assert body["scope"] == "openid read"


@SHORT_LIVED
def test_client_credentials_token_is_fetched_again_when_expired(
    mockauth: Provider, session_factory: SessionFactory, service_client: Client
) -> None:
    updates, update_token = update_recorder()
    # grant_type in the session metadata is what lets authlib re-fetch by itself.
    session = session_factory(
        service_client.client_id,
        service_client.client_secret,
        scope="openid read",
        grant_type="client_credentials",
        update_token=update_token,
    )
    first = session.fetch_token()
    expire(mockauth, first)

    assert_userinfo_sub(session.get(mockauth.endpoint("userinfo")), service_client.client_id)
    new_token = one_update(updates, first, access_token=first["access_token"])
    assert session.token["access_token"] == new_token["access_token"]


# --- refresh -------------------------------------------------------------------------


def test_explicit_refresh_rotates_and_detects_reuse(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    updates: list[dict[str, Any]] = []
    session = web_session(
        session_factory, web_client, update_token=lambda token, **kw: updates.append(kw)
    )
    first = dict(code_flow(mockauth, session))

    # A long-lived token is not refreshed behind our back.
    assert session.get(mockauth.endpoint("userinfo")).status_code == 200
    assert updates == []

    second = session.refresh_token()
    assert updates == [{"refresh_token": first["refresh_token"]}]
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]  # rotation
    assert set(second["scope"].split()) == set(SCOPE.split())
    assert bearer_get(mockauth, "userinfo", second["access_token"]).json()["sub"] == alice.sub
    # The refreshed ID token (no nonce this time) still passes authlib's validator.
    claims = validate_id_token(mockauth, second, web_client, None)
    assert claims["sub"] == alice.sub

    # Replaying the rotated-out refresh token is invalid_grant and revokes the family.
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(refresh_token=first["refresh_token"])
    assert caught.value.error == "invalid_grant"
    assert bearer_get(mockauth, "userinfo", second["access_token"]).status_code == 401


@SHORT_LIVED
def test_auto_refresh_of_expired_token(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    updates, update_token = update_recorder()
    session = web_session(session_factory, web_client, update_token=update_token)
    first = dict(code_flow(mockauth, session))
    expire(mockauth, first)

    assert_userinfo_sub(session.get(mockauth.endpoint("userinfo")), alice.sub)
    new_token = one_update(updates, first, refresh_token=first["refresh_token"])
    assert new_token["refresh_token"] != first["refresh_token"]
    assert session.token["access_token"] == new_token["access_token"]


def test_expired_token_without_refresh_token_is_not_sent(
    mockauth: Provider, session_factory: SessionFactory, service_client: Client
) -> None:
    # Minted with a lifetime inside authlib's leeway and no way to renew it:
    # authlib refuses to send it rather than calling the provider.
    minted = mockauth.issue_token(client_id=service_client.client_id, scope="openid", expires_in=30)
    session = session_factory(
        service_client.client_id,
        service_client.client_secret,
        token={"access_token": minted, "token_type": "Bearer", "expires_in": 30},
    )
    seen = record_requests(mockauth)
    with pytest.raises(OAuthError) as caught:
        session.get(mockauth.endpoint("userinfo"))
    assert caught.value.error == "token_invalid"
    assert seen == []
    # The token itself is fine at the provider: it is authlib's leeway that stopped it.
    assert bearer_get(mockauth, "userinfo", minted).status_code == 200


# --- introspection and revocation ----------------------------------------------------


def test_introspect_then_revoke_access_token(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    session = web_session(session_factory, web_client)
    token = code_flow(mockauth, session)
    access, refresh = token["access_token"], token["refresh_token"]

    found = session.introspect_token(mockauth.endpoint("introspect"), token=access)
    assert found.status_code == 200
    body = found.json()
    assert body["active"] is True
    assert body["sub"] == alice.sub
    assert body["client_id"] == web_client.client_id
    assert body["username"] == "alice"
    assert set(body["scope"].split()) == set(SCOPE.split())

    revoked = session.revoke_token(
        mockauth.endpoint("revoke"), token=access, token_type_hint="access_token"
    )
    assert revoked.status_code == 200

    after = session.introspect_token(mockauth.endpoint("introspect"), token=access)
    assert after.json() == {"active": False}
    assert bearer_get(mockauth, "userinfo", access).status_code == 401
    # Revoking the access token leaves the refresh token alive ...
    live = session.introspect_token(
        mockauth.endpoint("introspect"), token=refresh, token_type_hint="refresh_token"
    )
    assert live.json()["active"] is True
    # ... and it still works.
    assert "access_token" in session.refresh_token(refresh_token=refresh)


def test_revoking_refresh_token_revokes_the_grant(
    mockauth: Provider, session_factory: SessionFactory, web_client: Client, alice: User
) -> None:
    session = web_session(session_factory, web_client)
    token = code_flow(mockauth, session)
    access, refresh = token["access_token"], token["refresh_token"]
    assert introspect(mockauth, refresh, web_client.client_id, web_client.client_secret or "")[
        "active"
    ]

    revoked = session.revoke_token(
        mockauth.endpoint("revoke"), token=refresh, token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200
    for value in (access, refresh):
        found = session.introspect_token(mockauth.endpoint("introspect"), token=value)
        assert found.json() == {"active": False}
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(refresh_token=refresh)
    assert caught.value.error == "invalid_grant"


# --- discovery -----------------------------------------------------------------------


def test_discovery_metadata_validates(mockauth: Provider) -> None:
    response = httpx.get(mockauth.issuer + "/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = OpenIDProviderMetadata(response.json())
    metadata.validate()
    assert metadata["issuer"] == mockauth.issuer
    assert metadata["token_endpoint"] == mockauth.endpoint("token")
    assert metadata["jwks_uri"] == mockauth.endpoint("jwks")
    assert "refresh_token" in metadata["grant_types_supported"]
    assert "S256" in metadata["code_challenge_methods_supported"]


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_discovery_advertises_signing_alg_and_keys_import(mockauth: Provider, alg: str) -> None:
    metadata = httpx.get(mockauth.issuer + "/.well-known/openid-configuration").json()
    # OIDC Discovery §3: RS256 is always supported beside the provider's own algorithm.
    assert metadata["id_token_signing_alg_values_supported"] == list(dict.fromkeys([alg, "RS256"]))
    jwks = httpx.get(metadata["jwks_uri"]).json()
    assert {key["alg"] for key in jwks["keys"]} == {alg, "RS256"}
    key_set = JsonWebKey.import_key_set(jwks)
    assert [key.kid for key in key_set.keys] == [key["kid"] for key in jwks["keys"]]


@pytest.mark.parametrize(
    "alg",
    [
        pytest.param(
            alg,
            marks=[pytest.mark.mockauth(tokens={"signing_alg": alg})],
        )
        for alg in ("PS256", "ES256", "EdDSA", "HS256")
    ],
)
def test_discovery_metadata_validates_with_other_signing_algs(mockauth: Provider, alg: str) -> None:
    metadata = httpx.get(mockauth.issuer + "/.well-known/openid-configuration").json()
    OpenIDProviderMetadata(metadata).validate()


# --- AsyncOAuth2Client ---------------------------------------------------------------


def test_async_client_code_flow_refresh_introspect_revoke(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    async def scenario() -> None:
        updates: list[dict[str, Any]] = []

        async def update_token(token: dict[str, Any], **kwargs: Any) -> None:
            updates.append(kwargs)

        async with async_web_client(mockauth, web_client, update_token=update_token) as client:
            verifier, nonce = generate_token(48), generate_token(20)
            url, _ = client.create_authorization_url(
                mockauth.endpoint("authorize"),
                code_verifier=verifier,
                nonce=nonce,
                login_hint="alice",
            )
            location = authorize(url)
            token = dict(
                await client.fetch_token(authorization_response=location, code_verifier=verifier)
            )
            claims = validate_id_token(mockauth, token, web_client, nonce)
            assert claims["sub"] == alice.sub

            assert_userinfo_sub(await client.get(mockauth.endpoint("userinfo")), alice.sub)
            assert updates == []

            refreshed = dict(await client.refresh_token())
            assert updates == [{"refresh_token": token["refresh_token"]}]
            assert refreshed["access_token"] != token["access_token"]

            found = await client.introspect_token(
                mockauth.endpoint("introspect"), token=refreshed["access_token"]
            )
            assert found.json()["active"] is True
            assert found.json()["sub"] == alice.sub
            revoked = await client.revoke_token(
                mockauth.endpoint("revoke"), token=refreshed["refresh_token"]
            )
            assert revoked.status_code == 200
            found = await client.introspect_token(
                mockauth.endpoint("introspect"), token=refreshed["access_token"]
            )
            assert found.json() == {"active": False}

    asyncio.run(scenario())


@SHORT_LIVED
def test_async_client_auto_refresh(mockauth: Provider, web_client: Client, alice: User) -> None:
    async def scenario() -> None:
        updates: Updates = []

        async def update_token(token: dict[str, Any], **kwargs: Any) -> None:
            updates.append((dict(token), kwargs))

        async with async_web_client(mockauth, web_client, update_token=update_token) as client:
            verifier = generate_token(48)
            url, _ = client.create_authorization_url(
                mockauth.endpoint("authorize"), code_verifier=verifier
            )
            first = dict(
                await client.fetch_token(
                    authorization_response=authorize(url), code_verifier=verifier
                )
            )
            expire(mockauth, first)

            assert_userinfo_sub(await client.get(mockauth.endpoint("userinfo")), alice.sub)
            one_update(updates, first, refresh_token=first["refresh_token"])

    asyncio.run(scenario())


@SHORT_LIVED
def test_async_client_credentials_refetch(mockauth: Provider, service_client: Client) -> None:
    async def scenario() -> None:
        async with AsyncOAuth2Client(
            service_client.client_id,
            service_client.client_secret,
            scope="openid read",
            grant_type="client_credentials",
            token_endpoint=mockauth.endpoint("token"),
        ) as client:
            first = dict(await client.fetch_token())
            assert first["scope"] == "openid read"
            mockauth.clock.advance(31)
            info = await client.get(mockauth.endpoint("userinfo"))
            assert_userinfo_sub(info, service_client.client_id)
            assert client.token["access_token"] != first["access_token"]
            found = await client.introspect_token(
                mockauth.endpoint("introspect"), token=client.token["access_token"]
            )
            assert found.json()["active"] is True
            assert found.json()["client_id"] == service_client.client_id

    asyncio.run(scenario())


# --- client authentication by assertion (RFC 7523 §2.2) ----------------------


def _assertion_client(mockauth: Provider, method: str, secret_or_jwk: Any) -> Client:
    fields: dict[str, Any] = {"token_endpoint_auth_method": method}
    if method == "private_key_jwt":
        fields["jwks"] = {"keys": [secret_or_jwk]}
    else:
        fields["client_secret"] = secret_or_jwk
    return mockauth.add_client(
        client_id=f"{method}-app", grant_types=["client_credentials"], **fields
    )


def test_private_key_jwt_and_client_secret_jwt(mockauth: Provider) -> None:
    """authlib's PrivateKeyJWT (aud: the token endpoint, 3600 s lifetime) and
    ClientSecretJWT, each registered on an OAuth2Session."""
    from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT

    token_url = mockauth.endpoint("token")
    # authlib reads a PEM string as an RSA key: an EC key goes in as a joserfc key.
    key = ECKey.generate_key("P-256", parameters={"kid": "authlib-1"})
    _assertion_client(mockauth, "private_key_jwt", key.as_dict(private=False))
    session = OAuth2Session(
        "private_key_jwt-app", key, token_endpoint_auth_method=PrivateKeyJWT(token_url, alg="ES256")
    )
    token = session.fetch_token(token_url, grant_type="client_credentials")
    assert mockauth.tokens.decode(token["access_token"])["client_id"] == "private_key_jwt-app"

    secret = "authlib-hmac-secret-0123456789abcdef"
    _assertion_client(mockauth, "client_secret_jwt", secret)
    session = OAuth2Session(
        "client_secret_jwt-app", secret, token_endpoint_auth_method=ClientSecretJWT(token_url)
    )
    token = session.fetch_token(token_url, grant_type="client_credentials")
    assert mockauth.tokens.decode(token["access_token"])["client_id"] == "client_secret_jwt-app"
    # a wrong secret signs an assertion that does not verify: invalid_client
    wrong = OAuth2Session(
        "client_secret_jwt-app", "not-the-secret-0123456789",
        token_endpoint_auth_method=ClientSecretJWT(token_url),
    )  # fmt: skip
    with pytest.raises(OAuthError) as caught:
        wrong.fetch_token(token_url, grant_type="client_credentials")
    assert caught.value.error == "invalid_client"
