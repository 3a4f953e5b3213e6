from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockauth import Client, Provider

from .helpers import SPA_REDIRECT, WEB_REDIRECT

pytest_plugins = ["pytester"]


@pytest.fixture
def provider() -> Provider:
    """An in-process provider with a web, a public and a service client and two users."""
    p = Provider()
    p.add_client(
        client_id="web",
        client_secret="web-secret-0123456789-abcdefghijkl",
        redirect_uris=[WEB_REDIRECT],
        post_logout_redirect_uris=["http://127.0.0.1:5000/bye"],
    )
    p.add_client(client_id="spa", public=True, redirect_uris=[SPA_REDIRECT])
    p.add_client(
        client_id="service",
        client_secret="service-secret-0123456789-abcdefgh",
        grant_types=["client_credentials"],
        audience=["api"],
    )
    p.add_user("alice", password="alice-pw", email="alice@example.com", name="Alice A")
    p.add_user("bob", password="bob-pw", email="bob@example.com")
    return p


@pytest.fixture
def web(provider: Provider) -> Client:
    return provider.client("web")


@pytest.fixture
def spa(provider: Provider) -> Client:
    return provider.client("spa")


@pytest.fixture
def service(provider: Provider) -> Client:
    return provider.client("service")


@pytest.fixture
def other(provider: Provider) -> Client:
    """A second confidential web client with the same redirect URI as ``web``."""
    return provider.add_client(
        client_id="other", client_secret="other-secret-0123456789", redirect_uris=[WEB_REDIRECT]
    )


@pytest.fixture
def http(provider: Provider) -> Iterator[httpx.Client]:
    """An httpx client answered in-process by ``provider``."""
    with provider.httpx_client() as client:
        yield client
