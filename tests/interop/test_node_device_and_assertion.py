"""openid-client (Node) against mockauth over https: the device flow (RFC 8628),
private_key_jwt client authentication (RFC 7523 §2.2) and dynamic registration
(RFC 7591). The packages and the
node binary come from the openid-client test module's fixture."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import Provider
from mockauth.device import GRANT_TYPE

from .support import NODE_DIR


def _env(ca_file: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NODE_EXTRA_CA_CERTS"}
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    return env


def test_openid_client_device_flow(node_client: str) -> None:
    provider = Provider(tokens={"device_interval": 1})  # the client waits an interval per poll
    provider.add_client(client_id="tv", public=True, grant_types=[GRANT_TYPE])
    carol = provider.add_user("carol")
    with provider.serve(tls=True) as server:
        process = subprocess.Popen(
            [node_client, "device_and_assertion.mjs", "device", provider.issuer, "tv"],
            cwd=NODE_DIR, env=_env(server.ca_file), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            started: dict[str, Any] = json.loads(process.stdout.readline())
            assert "user_code" in started, started
            assert started["verification_uri"] == provider.issuer + "/device"
            provider.approve_device(started["user_code"], user="carol")
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
    seen: dict[str, Any] = json.loads(out.splitlines()[-1])
    assert process.returncode == 0, (seen, err)
    assert seen["token_type"].lower() == "bearer"
    assert seen["sub"] == carol.sub  # openid-client validated the ID token
    assert provider.tokens.decode(seen["access_token"])["sub"] == carol.sub


def test_openid_client_private_key_jwt(node_client: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key)), "kid": "node-1"}
    public = {k: v for k, v in private.items() if k != "d"}
    provider = Provider()
    provider.add_client(
        client_id="node-daemon", token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public]}, grant_types=["client_credentials"],
    )  # fmt: skip
    with provider.serve(tls=True) as server:
        done = subprocess.run(
            [node_client, "device_and_assertion.mjs", "private_key_jwt", provider.issuer,
             "node-daemon", json.dumps(private)],
            cwd=NODE_DIR, env=_env(server.ca_file), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    seen: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 0, (seen, done.stderr)
    assert provider.tokens.decode(seen["access_token"])["client_id"] == "node-daemon"
    call = provider.calls.filter("token")[-1]
    assert call.params["client_assertion"] == "[redacted]"
    assert call.params["client_assertion_type"].endswith("client-assertion-type:jwt-bearer")


def test_openid_client_dynamic_registration(node_client: str) -> None:
    provider = Provider()
    # openid-client sends a registered client's secret in the body (client_secret_post)
    # unless told otherwise, so it registers that method: mockauth holds it to it.
    metadata = {"grant_types": ["client_credentials"], "client_name": "node service",
                "token_endpoint_auth_method": "client_secret_post"}  # fmt: skip
    with provider.serve(tls=True) as server:
        done = subprocess.run(
            [node_client, "device_and_assertion.mjs", "register", provider.issuer, "-",
             json.dumps(metadata)],
            cwd=NODE_DIR, env=_env(server.ca_file), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    seen: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 0, (seen, done.stderr)
    registered = provider.client(seen["client_id"])
    assert registered.client_name == "node service"
    assert seen["registration_client_uri"].endswith("/register/" + seen["client_id"])
    assert provider.tokens.decode(seen["access_token"])["client_id"] == seen["client_id"]
