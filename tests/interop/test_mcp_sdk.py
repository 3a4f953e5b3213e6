"""The MCP Python SDK's client OAuth (``mcp.client.auth.OAuthClientProvider``)
against mockauth and a mock protected MCP resource, over loopback: with
dynamic registration, with a client ID metadata document, through a scripted
step-up, and tripping over the MCP failure scenarios.

The SDK lives in its own virtual environment (``mcp_sdk/requirements.txt``,
created on first use under a file lock): it brings ``httpx2``, which authlib
then prefers over ``httpx``, and the other interop tests pin authlib on httpx.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mockauth import Provider, load_scenario

HERE = Path(__file__).parent / "mcp_sdk"
ENV = HERE / ".venv"
PYTHON = ENV / "bin" / "python"
CALLBACK = "http://127.0.0.1:33418/callback"
#: A client ID metadata document URL (the SDK insists on https), served without a network.
DOCUMENT_URL = "https://mcp-client.example.test/oauth/client.json"


@pytest.fixture(scope="session")
def sdk() -> Path:
    """The SDK's Python, installed once per machine from the pinned requirements."""
    with open(HERE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = ENV / "installed.txt"
        wanted = (HERE / "requirements.txt").read_text()
        if not (PYTHON.exists() and stamp.exists() and stamp.read_text() == wanted):
            venv.create(ENV, with_pip=True, clear=True)
            install = subprocess.run(
                [str(PYTHON), "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            if install.returncode != 0:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"CI needs the MCP SDK: {install.stderr[-2000:]}")
                pytest.skip(f"the MCP SDK could not be installed: {install.stderr[-500:]}")
            stamp.write_text(wanted)
    return PYTHON


def run_client(sdk: Path, server_url: str, metadata_url: str | None = None) -> dict[str, Any]:
    """The SDK's flow against ``server_url`` (a bounded subprocess); what it printed."""
    args = [str(sdk), str(HERE / "client.py"), server_url, CALLBACK]
    if metadata_url:
        args.append(metadata_url)
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def provider() -> Any:
    p = Provider()
    p.add_user("alice")
    with p.serve():
        yield p
    p.raise_errors()


def test_dynamic_registration_then_the_resource(sdk: Path, provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools"])
    result = run_client(sdk, resource.url)
    assert "error" not in result, result
    assert [a["status"] for a in result["answers"]] == [200, 200]
    body = result["answers"][0]["body"]
    assert body["sub"] == "alice"
    assert body["claims"]["aud"] == resource.url  # RFC 8707: bound to the MCP server
    registered = provider.client(result["client"]["client_id"])
    assert registered.public
    assert registered.application_type == "native"
    assert registered.redirect_uris == (CALLBACK,)
    (authorize,) = result["authorize_urls"]
    sent = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert sent["resource"] == resource.url
    assert sent["code_challenge_method"] == "S256"
    assert "mcp:tools" in sent["scope"].split()
    assert [(c.endpoint, c.status) for c in provider.calls] == [
        ("resource", 401),
        ("resource_metadata", 200),
        ("discovery", 200),  # RFC 8414 path insertion, the first URL the SDK tries
        ("registration", 201),
        ("authorize", 302),
        ("token", 200),
        ("resource", 200),
        ("resource", 200),  # the second call reuses the token
    ]
    token_call = provider.calls[5]
    assert token_call.params["resource"] == resource.url
    assert result["tokens"]["token_type"] == "Bearer"  # the SDK accepts nothing else


def test_a_client_id_metadata_document_instead_of_registration(
    sdk: Path, provider: Provider
) -> None:
    resource = provider.add_resource("/mcp")
    provider.add_client_metadata_document({
        "client_id": DOCUMENT_URL, "client_name": "MCP SDK test client",
        "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
    })  # fmt: skip
    result = run_client(sdk, resource.url, DOCUMENT_URL)
    assert "error" not in result, result
    assert [a["status"] for a in result["answers"]] == [200, 200]
    assert result["answers"][0]["body"]["client_id"] == DOCUMENT_URL
    assert "registration" not in [c.endpoint for c in provider.calls]
    assert [c.client_id for c in provider.calls if c.endpoint == "token"] == [DOCUMENT_URL]


def test_a_scripted_insufficient_scope_makes_it_step_up(sdk: Path, provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools"])
    # The first call has no token, the second succeeds; the third is told to step up.
    provider.fail("resource", error="insufficient_scope", after=2, times=1)
    result = run_client(sdk, resource.url)
    assert "error" not in result, result
    assert len(result["authorize_urls"]) == 2  # it authorized again
    assert [c.status for c in provider.calls if c.endpoint == "resource"] == [401, 200, 403, 200]


@pytest.mark.parametrize(
    ("scenario", "error", "words"),
    [
        ("mcp-issuer-mismatch", "OAuthFlowError", "issuer"),
        ("mcp-registration-server-error", "OAuthRegistrationError", "500"),
        ("mcp-registration-unauthorized", "OAuthRegistrationError", "401"),
        # A 5xx stops its discovery; it then registers at {origin}/register, which is no one's.
        ("mcp-discovery-outage", "OAuthRegistrationError", "404"),
        # No metadata: it falls back to the origin, where this issuer (at /default) is not.
        ("mcp-resource-metadata-missing", "OAuthRegistrationError", "404"),
    ],
)
def test_the_mcp_failure_scenarios_stop_the_sdk(
    sdk: Path, provider: Provider, scenario: str, error: str, words: str
) -> None:
    resource = provider.add_resource("/mcp")
    load_scenario(scenario).apply(provider)
    result = run_client(sdk, resource.url)
    assert result.get("error") == error, result
    assert words in result["message"].lower()
    assert "token" not in [c.endpoint for c in provider.calls]


def test_the_sdk_does_not_refuse_metadata_without_pkce_methods(
    sdk: Path, provider: Provider
) -> None:
    """The spec says refuse; this SDK goes on (a quirk worth a test of your own client)."""
    resource = provider.add_resource("/mcp")
    load_scenario("mcp-no-pkce-metadata").apply(provider)
    result = run_client(sdk, resource.url)
    assert [a["status"] for a in result["answers"]] == [200, 200]
    discovery = next(c for c in provider.calls if c.endpoint == "discovery")
    assert discovery.rule is not None  # the scripted metadata was the one it read


def test_the_sdk_environment_is_separate() -> None:
    """The main environment has no httpx2 (authlib would switch to it)."""
    found = subprocess.run([sys.executable, "-c", "import httpx2"], capture_output=True)
    assert found.returncode != 0
