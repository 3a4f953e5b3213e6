"""Fixtures for the interoperability tests: clients and a user on the live ``mockauth``."""

from __future__ import annotations

import pytest

from mockauth import Client, Provider, User

from ..helpers import WEB_REDIRECT
from .support import SERVICE_SECRET, WEB_SECRET


@pytest.fixture
def web_client(mockauth: Provider) -> Client:
    """A confidential web application (code flow, refresh) on the live provider."""
    return mockauth.add_client(
        client_id="web-app",
        client_secret=WEB_SECRET,
        redirect_uris=[WEB_REDIRECT],
    )


@pytest.fixture
def service_client(mockauth: Provider) -> Client:
    """A machine-to-machine client (client_credentials only)."""
    return mockauth.add_client(
        client_id="service-app",
        client_secret=SERVICE_SECRET,
        grant_types=["client_credentials"],
        default_scope="openid read",
        audience=["api"],
    )


@pytest.fixture
def alice(mockauth: Provider) -> User:
    """The user the tests log in as (``login_hint=alice``)."""
    return mockauth.add_user(
        "alice",
        sub="alice-sub-0001",
        password="alice-pw",
        email="alice@example.com",
        name="Alice A",
    )
