"""The README tutorial with plain ``requests``: a client_credentials token, then userinfo.

Once over the live ``mockauth`` fixture, once against ``mockauth serve`` with
its built-in demo config, run as a real subprocess and stopped with SIGTERM.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockauth import Provider

from ..serve import ServeProcess

DEMO_CLIENT = ("demo-service", "demo-service-secret-for-tests-only-0123")


def tutorial(issuer: str, client_id: str, client_secret: str) -> dict[str, object]:
    """The README's two steps, checked as a client would; returns the userinfo JSON."""
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == issuer

    # 1. POST client_credentials to the token endpoint (HTTP Basic client auth)
    response = requests.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no-store" in response.headers["Cache-Control"]
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert isinstance(token["expires_in"], int)
    assert token["expires_in"] > 0
    assert token["scope"] == "openid read"

    # 2. GET userinfo with the bearer token
    info = requests.get(
        metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert info.status_code == 200, info.text
    assert info.headers["Content-Type"].startswith("application/json")
    body: dict[str, object] = info.json()
    return body


def test_tutorial_over_the_fixture(mockauth: Provider) -> None:
    client = mockauth.add_client(
        client_id="tutorial-service",
        client_secret="tutorial-service-secret-0123456789-ab",
        grant_types=["client_credentials"],
        default_scope="openid read",
    )
    assert tutorial(mockauth.issuer, client.client_id, client.client_secret or "") == {
        "sub": "tutorial-service"
    }


def test_tutorial_with_explicit_scope(mockauth: Provider) -> None:
    # A client without a default scope gets openid by asking for it.
    client = mockauth.add_client(
        client_id="plain-service", client_secret="plain-service-secret-0123456789-abcd"
    )
    token = requests.post(
        mockauth.endpoint("token"),
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(client.client_id, client.client_secret or ""),
        timeout=10,
    ).json()
    assert token["scope"] == "openid"
    info = requests.get(
        mockauth.endpoint("userinfo"),
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert info.status_code == 200
    assert info.json() == {"sub": "plain-service"}


def test_userinfo_without_openid_scope_is_insufficient_scope(mockauth: Provider) -> None:
    # What the README promises for tokens lacking `openid`.
    client = mockauth.add_client(
        client_id="read-service",
        client_secret="read-service-secret-0123456789-abcde",
        default_scope="read",
    )
    token = requests.post(
        mockauth.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret or ""),
        timeout=10,
    ).json()
    info = requests.get(
        mockauth.endpoint("userinfo"),
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert info.status_code == 403
    assert info.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in info.headers["WWW-Authenticate"]


# --- `mockauth serve` as a subprocess --------------------------------------------------


@pytest.fixture
def demo_server() -> Iterator[ServeProcess]:
    """``python -m mockauth serve --port 0`` on the demo config; the test stops it."""
    with ServeProcess() as served:
        assert served.port > 0
        yield served


def test_tutorial_against_mockauth_serve(demo_server: ServeProcess) -> None:
    issuer = demo_server.url + "/default"
    assert tutorial(issuer, *DEMO_CLIENT) == {"sub": "demo-service"}

    returncode, rest, stderr = demo_server.stop()  # SIGTERM, as docker and CI runners send
    assert returncode == 0
    assert [*demo_server.banner, *rest.splitlines()][-1] == "mockauth: stopped"
    assert "Traceback" not in stderr, stderr


def test_mockauth_serve_banner_names_the_issuer_and_demo_clients(
    demo_server: ServeProcess,
) -> None:
    issuer = demo_server.url + "/default"
    metadata = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == issuer
    returncode, rest, _ = demo_server.stop()
    assert returncode == 0
    banner = [*demo_server.banner, *rest.splitlines()]
    assert any("TEST ONLY" in line for line in banner)
    assert f"Issuer {issuer}" in banner
    clients = [line.split()[1] for line in banner if line.split()[:1] == ["client"]]
    assert {"demo-web", "demo-spa", "demo-service"} <= set(clients)
    assert any(DEMO_CLIENT[1] in line for line in banner)
