"""openid-client, the Node relying-party library, against a live mockauth over
https with the test CA (issue 7, item 3).

openid-client 6 refuses ``http:`` issuers outright, so this is the test that
HTTPS is what a Node client needs: it trusts the test CA through
``NODE_EXTRA_CA_CERTS`` and nothing else. The Node packages are installed on
first use from ``tests/interop/node/package-lock.json`` (``npm ci``), once per
machine, under a file lock so parallel workers do not race.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import jwt
import pytest

from mockauth import Provider

from .support import NODE_DIR

SECRET = "node-client-secret-0123456789abcdef"


def run_client(node: str, issuer: str, secret: str, ca_file: str | None) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key != "NODE_EXTRA_CA_CERTS"}
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    done = subprocess.run(
        [node, "client_credentials.mjs", issuer, "node-app", secret],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["exit"] = done.returncode
    return result


@pytest.fixture
def provider() -> Provider:
    provider = Provider()
    provider.add_client(
        client_id="node-app",
        client_secret=SECRET,
        grant_types=["client_credentials"],
        default_scope="api",
    )
    return provider


def test_openid_client_over_tls_with_the_test_ca(node_client: str, provider: Provider) -> None:
    with provider.serve(tls=True) as server:
        seen = run_client(node_client, provider.issuer, SECRET, server.ca_file)
    assert seen["exit"] == 0, seen
    assert seen["issuer"] == provider.issuer
    assert seen["token_endpoint"].startswith("https://127.0.0.1:")
    assert seen["token_type"].lower() == "bearer"
    assert seen["active"] is True
    assert seen["client_id"] == "node-app"
    # the token it got is one this provider signed and still honours
    token = seen["access_token"]
    key = jwt.PyJWKSet.from_dict(provider.jwks())[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=[key.algorithm_name], options={"verify_aud": False})
    assert claims["client_id"] == "node-app"
    assert claims["iss"] == provider.issuer


def test_openid_client_rejects_the_server_without_the_ca(
    node_client: str, provider: Provider
) -> None:
    with provider.serve(tls=True) as server:
        assert server.ca_file is not None
        seen = run_client(node_client, provider.issuer, SECRET, None)
    assert seen["exit"] == 1
    assert "certificate" in (seen["cause"] + seen["error"]).lower()


def test_openid_client_refuses_plain_http(node_client: str, provider: Provider) -> None:
    with provider.serve() as server:
        assert server.url.startswith("http://")
        seen = run_client(node_client, provider.issuer, SECRET, None)
    assert seen["exit"] == 1
    assert seen["code"] == "OAUTH_HTTP_REQUEST_FORBIDDEN", seen


def test_a_wrong_secret_is_an_oauth_error_to_openid_client(
    node_client: str, provider: Provider
) -> None:
    with provider.serve(tls=True) as server:
        seen = run_client(node_client, provider.issuer, "wrong-" + SECRET, server.ca_file)
    assert seen["exit"] == 1
    # openid-client sends the secret in the body (client_secret_post). Our 401
    # carries ``WWW-Authenticate: Basic`` (RFC 9110 §15.5.2 wants one on every
    # 401), and openid-client surfaces a challenge rather than the body's code.
    assert seen["code"] == "OAUTH_WWW_AUTHENTICATE_CHALLENGE", seen
    token_calls = [call for call in provider.calls if call.endpoint == "token"]
    assert [(call.status, call.error) for call in token_calls] == [(401, "invalid_client")]
