"""openid-client (Node) through PAR (RFC 9126) and DPoP (RFC 9449) against
mockauth over https, ending at a mock protected resource: the code flow
through a pushed request, with and without DPoP, and client_credentials with
DPoP under server nonces (which openid-client answers by retrying)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mockauth import Provider

from .support import NODE_DIR

SECRET = "node-par-secret-0123456789-abcdefgh"
CALLBACK = "https://app.example.test/callback"


def _run(node_client: str, ca_file: str | None, *args: str) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key != "NODE_EXTRA_CA_CERTS"}
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    done = subprocess.run([node_client, "par_and_dpop.mjs", *args], cwd=NODE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, (seen, done.stderr[-2000:])
    return seen


def _provider(**fields: Any) -> Provider:
    provider = Provider(**fields)
    provider.add_client(client_id="app", client_secret=SECRET, redirect_uris=[CALLBACK],
                        grant_types=["authorization_code", "client_credentials"])  # fmt: skip
    provider.add_user("alice")
    return provider


@pytest.mark.parametrize("dpop", [False, True], ids=["bearer", "dpop"])
def test_openid_client_code_flow_through_par(node_client: str, dpop: bool) -> None:
    provider = _provider(require_pushed_authorization_requests=True)
    resource = provider.add_resource("/mcp")
    with provider.serve(tls=True) as server:
        args = ["par", provider.issuer, "app", SECRET, CALLBACK, resource.url]
        seen = _run(node_client, server.ca_file, *args, *(["dpop"] if dpop else []))
    # The authorization URL holds the request_uri and client_id only (RFC 9126 §4).
    sent = parse_qs(urlsplit(seen["authorization_url"]).query)
    assert set(sent) == {"client_id", "request_uri"}
    assert sent["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    assert seen["token_type"].lower() == ("dpop" if dpop else "bearer")
    assert seen["sub"] == "alice"  # openid-client checked the ID token (and iss)
    assert seen["resource"]["status"] == 200, seen
    claims = provider.tokens.decode(seen["access_token"])
    assert claims["aud"] == resource.url
    assert ("cnf" in claims) is dpop
    endpoints = [c.endpoint for c in provider.calls]
    assert endpoints[-4:] == ["par", "authorize", "token", "resource"]
    par = next(c for c in provider.calls if c.endpoint == "par")
    assert par.params["resource"] == resource.url


def test_openid_client_retries_with_the_dpop_nonce(node_client: str) -> None:
    provider = _provider(dpop={"require_nonce": True})
    resource = provider.add_resource("/mcp", dpop_required=True)
    with provider.serve(tls=True) as server:
        seen = _run(node_client, server.ca_file, "dpop", provider.issuer, "app", SECRET,
                    resource.url)  # fmt: skip
    assert seen["token_type"].lower() == "dpop"
    assert seen["resource"]["status"] == 200, seen
    assert seen["resource"]["body"]["client_id"] == "app"
    token_calls = [(c.status, c.error) for c in provider.calls if c.endpoint == "token"]
    assert token_calls == [(400, "use_dpop_nonce"), (200, None)]  # told, then retried
