"""Shared test helpers: PKCE pairs and the code flow over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import Client, Provider
from mockauth.dpop import thumbprint

WEB_REDIRECT = "http://127.0.0.1:5000/cb"
SPA_REDIRECT = "http://localhost:3000/callback"


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The query parameters of a 302 from /authorize (one value each)."""
    assert response.status_code == 302, (response.status_code, response.text)
    query = parse_qs(urlsplit(response.headers["location"]).query, keep_blank_values=True)
    return {k: v[0] for k, v in query.items()}


def get_code(
    http: httpx.Client,
    provider: Provider,
    client: Client,
    *,
    redirect_uri: str | None = None,
    scope: str = "openid profile email",
    challenge: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Run /authorize and return the redirect's parameters (``code``, ``state``, ``iss``)."""
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri or client.redirect_uris[0],
        "scope": scope,
        "state": "st-" + secrets.token_hex(4),
        **extra,
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    response = http.get(provider.endpoint("authorize"), params=params)
    return redirect_params(response)


def secret_auth(client: Client) -> tuple[str, str]:
    """HTTP Basic credentials of a confidential client."""
    assert client.client_secret is not None
    return client.client_id, client.client_secret


def post_as(
    http: httpx.Client, provider: Provider, endpoint: str, client: Client, data: dict[str, str]
) -> httpx.Response:
    """POST a form to ``endpoint`` as ``client``: Basic auth with a secret, else ``client_id``."""
    if client.client_secret:
        return http.post(provider.endpoint(endpoint), data=data, auth=secret_auth(client))
    return http.post(provider.endpoint(endpoint), data={**data, "client_id": client.client_id})


def code_data(client: Client, code: str, verifier: str | None, **extra: str) -> dict[str, str]:
    """The token request body that redeems ``code`` (no ``code_verifier`` when None)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uris[0],
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return data


def refresh(
    http: httpx.Client, provider: Provider, client: Client, token: str, **extra: str
) -> httpx.Response:
    """A refresh_token grant request by ``client``."""
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return post_as(http, provider, "token", client, data)


def userinfo_status(http: httpx.Client, provider: Provider, access_token: str) -> int:
    """The status of a GET /userinfo with ``access_token`` as the bearer token."""
    r = http.get(provider.endpoint("userinfo"), headers={"Authorization": f"Bearer {access_token}"})
    return r.status_code


def code_flow(
    http: httpx.Client,
    provider: Provider,
    client: Client,
    *,
    scope: str = "openid profile email",
    **extra: str,
) -> dict[str, Any]:
    """The whole authorization code flow with PKCE; returns the token response JSON."""
    verifier, challenge = pkce_pair()
    code = get_code(http, provider, client, scope=scope, challenge=challenge, **extra)["code"]
    response = post_as(http, provider, "token", client, code_data(client, code, verifier))
    assert response.status_code == 200, response.text
    return response.json()


class DocumentServer:
    """Serves JSON documents on a loopback port, as a client's ``jwks_uri`` or a
    trusted issuer's JWKS would be: ``docs[path] = (status, body)``, with
    ``headers[path]`` added to the answer; ``hits`` counts requests by path; a
    path in ``hold`` waits until the server stops (a peer that never answers).
    """

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.docs: dict[str, tuple[int, Any]] = {}
        self.hits: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.hold: set[str] = set()
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path in outer.hold:
                    outer.released.wait(30)
                    return
                status, body = outer.docs.get(self.path, (404, {"error": "not found"}))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in outer.headers.get(self.path, {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> DocumentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


class DpopKey:
    """A client's DPoP key pair, making proofs."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.jkt = thumbprint(self.jwk)

    def proof(self, method: str, url: str, *, header: dict[str, Any] | None = None,
              **claims: Any) -> str:  # fmt: skip
        body = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": time.time(), **claims}
        head = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, self.private,
                          "ES256", headers=head)  # fmt: skip
