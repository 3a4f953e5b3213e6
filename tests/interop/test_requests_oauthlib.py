"""requests-oauthlib (oauthlib underneath) against the live provider.

requests-oauthlib refuses ``http://`` unless ``OAUTHLIB_INSECURE_TRANSPORT`` is
set, and it judges expiry by wall time with no leeway (``expires_at < now``).
The auto-refresh tests restore a saved token the way an application does after
a restart: the saved ``expires_at`` and the provider's clock are both moved
by the same amount, so the token is expired for the client and the provider
alike, whatever the wall clock says.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest
from oauthlib.oauth2 import BackendApplicationClient, WebApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidClientError, InvalidGrantError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session, TokenUpdated

from mockauth import Client, Provider, User

from ..helpers import SPA_REDIRECT, WEB_REDIRECT
from .support import authorize, bearer_get, query, record_requests

SCOPE = ["openid", "profile", "email"]
SHORT_LIVED = pytest.mark.mockauth(tokens={"access_token_ttl": 30})


@pytest.fixture(autouse=True)
def _insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def web_flow(
    provider: Provider, client: Client, **session_kwargs: Any
) -> tuple[OAuth2Session, dict[str, Any], str]:
    """authorization_url -> /authorize (no redirects) -> fetch_token(authorization_response=...).

    Returns the session, the token and the authorization response URL.
    """
    session_kwargs.setdefault("scope", SCOPE)
    session = OAuth2Session(
        client=WebApplicationClient(client.client_id),
        redirect_uri=client.redirect_uris[0],
        pkce="S256",
        **session_kwargs,
    )
    nonce = secrets.token_urlsafe(16)
    url, state = session.authorization_url(
        provider.endpoint("authorize"), login_hint="alice", nonce=nonce
    )
    sent = query(url)
    assert sent["code_challenge_method"] == "S256"
    assert sent["nonce"] == nonce
    location = authorize(url)
    assert query(location)["state"] == state
    token = session.fetch_token(
        provider.endpoint("token"),
        authorization_response=location,
        client_secret=client.client_secret,
    )
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == nonce
    return session, dict(token), location


# --- client credentials --------------------------------------------------------------


@pytest.mark.parametrize("auth_style", ["basic", "post"])
def test_backend_application_client_credentials(
    mockauth: Provider, service_client: Client, auth_style: str
) -> None:
    session = OAuth2Session(
        client=BackendApplicationClient(client_id=service_client.client_id),
        scope=["openid", "read"],
    )
    seen = record_requests(mockauth)
    token = session.fetch_token(
        mockauth.endpoint("token"),
        client_id=service_client.client_id,
        client_secret=service_client.client_secret,
        include_client_id=auth_style == "post",
    )
    assert seen == ["token"]
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["openid", "read"]  # oauthlib turns it into a list
    assert "refresh_token" not in token
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == service_client.client_id
    assert claims["aud"] == "api"

    info = session.get(mockauth.endpoint("userinfo"))
    assert info.status_code == 200, info.text
    assert info.json() == {"sub": service_client.client_id}


def test_wrong_client_secret_raises_invalid_client_error(
    mockauth: Provider, service_client: Client
) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=service_client.client_id))
    with pytest.raises(InvalidClientError):
        session.fetch_token(
            mockauth.endpoint("token"),
            client_id=service_client.client_id,
            client_secret=f"{service_client.client_secret}-wrong",
        )
    assert not session.authorized


def test_unknown_client_raises_invalid_client_error(mockauth: Provider) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id="nobody"))
    with pytest.raises(InvalidClientError):
        session.fetch_token(mockauth.endpoint("token"), client_id="nobody", client_secret="x" * 32)


# --- web application flow ------------------------------------------------------------


def test_web_flow_with_pkce_then_userinfo(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    session, token, _ = web_flow(mockauth, web_client)
    assert token["token_type"] == "Bearer"
    assert sorted(token["scope"]) == sorted(SCOPE)
    assert {"access_token", "refresh_token", "id_token", "expires_at"} <= set(token)

    info = session.get(mockauth.endpoint("userinfo"))
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == alice.sub
    assert info.json()["email"] == "alice@example.com"
    # userinfo sub and ID token sub agree (OIDC Core §5.3.2)
    assert jwt.decode(token["id_token"], options={"verify_signature": False})["sub"] == alice.sub


def test_public_client_web_flow_with_empty_basic_secret(mockauth: Provider, alice: User) -> None:
    # requests-oauthlib sends public clients as Basic base64("client-id:").
    spa = mockauth.add_client(client_id="spa-app", public=True, redirect_uris=[SPA_REDIRECT])
    session, token, _ = web_flow(mockauth, spa)
    assert session.get(mockauth.endpoint("userinfo")).json()["sub"] == alice.sub

    refreshed = session.refresh_token(
        mockauth.endpoint("token"), auth=HTTPBasicAuth(spa.client_id, "")
    )
    assert refreshed["access_token"] != token["access_token"]
    assert bearer_get(mockauth, "userinfo", refreshed["access_token"]).status_code == 200


def test_reused_code_raises_invalid_grant_error(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    session, token, location = web_flow(mockauth, web_client)
    with pytest.raises(InvalidGrantError):
        session.fetch_token(
            mockauth.endpoint("token"),
            authorization_response=location,
            client_secret=web_client.client_secret,
        )
    # RFC 6749 §4.1.2: the tokens of the first redemption are revoked too.
    assert bearer_get(mockauth, "userinfo", token["access_token"]).status_code == 401


def test_fetch_token_without_pkce_verifier_raises_invalid_grant(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    # The code was bound to a challenge; a client that forgets the verifier is refused.
    with_pkce = OAuth2Session(
        client=WebApplicationClient(web_client.client_id),
        redirect_uri=WEB_REDIRECT,
        scope=SCOPE,
        pkce="S256",
    )
    url, _ = with_pkce.authorization_url(mockauth.endpoint("authorize"))
    location = authorize(url)
    without_pkce = OAuth2Session(
        client=WebApplicationClient(web_client.client_id), redirect_uri=WEB_REDIRECT, scope=SCOPE
    )
    with pytest.raises(InvalidGrantError):
        without_pkce.fetch_token(
            mockauth.endpoint("token"),
            authorization_response=location,
            client_secret=web_client.client_secret,
        )


# --- refresh -------------------------------------------------------------------------


def test_explicit_refresh_needs_client_auth(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    session, token, _ = web_flow(mockauth, web_client)
    # requests-oauthlib's explicit refresh sends no client authentication by itself ...
    with pytest.raises(InvalidClientError):
        session.refresh_token(mockauth.endpoint("token"))
    # ... with auth= it works, and the refresh token rotates.
    refreshed = session.refresh_token(
        mockauth.endpoint("token"),
        auth=HTTPBasicAuth(web_client.client_id, web_client.client_secret or ""),
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]
    assert session.get(mockauth.endpoint("userinfo")).json()["sub"] == alice.sub


def test_refresh_with_narrower_scope(mockauth: Provider, web_client: Client, alice: User) -> None:
    _, token, _ = web_flow(mockauth, web_client)
    narrow = OAuth2Session(web_client.client_id, token=token, scope=["openid"])
    refreshed = narrow.refresh_token(
        mockauth.endpoint("token"),
        auth=HTTPBasicAuth(web_client.client_id, web_client.client_secret or ""),
    )
    assert refreshed["scope"] == ["openid"]
    info = narrow.get(mockauth.endpoint("userinfo")).json()
    assert info == {"sub": alice.sub}  # no email without the email scope


@SHORT_LIVED
def test_auto_refresh_with_token_updater(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    _, token, _ = web_flow(mockauth, web_client)
    assert token["expires_in"] == 30
    elapsed = 31
    mockauth.clock.advance(elapsed)
    assert bearer_get(mockauth, "userinfo", token["access_token"]).status_code == 401
    saved = {**token, "expires_at": token["expires_at"] - elapsed}

    updated: list[dict[str, Any]] = []
    session = OAuth2Session(
        web_client.client_id,
        token=saved,
        scope=SCOPE,
        auto_refresh_url=mockauth.endpoint("token"),
        auto_refresh_kwargs={
            "client_id": web_client.client_id,
            "client_secret": web_client.client_secret,
        },
        token_updater=updated.append,
    )
    seen = record_requests(mockauth)
    info = session.get(mockauth.endpoint("userinfo"))
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == alice.sub
    assert seen == ["token", "userinfo"]
    assert len(updated) == 1
    assert updated[0]["access_token"] != token["access_token"]
    assert updated[0]["refresh_token"] != token["refresh_token"]
    assert session.token["access_token"] == updated[0]["access_token"]


@SHORT_LIVED
def test_auto_refresh_without_updater_raises_token_updated(
    mockauth: Provider, web_client: Client, alice: User
) -> None:
    _, token, _ = web_flow(mockauth, web_client)
    mockauth.clock.advance(31)
    session = OAuth2Session(
        web_client.client_id,
        token={**token, "expires_at": token["expires_at"] - 31},
        scope=SCOPE,
        auto_refresh_url=mockauth.endpoint("token"),
        auto_refresh_kwargs={
            "client_id": web_client.client_id,
            "client_secret": web_client.client_secret,
        },
    )
    with pytest.raises(TokenUpdated) as caught:
        session.get(mockauth.endpoint("userinfo"))
    new = caught.value.token
    assert new["access_token"] != token["access_token"]
    assert bearer_get(mockauth, "userinfo", new["access_token"]).json()["sub"] == alice.sub
