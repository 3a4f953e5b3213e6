"""Helpers shared by the interoperability tests (no client library in here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mockauth import Provider

# >= 32 bytes: HS256 ID tokens are signed with the client secret (PyJWT warns below that).
WEB_SECRET = "web-app-secret-0123456789-abcdefghijklmnop"
SERVICE_SECRET = "service-app-secret-0123456789-abcdefghijk"


def authorize(url: str) -> str:
    """GET an authorization URL without following the redirect; return its Location."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, (response.status_code, response.text)
    location = response.headers["location"]
    assert "code=" in location, location
    return location


def query(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (one value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def bearer_get(provider: Provider, endpoint: str, token: str) -> httpx.Response:
    """A plain GET with a bearer token, outside any client library (an independent check)."""
    return httpx.get(provider.endpoint(endpoint), headers={"Authorization": f"Bearer {token}"})


def introspect(provider: Provider, token: str, client_id: str, secret: str) -> dict[str, Any]:
    """RFC 7662 introspection over plain HTTP, as an independent check."""
    response = httpx.post(
        provider.endpoint("introspect"), data={"token": token}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def record_requests(provider: Provider) -> list[str]:
    """The names of the endpoints ``provider`` is called at from now on, in order."""
    seen: list[str] = []

    def hook(endpoint: str, request: object) -> None:
        seen.append(endpoint)

    provider.add_interceptor(hook)
    return seen


NODE_DIR = Path(__file__).parent / "node"


def node_binary() -> str:
    node = shutil.which("node")
    if node is not None:
        major = subprocess.run(
            [node, "-p", "process.versions.node.split('.')[0]"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if int(major) >= 20:  # openid-client 6's floor
            return node
    if os.environ.get("CI") == "true":
        pytest.fail("CI needs node >= 20 on PATH for the openid-client tests")
    pytest.skip("node >= 20 is not on PATH")
    raise AssertionError("unreachable: pytest.skip raises")


def lock_packages(lock_file: Path) -> dict[str, Any]:
    packages: dict[str, Any] = json.loads(lock_file.read_text()).get("packages", {})
    return packages
