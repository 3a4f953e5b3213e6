"""The README tutorial with plain ``requests``: a client_credentials token, then userinfo.

Once over the live ``mockauth`` fixture, once against ``mockauth serve`` with
its built-in demo config, run as a real subprocess and stopped with SIGTERM.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from mockauth import Provider

DEMO_CLIENT = ("demo-service", "demo-service-secret-for-tests-only-0123")
LISTENING = re.compile(r"^Listening on (http://127\.0\.0\.1:(\d+))$")
STARTUP_TIMEOUT = 30.0


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


@dataclass
class Served:
    """A running ``mockauth serve`` and everything it printed so far."""

    proc: subprocess.Popen[str]
    url: str
    output: queue.Queue[str | None]
    lines: list[str] = field(default_factory=list)

    def stop(self) -> int:
        """SIGTERM, as docker and CI runners send; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=10)
        self.drain()
        return code

    def drain(self) -> None:
        while True:
            try:
                line = self.output.get(timeout=5)
            except queue.Empty:
                return
            if line is None:
                return
            self.lines.append(line)


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line.rstrip("\n"))
    lines.put(None)


@pytest.fixture
def demo_server() -> Iterator[Served]:
    """``python -m mockauth serve --port 0`` on the demo config; the test stops it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc, output), daemon=True).start()
    seen: list[str] = []
    try:
        url = None
        while url is None:
            try:
                line = output.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no 'Listening on' line within {STARTUP_TIMEOUT}s: {seen}")
            if line is None:
                stderr = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"mockauth serve exited early ({proc.wait()}): {seen} {stderr}")
            seen.append(line)
            match = LISTENING.match(line)
            if match:
                url = match.group(1)
                assert int(match.group(2)) > 0
        yield Served(proc, url, output, seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_tutorial_against_mockauth_serve(demo_server: Served) -> None:
    issuer = demo_server.url + "/default"
    assert tutorial(issuer, *DEMO_CLIENT) == {"sub": "demo-service"}

    assert demo_server.stop() == 0
    assert demo_server.lines[-1] == "mockauth: stopped"
    stderr = demo_server.proc.stderr.read() if demo_server.proc.stderr else ""
    assert "Traceback" not in stderr, stderr


def test_mockauth_serve_banner_names_the_issuer_and_demo_clients(demo_server: Served) -> None:
    issuer = demo_server.url + "/default"
    metadata = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == issuer
    assert demo_server.stop() == 0
    banner = demo_server.lines
    assert any("TEST ONLY" in line for line in banner)
    assert f"Issuer {issuer}" in banner
    clients = [line.split()[1] for line in banner if line.split()[:1] == ["client"]]
    assert {"demo-web", "demo-spa", "demo-service"} <= set(clients)
    assert any(DEMO_CLIENT[1] in line for line in banner)
