"""Fixtures for the interoperability tests: clients and a user on the live ``mockauth``."""

from __future__ import annotations

import fcntl
import shutil
import subprocess

import pytest

from mockauth import Client, Provider, User

from ..helpers import WEB_REDIRECT
from .support import NODE_DIR, SERVICE_SECRET, WEB_SECRET, lock_packages, node_binary


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


@pytest.fixture(scope="session")
def node_client() -> str:
    """The node binary, with tests/interop/node's packages installed."""
    node = node_binary()
    npm = shutil.which("npm")
    marker = NODE_DIR / "node_modules" / ".package-lock.json"  # what npm last installed
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = {name for name in lock_packages(NODE_DIR / "package-lock.json") if name}
        if not marker.exists() or set(lock_packages(marker)) != wanted:
            if npm is None:
                pytest.fail("npm is needed to install openid-client")
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                check=True,
                timeout=300,
            )
    return node
