"""Bad input: a clear 4xx, no 5xx, no traceback, no state change (STRICT.md, last section).

Most requests go through ``werkzeug.test.Client(provider)`` (the provider is a
WSGI app), which lets a test send bytes no HTTP library would. What needs a
real socket (lying ``Content-Length``, chunked bodies, silent clients) runs
against a live server with a short request timeout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, quote_from_bytes, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from jwt.algorithms import get_default_algorithms
from werkzeug.test import Client as WsgiClient
from werkzeug.test import TestResponse

from mockauth import Clock, LiveServer, Provider
from mockauth.endpoints import ENDPOINTS
from mockauth.http import MAX_BODY

from .helpers import WEB_REDIRECT, code_flow, get_code, pkce_pair

WEB_SECRET = "web-secret-0123456789-abcdefghijkl"
SERVICE_SECRET = "service-secret-0123456789-abcdefgh"
LOGOUT_REDIRECT = "http://127.0.0.1:5000/bye"
FORM = "application/x-www-form-urlencoded"
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND")
#: Every route, with the RFC 8414 root form of the metadata URL.
ROUTES = [
    (
        ep.name,
        ep.path.replace("{resource}", "api") if ep.mount == "resource" else "/default" + ep.path,
        ep.methods,
    )
    for ep in ENDPOINTS
    if ep.served_by(Provider().services)  # as configured here: not the login page's form
] + [("discovery", "/.well-known/oauth-authorization-server/default", ("GET", "HEAD"))]
POST_ENDPOINTS = [(name, path) for name, path, methods in ROUTES if "POST" in methods]
#: Where errors are HTML pages, not JSON.
PAGE_ENDPOINTS = {"authorize", "end_session", "device_verification"}
Pairs = list[tuple[str | bytes, str | bytes]]


# --- helpers ------------------------------------------------------------------------


def snapshot(provider: Provider) -> Any:
    """Everything a request could change: store tables, flags, clients and users."""
    store = provider.store
    with store.lock:
        return (
            sorted(store.codes.items),
            sorted(store.used_codes.items),
            sorted((k, r.used) for k, r in store.refresh.items.items()),
            sorted((k, r.revoked) for k, r in store.access.items.items()),
            sorted(store.opaque.items),
            sorted(store.sessions.items),
            sorted(store.revoked_grants.items),
            [c.client_id for c in provider.clients],
            [u.sub for u in provider.users],
        )


def encode(pairs: Pairs) -> str:
    """``application/x-www-form-urlencoded`` from pairs of text or raw bytes."""

    def b(v: str | bytes) -> bytes:
        return v if isinstance(v, bytes) else v.encode()

    return "&".join(f"{quote_from_bytes(b(k))}={quote_from_bytes(b(v))}" for k, v in pairs)


def headers_are_clean(response: TestResponse) -> None:
    """No header carries a control character: nothing was echoed into headers raw."""
    for name, value in response.headers.items():
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value), (name, value)


def assert_clear_4xx(response: TestResponse, name: str) -> None:
    """A 4xx that says what is wrong: RFC 6749 JSON, an HTML page, or a Bearer challenge."""
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    headers_are_clean(response)
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    if response.mimetype == "application/json":
        assert isinstance(response.json["error"], str)
    elif name in PAGE_ENDPOINTS:
        assert response.mimetype == "text/html"
        assert "<h1>" in body
    else:
        assert name in ("userinfo", "resource")
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@dataclass
class Seeded:
    """A provider with live state: tokens of a code flow, an unredeemed code, a session."""

    provider: Provider
    client: WsgiClient
    access_token: str
    refresh_token: str
    id_token: str
    code: str
    verifier: str
    challenge: str  # of a PKCE pair for fresh authorization requests

    def send(
        self,
        method: str,
        path: str,
        pairs: Pairs | None = None,
        *,
        query: str | None = None,
        body: bytes | str | None = None,
        content_type: str | None = FORM,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """``pairs`` go into the query for GET, into a form body otherwise."""
        if pairs is not None:
            if method in ("GET", "HEAD"):
                query = encode(pairs)
            else:
                body = encode(pairs)
        kwargs: dict[str, Any] = {"method": method, "headers": headers or {}}
        if query is not None:
            kwargs["query_string"] = query
        if body is not None:
            kwargs["data"] = body.encode() if isinstance(body, str) else body
            if content_type is not None:
                kwargs["content_type"] = content_type
        return self.client.open(path, **kwargs)


@pytest.fixture
def provider(provider: Provider) -> Provider:
    """The shared provider, guarding a mock protected resource at /api as well."""
    provider.add_resource("/api", scopes=["api"])
    return provider


@pytest.fixture
def seeded(provider: Provider, http: httpx.Client) -> Seeded:
    web = provider.client("web")
    tokens = code_flow(http, provider, web, login_hint="alice")
    verifier, challenge = pkce_pair()
    code = get_code(http, provider, web, challenge=challenge, login_hint="alice")["code"]
    service = http.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=("service", SERVICE_SECRET),
    )
    assert service.status_code == 200  # a client_credentials token in the store as well
    client = WsgiClient(provider)
    # a browser session at /authorize, in the werkzeug client's cookie jar
    client.get("/default/authorize", query_string=encode(_authorize_pairs(challenge)))
    return Seeded(
        provider=provider,
        client=client,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        id_token=tokens["id_token"],
        code=code,
        verifier=verifier,
        challenge=challenge,
    )


def _authorize_pairs(challenge: str) -> Pairs:
    return [
        ("response_type", "code"),
        ("client_id", "web"),
        ("redirect_uri", WEB_REDIRECT),
        ("scope", "openid profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("login_hint", "alice"),
    ]


def valid_request(kind: str, s: Seeded) -> tuple[str, str, str, Pairs]:
    """``(endpoint name, method, path, pairs)`` of a request that succeeds as is."""
    web_auth: Pairs = [("client_id", "web"), ("client_secret", WEB_SECRET)]
    table: dict[str, tuple[str, str, Pairs]] = {
        "authorize": ("authorize", "GET", _authorize_pairs(s.challenge)),
        "token_code": (
            "token",
            "POST",
            [
                ("grant_type", "authorization_code"),
                ("code", s.code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", s.verifier),
                *web_auth,
            ],
        ),
        "token_refresh": (
            "token",
            "POST",
            [("grant_type", "refresh_token"), ("refresh_token", s.refresh_token), *web_auth],
        ),
        "token_client_credentials": (
            "token",
            "POST",
            [
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("client_id", "service"),
                ("client_secret", SERVICE_SECRET),
            ],
        ),
        "token_password": (
            "token",
            "POST",
            [
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-pw"),
                ("scope", "openid"),
                *web_auth,
            ],
        ),
        "userinfo": ("userinfo", "POST", [("access_token", s.access_token)]),
        "introspect": ("introspect", "POST", [("token", s.access_token), *web_auth]),
        "revoke": ("revoke", "POST", [("token", s.access_token), *web_auth]),
        "end_session": (
            "end_session",
            "GET",
            [
                ("client_id", "web"),
                ("post_logout_redirect_uri", LOGOUT_REDIRECT),
                ("state", "bye-1"),
            ],
        ),
    }
    name, method, pairs = table[kind]
    path = next(p for n, p, _ in ROUTES if n == name)
    return name, method, path, pairs


KINDS = [
    "authorize",
    "token_code",
    "token_refresh",
    "token_client_credentials",
    "token_password",
    "userinfo",
    "introspect",
    "revoke",
    "end_session",
]


def assert_succeeds(kind: str, response: TestResponse) -> None:
    """The positive control: the untouched request works."""
    if kind == "authorize":
        assert response.status_code == 302, response.get_data()[:300]
        assert "code" in parse_qs(urlsplit(response.headers["Location"]).query)
    elif kind == "end_session":
        assert response.status_code == 302
        assert response.headers["Location"].startswith(LOGOUT_REDIRECT)
    else:
        assert response.status_code == 200, response.get_data()[:300]
        if kind == "introspect":
            assert response.json["active"] is True


# --- wrong method -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path", "allowed"), ROUTES, ids=[r[1] for r in ROUTES])
def test_wrong_method_is_405_with_allow(
    seeded: Seeded, name: str, path: str, allowed: tuple[str, ...]
) -> None:
    before = snapshot(seeded.provider)
    for method in ALL_METHODS:
        if method in allowed:
            continue
        response = seeded.client.open(path, method=method, data=b"a=b", content_type=FORM)
        assert response.status_code == 405, (method, path)
        assert {m.strip() for m in response.headers["Allow"].split(",")} == set(allowed)
        headers_are_clean(response)
        if method != "HEAD":
            assert response.json["error"] == "invalid_request"
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before
    # every method that Allow names is really served (not 405)
    for method in allowed:
        assert seeded.client.open(path, method=method).status_code != 405, (method, path)


def test_options_preflight_names_the_methods(seeded: Seeded) -> None:
    response = seeded.client.open("/default/token", method="OPTIONS")
    assert response.status_code == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "GET" not in response.headers["Access-Control-Allow-Methods"]


# --- content type -------------------------------------------------------------------------

ODD_CONTENT_TYPES = [
    "application/json",
    "invalid/@@##",
    "",
    None,  # no Content-Type at all
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "application/x-www-form-urlencoded-but-not",
]


@pytest.mark.parametrize("content_type", ODD_CONTENT_TYPES)
@pytest.mark.parametrize(
    "kind", ["authorize", "token_client_credentials", "userinfo", "introspect", "revoke"]
)
def test_odd_content_type_on_post(seeded: Seeded, kind: str, content_type: str | None) -> None:
    name, _, path, pairs = valid_request(kind, seeded)
    before = snapshot(seeded.provider)
    # the body is a perfectly good form: only the Content-Type is wrong
    body = encode(pairs)
    text = [(str(k), str(v)) for k, v in pairs]  # all of them are text here
    if content_type == "application/json":
        body = json.dumps(dict(text))
    elif content_type and content_type.startswith("multipart/"):
        body = "".join(
            f'--xyz\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in text
        )
        body += "--xyz--\r\n"
    response = seeded.send("POST", path, body=body, content_type=content_type)
    assert_clear_4xx(response, name)
    if name == "userinfo":
        # a token in a non-form body is no token at all (RFC 6750 §2.2)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="mockauth"'
    elif name == "authorize":
        assert response.status_code == 400
        assert "Location" not in response.headers
    else:
        assert response.status_code == 400
        assert response.json["error"] == "invalid_request"
        assert "x-www-form-urlencoded" in response.json["error_description"]
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before


def test_end_session_post_with_odd_content_type(seeded: Seeded) -> None:
    before = snapshot(seeded.provider)
    for content_type in ODD_CONTENT_TYPES:
        response = seeded.send(
            "POST", "/default/endsession", body=b"client_id=web", content_type=content_type
        )
        assert_clear_4xx(response, "end_session")
        assert "Set-Cookie" not in response.headers
    assert snapshot(seeded.provider) == before  # the session survived


def test_form_content_type_with_charset_is_fine(seeded: Seeded) -> None:
    _, _, path, pairs = valid_request("token_client_credentials", seeded)
    response = seeded.send(
        "POST",
        path,
        body=encode(pairs),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    assert response.status_code == 200


# --- body size ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path"), POST_ENDPOINTS, ids=[p for _, p in POST_ENDPOINTS])
def test_body_over_the_cap_is_413(seeded: Seeded, name: str, path: str) -> None:
    before = snapshot(seeded.provider)
    body = b"client_id=web&pad=" + b"x" * MAX_BODY
    response = seeded.send("POST", path, body=body)
    assert response.status_code == 413, (path, response.get_data()[:200])
    assert_clear_4xx(response, name)
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before


def test_body_just_under_the_cap_is_parsed(seeded: Seeded) -> None:
    _, _, path, pairs = valid_request("token_client_credentials", seeded)
    body = encode(pairs) + "&pad="
    body += "x" * (MAX_BODY - len(body) - 1)
    assert len(body) < MAX_BODY
    response = seeded.send("POST", path, body=body)
    assert response.status_code == 200, response.get_data()[:200]


# --- raw sockets against a live server --------------------------------------------------


@pytest.fixture
def live(provider: Provider) -> Iterator[LiveServer]:
    with LiveServer([provider], request_timeout=0.3) as server:
        yield server
    assert provider.errors == []


def raw_request(server: LiveServer, data: bytes) -> tuple[int, bytes] | None:
    """Send raw bytes; the answer's status and body, or None if the server just closed.

    Every socket has a timeout: a server that hangs fails the test instead.
    """
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        if data:
            sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None
        return response.status, response.read()


def still_serves(server: LiveServer, provider: Provider) -> None:
    answer = raw_request(
        server, b"GET /default/jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert answer is not None
    assert answer[0] == 200
    assert json.loads(answer[1]) == provider.jwks()


def _token_request(length_header: bytes, body: bytes) -> bytes:
    return (
        b"POST /default/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n" + length_header + b"\r\n" + body
    )


GOOD_BODY = (
    f"grant_type=client_credentials&client_id=service&client_secret={SERVICE_SECRET}".encode()
)


def test_live_positive_control(live: LiveServer, provider: Provider) -> None:
    answer = raw_request(
        live, _token_request(b"Content-Length: %d\r\n" % len(GOOD_BODY), GOOD_BODY)
    )
    assert answer is not None
    assert answer[0] == 200
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(GOOD_BODY), GOOD_BODY)
    answer = raw_request(live, _token_request(b"Transfer-Encoding: chunked\r\n", chunked))
    assert answer is not None
    assert answer[0] == 200


@pytest.mark.parametrize("length", [b"-5", b"abc", b"1e3", b"0x1f", b"+90", b"9" * 30 + b"x"])
def test_live_malformed_content_length_is_400(
    live: LiveServer, provider: Provider, length: bytes
) -> None:
    """werkzeug reads these as 0 and would drop the (valid) body: the provider says 400."""
    before = snapshot(provider)
    answer = raw_request(live, _token_request(b"Content-Length: " + length + b"\r\n", GOOD_BODY))
    assert answer is not None
    status, body = answer
    assert status == 400, body
    assert json.loads(body)["error"] == "invalid_request"
    assert snapshot(provider) == before
    still_serves(live, provider)


def test_live_short_body(live: LiveServer, provider: Provider) -> None:
    """Content-Length promises more than is sent: after the server's timeout, 4xx or close."""
    before = snapshot(provider)
    answer = raw_request(live, _token_request(b"Content-Length: 400\r\n", GOOD_BODY))
    if answer is not None:
        assert 400 <= answer[0] < 500, answer
    assert snapshot(provider) == before
    still_serves(live, provider)


def test_live_huge_declared_length_is_413(live: LiveServer, provider: Provider) -> None:
    answer = raw_request(live, _token_request(b"Content-Length: 1000000000\r\n", GOOD_BODY))
    assert answer is not None
    assert answer[0] == 413
    still_serves(live, provider)


def test_live_chunked_body_over_the_cap_is_413(live: LiveServer, provider: Provider) -> None:
    """werkzeug cuts a chunked body at the cap without an error; the provider refuses it."""
    before = snapshot(provider)
    big = GOOD_BODY + b"&pad=" + b"x" * MAX_BODY
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
    answer = raw_request(live, _token_request(b"Transfer-Encoding: chunked\r\n", chunked))
    assert answer is not None
    assert answer[0] == 413
    assert snapshot(provider) == before
    still_serves(live, provider)


def _read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize(
    "data",
    [
        b"",  # connects and never sends
        b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"POST /default/to",  # request line never finished
    ],
    ids=["silent", "unfinished-headers", "unfinished-request-line"],
)
def test_live_silent_client_is_dropped(live: LiveServer, provider: Provider, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as slow:
        if data:
            slow.sendall(data)
        # the server answers others meanwhile (one thread per connection) ...
        still_serves(live, provider)
        # ... and drops the silent one after its request timeout (recv would time out otherwise)
        received = _read_all(slow)
    if received:
        assert received.startswith(b"HTTP/1."), received[:100]
        assert 400 <= int(received.split()[1]) < 500
    still_serves(live, provider)


@pytest.mark.parametrize(
    ("garbage", "code"),
    [
        (b"\x00\xff\r\n\r\n", b"400"),
        (b"GET\r\n\r\n", b"400"),
        (b"GET /default/jwks XYZ\r\n\r\n", b"400"),
        (b"GET / HTTP/9.9\r\n\r\n", b"505"),  # RFC 9110 §15.6.6
    ],
)
def test_live_garbage_request_line(
    live: LiveServer, provider: Provider, garbage: bytes, code: bytes
) -> None:
    """http.server answers these itself (HTTP/0.9-style for a line without a version)."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(garbage)
        received = _read_all(sock)
    if received.startswith(b"HTTP/"):
        assert received.split()[1] == code, received[:100]
    else:
        assert b"Error code: " + code in received, received[:300]
    still_serves(live, provider)


# --- odd bytes in query and form ---------------------------------------------------------

GARBAGE = [
    "%zz=%&&=&a",
    "%FF%FE=%FF&client_id=%C3%28",
    "a=%00&b=%1B&c=%0D%0A&%00=%00",
    "client_id=%0D%0ASet-Cookie:%20x=1",
    "=&=&==&&&",
    "%",
    "a" * 3000 + "=" + "b" * 3000,
]
BAD_BYTES = [b"\xff\xfe", b"\x00", b"\x1b", b"\r\n", b"\r\nSet-Cookie: x=1", b"%zz", b'"\\']


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_query_and_form_everywhere(seeded: Seeded, garbage: str) -> None:
    before = snapshot(seeded.provider)
    for name, path, methods in ROUTES:
        if name == "end_session":
            continue  # every parameter is optional there: checked below
        for method in methods:
            responses = [seeded.send(method, path, query=garbage)]
            if method == "POST":
                responses.append(seeded.send(method, path, body=garbage))
                if name == "device_verification":  # the code may be posted: no form, a 400 page
                    for posted in responses:
                        assert posted.status_code in (200, 400), posted.get_data()[:300]
                        headers_are_clean(posted)
                    continue
            for response in responses:
                if name in ("discovery", "jwks", "device_verification", "resource_metadata"):
                    # unknown parameters are ignored (the device page then asks for the code)
                    assert response.status_code == 200
                    headers_are_clean(response)
                else:
                    assert_clear_4xx(response, name)
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before
    # Logout needs no parameter: garbage is either ignored (a logout) or a 400 page.
    for response in (
        seeded.send("GET", "/default/endsession", query=garbage),
        seeded.send("POST", "/default/endsession", body=garbage),
    ):
        assert response.status_code in (200, 400), response.get_data()[:300]
        assert response.mimetype == "text/html"
        headers_are_clean(response)
    assert seeded.provider.errors == []


#: Values that trip parsers: odd numbers, broken URIs, markup, control characters.
TRICKY = [
    "", " ", "-1", "²", "٣", "1e3", "9" * 30, "http://[", "http://[::1", "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:5000/c\tb", "javascript:alert(1)", "<script>alert(1)</script>", "%", "%zz",
    "\x00", "\r\n", "\ufffd", "a" * 3000, "openid \x00", "none login", "S256 ",
]  # fmt: skip
#: Optional parameters each kind of request may carry, sent with every tricky value.
OPTIONAL = {
    "authorize": [
        "max_age", "prompt", "response_mode", "resource", "audience", "request",
        "request_uri", "id_token_hint", "claims", "ui_locales",
    ],
    "token_code": ["resource", "audience"],
    "token_refresh": ["scope", "resource", "audience"],
    "token_client_credentials": ["resource", "audience"],
    "token_password": ["resource", "audience"],
    "userinfo": [],
    "introspect": ["token_type_hint"],
    "revoke": ["token_type_hint"],
    "end_session": ["id_token_hint", "ui_locales"],
}  # fmt: skip


def _check_harmless(response: TestResponse, what: object) -> None:
    assert response.status_code < 500, (what, response.get_data()[:300])
    headers_are_clean(response)
    if response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        assert "<script" not in page, what
        assert not any(c in page for c in "\x00\x1b\r\n\t"), (what, page)


@pytest.mark.parametrize("kind", KINDS)
def test_odd_values_in_every_parameter(seeded: Seeded, kind: str) -> None:
    """Each parameter of a valid request gets odd bytes appended, or is replaced by a
    tricky value; each optional parameter is added with every tricky value. No 5xx,
    no control character in any header, nothing unescaped in HTML.
    """
    _, method, path, pairs = valid_request(kind, seeded)
    for i, (key, value) in enumerate(pairs):
        value_bytes = value if isinstance(value, bytes) else value.encode()
        variants = [value_bytes + bad for bad in BAD_BYTES] + [t.encode() for t in TRICKY]
        for variant in variants:
            response = seeded.send(method, path, [*pairs[:i], (key, variant), *pairs[i + 1 :]])
            _check_harmless(response, (key, variant))
            if response.status_code == 302 and key == "state" and variant:
                # byte for byte, when the bytes are text (werkzeug re-quotes invalid UTF-8)
                query = parse_qs(urlsplit(response.headers["Location"]).query)
                if variant.decode("utf-8", "replace") == variant.decode("utf-8", "ignore"):
                    assert query["state"] == [variant.decode()], (variant, query)
    for key in OPTIONAL[kind]:
        for tricky in TRICKY:
            _check_harmless(seeded.send(method, path, [*pairs, (key, tricky)]), (key, tricky))
    assert seeded.provider.errors == []


def test_odd_bytes_in_the_query_of_post_endpoints(seeded: Seeded) -> None:
    _, _, path, pairs = valid_request("token_client_credentials", seeded)
    for bad in BAD_BYTES:
        response = seeded.send(
            "POST", path, query=encode([("x", bad), (bad, "y")]), body=encode(pairs)
        )
        assert response.status_code == 200  # the query of a token request is ignored
    assert seeded.provider.errors == []


def test_unicode_digits_and_broken_uris_are_rejected_cleanly(seeded: Seeded) -> None:
    """Inputs that once raised inside the provider (ValueError -> 500)."""
    _, _, path, pairs = valid_request("authorize", seeded)
    before = snapshot(seeded.provider)
    for extra in (("max_age", "²"), ("max_age", "٣"), ("resource", "http://[x")):
        response = seeded.send("GET", path, [*pairs, extra])
        assert response.status_code == 302
        error = parse_qs(urlsplit(response.headers["Location"]).query)["error"][0]
        assert error in ("invalid_request", "invalid_target")
    for uri in (
        "http://[::1",
        "http://127.0.0.1:5000/c\r\nb",
        "http://127.0.0.1:5001/c\tb",
        " http://127.0.0.1:5001/cb",
        "http://127.0.0.1:99999/cb",
    ):
        changed = [(k, uri if k == "redirect_uri" else v) for k, v in pairs]
        response = seeded.send("GET", path, changed)
        assert response.status_code == 400, uri
        assert "Location" not in response.headers
    _, _, token_path, cc = valid_request("token_client_credentials", seeded)
    response = seeded.send("POST", token_path, [*cc, ("resource", "http://[x")])
    assert response.status_code == 400
    assert response.json["error"] == "invalid_target"
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before


# --- nothing echoed unescaped ---------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


def test_error_pages_escape_what_they_show(seeded: Seeded) -> None:
    path = "/default/authorize"
    cases: list[tuple[Pairs, str]] = [
        ([("client_id", SCRIPT), ("redirect_uri", WEB_REDIRECT)], "&lt;script&gt;"),
        ([("client_id", "web"), ("redirect_uri", "http://evil.test/" + SCRIPT)], "&lt;script&gt;"),
        ([("client_id", "web"), ("redirect_uri", WEB_REDIRECT + '"><img src=x>')], "&lt;img"),
    ]
    for case, escaped in cases:
        for method in ("GET", "POST"):
            response = seeded.send(method, path, [*case, ("response_type", "code")])
            assert response.status_code == 400
            assert "Location" not in response.headers
            html = response.get_data(as_text=True)
            assert "<script>" not in html
            assert "<img" not in html
            assert escaped in html, html
    response = seeded.send("GET", "/default/endsession", [("client_id", SCRIPT)])
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)
    assert "&lt;script&gt;" in response.get_data(as_text=True)
    assert seeded.provider.errors == []


def test_form_post_escapes_state(seeded: Seeded) -> None:
    _, _, path, pairs = valid_request("authorize", seeded)
    state = '"><script>alert(1)</script><input value="'
    changed = [(k, state if k == "state" else v) for k, v in pairs] + [
        ("response_mode", "form_post")
    ]
    response = seeded.send("GET", path, changed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in html
    assert f'action="{WEB_REDIRECT}"' in html


def test_bearer_challenge_stays_well_formed(seeded: Seeded) -> None:
    for token in ('a"b', 'x", error="fake', "a\\b", "ä.ö.ü", "Bearer"):
        response = seeded.send(
            "GET", "/default/userinfo", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.count('"') % 2 == 0, challenge
        assert challenge.count("error=") == 1
        assert "fake" not in challenge


# --- long values -----------------------------------------------------------------------------


def test_2kb_state_round_trips(seeded: Seeded) -> None:
    _, _, path, pairs = valid_request("authorize", seeded)
    state = ("&=+%#? é☃/\\'\"<>" * 200)[:2048]
    assert len(state) == 2048
    changed = [(k, state if k == "state" else v) for k, v in pairs]
    response = seeded.send("GET", path, changed)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query, keep_blank_values=True)
    assert query["state"] == [state]
    headers_are_clean(response)


def test_10kb_code_is_invalid_grant(seeded: Seeded) -> None:
    _, _, path, pairs = valid_request("token_code", seeded)
    before = snapshot(seeded.provider)
    changed = [(k, "x" * 10240 if k == "code" else v) for k, v in pairs]
    response = seeded.send("POST", path, changed)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert snapshot(seeded.provider) == before
    # the real code is untouched
    assert_succeeds("token_code", seeded.send("POST", path, pairs))


# --- missing and repeated parameters ----------------------------------------------------

MISSING = [
    # (kind, parameter, status, error); error None: a page (authorize) or a bare challenge
    ("authorize", "client_id", 400, None),
    ("authorize", "redirect_uri", 400, None),
    ("authorize", "response_type", 302, "invalid_request"),
    ("authorize_spa", "code_challenge", 302, "invalid_request"),
    ("token_code", "grant_type", 400, "invalid_request"),
    ("token_code", "code", 400, "invalid_request"),
    ("token_code", "redirect_uri", 400, "invalid_grant"),
    ("token_code", "code_verifier", 400, "invalid_grant"),
    ("token_code", "client_id", 400, "invalid_request"),
    ("token_code", "client_secret", 401, "invalid_client"),
    ("token_refresh", "grant_type", 400, "invalid_request"),
    ("token_refresh", "refresh_token", 400, "invalid_request"),
    ("token_refresh", "client_id", 400, "invalid_request"),
    ("token_refresh", "client_secret", 401, "invalid_client"),
    ("token_client_credentials", "grant_type", 400, "invalid_request"),
    ("token_client_credentials", "client_id", 400, "invalid_request"),
    ("token_client_credentials", "client_secret", 401, "invalid_client"),
    ("token_password", "grant_type", 400, "invalid_request"),
    ("token_password", "username", 400, "invalid_request"),
    ("token_password", "password", 400, "invalid_request"),
    ("token_password", "client_secret", 401, "invalid_client"),
    ("userinfo", "access_token", 401, None),
    ("introspect", "token", 400, "invalid_request"),
    ("introspect", "client_id", 400, "invalid_request"),
    ("introspect", "client_secret", 401, "invalid_client"),
    ("revoke", "token", 400, "invalid_request"),
    ("revoke", "client_id", 400, "invalid_request"),
    ("revoke", "client_secret", 401, "invalid_client"),
]


def _request_for(kind: str, s: Seeded) -> tuple[str, str, str, Pairs]:
    if kind == "authorize_spa":
        name, method, path, pairs = valid_request("authorize", s)
        pairs = [
            ("client_id", "spa") if k == "client_id" else (k, v)
            for k, v in pairs
            if k != "code_challenge_method"
        ]
        pairs = [
            ("redirect_uri", "http://localhost:3000/callback") if k == "redirect_uri" else (k, v)
            for k, v in pairs
        ]
        return name, method, path, pairs
    return valid_request(kind, s)


@pytest.mark.parametrize(
    ("kind", "param", "status", "error"), MISSING, ids=[f"{m[0]}-{m[1]}" for m in MISSING]
)
def test_each_required_parameter_missing(
    seeded: Seeded, kind: str, param: str, status: int, error: str | None
) -> None:
    name, method, path, pairs = _request_for(kind, seeded)
    assert any(k == param for k, _ in pairs)
    before = snapshot(seeded.provider)
    for variant in ("absent", "empty"):  # RFC 6749 §3.1: an empty parameter is an absent one
        without = [(k, v) for k, v in pairs if k != param]
        if variant == "empty":
            without.append((param, ""))
        response = seeded.send(method, path, without)
        assert response.status_code == status, (variant, response.get_data()[:300])
        headers_are_clean(response)
        if status == 302:
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            assert query["error"] == [error]
            assert "code" not in query
        elif error is None:
            assert_clear_4xx(response, name)
        else:
            assert response.json["error"] == error
            assert response.headers["Cache-Control"] == "no-store"
            if status == 401:  # RFC 9110 §15.5.2: every 401 says how to authenticate
                assert response.headers["WWW-Authenticate"] == 'Basic realm="mockauth"'

        if kind == "token_code" and param in ("redirect_uri", "code_verifier"):
            break  # the failed try burnt the code (RFC 9700 §4.8.2): checked below
    assert seeded.provider.errors == []
    if kind == "token_code" and param in ("redirect_uri", "code_verifier"):
        again = seeded.send(method, path, pairs)
        assert again.status_code == 400
        assert again.json["error"] == "invalid_grant"
        return
    assert snapshot(seeded.provider) == before
    if kind != "authorize_spa":
        assert_succeeds(kind, seeded.send(method, path, pairs))


def test_userinfo_with_no_token_is_a_bare_challenge(seeded: Seeded) -> None:
    for method in ("GET", "POST"):
        response = seeded.send(method, "/default/userinfo", [])
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="mockauth"'


@pytest.mark.parametrize("kind", KINDS)
def test_duplicates_of_every_parameter(seeded: Seeded, kind: str) -> None:
    name, method, path, pairs = valid_request(kind, seeded)
    before = snapshot(seeded.provider)
    for i, (key, value) in enumerate(pairs):
        for second in (value, "other", ""):  # "a=x&a=" is sent twice as well
            doubled = [*pairs[: i + 1], (key, second), *pairs[i + 1 :]]
            response = seeded.send(method, path, doubled)
            headers_are_clean(response)
            if name == "authorize" and key not in ("client_id", "redirect_uri"):
                assert response.status_code == 302, key
                query = parse_qs(urlsplit(response.headers["Location"]).query)
                assert query["error"] == ["invalid_request"], key
                assert "code" not in query
                assert ("state" in query) == (key != "state")
            else:
                assert_clear_4xx(response, name)
                assert response.status_code == 400, (key, response.status_code)
                if response.mimetype == "application/json":
                    assert response.json["error"] == "invalid_request"
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before
    assert_succeeds(kind, seeded.send(method, path, pairs))


def test_resource_may_repeat(seeded: Seeded) -> None:
    """RFC 8707 §2 is the one exception to "no duplicates"."""
    path = "/default/token"
    provider = seeded.provider
    provider.add_client(
        client_id="multi",
        client_secret="multi-secret-0123456789",
        grant_types=["client_credentials"],
    )
    response = seeded.send(
        "POST",
        path,
        [
            ("grant_type", "client_credentials"),
            ("client_id", "multi"),
            ("client_secret", "multi-secret-0123456789"),
            ("resource", "https://a.test/"),
            ("resource", "https://b.test/"),
        ],
    )
    assert response.status_code == 200, response.get_data()
    claims = jwt.decode(response.json["access_token"], options={"verify_signature": False})
    assert claims["aud"] == ["https://a.test/", "https://b.test/"]


# --- JWT garbage --------------------------------------------------------------------------


def _b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _forge(provider: Provider, claims: dict[str, Any], **header: Any) -> str:
    """A JWT signed with the provider's own key, with any header and claims at all
    (PyJWT's ``encode`` refuses some of the odd ones, so it is signed by hand).
    """
    key = provider.keys.active()
    headers = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt", **header}
    signing_input = f"{_b64(json.dumps(headers))}.{_b64(json.dumps(claims))}"
    algorithm = get_default_algorithms()[key.alg]
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key.key))
    return f"{signing_input}.{_b64(signature)}"


def garbage_tokens(s: Seeded) -> dict[str, str]:
    provider = s.provider
    real = jwt.decode(s.access_token, options={"verify_signature": False})
    now = int(provider.clock.now())
    body = _b64(json.dumps(real))
    head, _, signature = s.access_token.split(".")
    kid = provider.keys.active().kid
    tokens = {
        "a": "a",
        "a.b": "a.b",
        "a.b.c": "a.b.c",
        "a.b.c.d": "a.b.c.d",
        "dots": "..",
        "four-dots": "....",
        "empty-middle": "a..c",
        "empty-first": ".b.c",
        "empty-last": "a.b.",
        "null-header": f"{_b64('null')}.{body}.c2ln",
        "list-header": f"{_b64('[]')}.{body}.c2ln",
        "string-header": f"{_b64(json.dumps('x'))}.{body}.c2ln",
        "number-header": f"{_b64('1')}.{body}.c2ln",
        "broken-json-header": f"{_b64('{')}.{body}.c2ln",
        "not-base64": "@@@.###.$$$",
        "null-payload": f"{head}.{_b64('null')}.{signature}",
        "alg-none": f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}))}.{body}.",
        "alg-none-with-kid": f"{_b64(json.dumps({'alg': 'none', 'kid': kid}))}.{body}.",
        "kid-path": _forge(provider, real, kid="../../x"),
        "kid-passwd": _forge(provider, real, kid="../../../../../../etc/passwd"),
        "kid-number": _forge(provider, real, kid=5),
        "kid-null": _forge(provider, real, kid=None),
        "kid-empty": _forge(provider, real, kid=""),
        "crit-unknown": _forge(provider, real, crit=["exp"]),
        "exp-string": _forge(provider, {**real, "exp": str(real["exp"])}),
        "exp-bool": _forge(provider, {**real, "exp": True}),
        "exp-null": _forge(provider, {**real, "exp": None}),
        "exp-missing": _forge(provider, {k: v for k, v in real.items() if k != "exp"}),
        "exp-huge-unknown-jti": _forge(provider, {**real, "jti": "y", "exp": 10**30}),
        "iat-string-unknown-jti": _forge(provider, {**real, "jti": "z", "iat": "yesterday"}),
        "iss-other": _forge(provider, {**real, "iss": "http://evil.test"}),
        "jti-unknown": _forge(provider, {**real, "jti": "nope"}),
        "jti-number": _forge(provider, {**real, "jti": 7}),
        "exp-milliseconds-unknown-jti": _forge(provider, {**real, "jti": "x", "exp": now * 1000}),
        "one-megabyte": "a" * 1_000_000,
        "one-megabyte-jwt": f"{head}.{'A' * 1_000_000}.c2ln",
        "non-ascii": "ä.ö.ü",
        "tampered": s.access_token[:-4]
        + ("AAAA" if not s.access_token.endswith("AAAA") else "BBBB"),
    }
    # algorithm confusion: HS256 keyed with the public key (RFC 8725 §2.1)
    key = provider.keys.active()
    public_pem = key.verify_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tokens["hs256-with-public-key"] = _hs256(real, public_pem, key.kid)
    return tokens


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HS256 JWT signed by hand (PyJWT refuses a PEM key as an HMAC secret)."""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'kid': kid}))}.{_b64(json.dumps(claims))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_jwt_garbage_at_userinfo_and_introspection(seeded: Seeded) -> None:
    before = snapshot(seeded.provider)
    auth = [("client_id", "web"), ("client_secret", WEB_SECRET)]
    for label, token in garbage_tokens(seeded).items():
        big = len(token) > MAX_BODY
        # userinfo, header (latin-1 only: it is an HTTP header)
        if token.isascii() or all(ord(c) < 256 for c in token):
            response = seeded.send(
                "GET", "/default/userinfo", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, (label, response.get_data()[:200])
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], label
            headers_are_clean(response)
        # userinfo, form body
        response = seeded.send("POST", "/default/userinfo", [("access_token", token)])
        assert response.status_code == (413 if big else 401), label
        # introspection: exactly {"active": false}
        response = seeded.send("POST", "/default/introspect", [("token", token), *auth])
        if big:
            assert response.status_code == 413, label
        else:
            assert response.status_code == 200, label
            assert response.json == {"active": False}, label
        # revocation: 200 and nothing revoked
        response = seeded.send("POST", "/default/revoke", [("token", token), *auth])
        assert response.status_code == (413 if big else 200), label
        # as a refresh token
        response = seeded.send(
            "POST",
            "/default/token",
            [("grant_type", "refresh_token"), ("refresh_token", token), *auth],
        )
        assert response.status_code == (413 if big else 400), label
        # as an id_token_hint
        response = seeded.send("GET", "/default/endsession", [("id_token_hint", token)])
        assert response.status_code == 400, label
    assert seeded.provider.errors == []
    assert snapshot(seeded.provider) == before
    # the real token still works
    ok = seeded.send(
        "GET", "/default/userinfo", headers={"Authorization": f"Bearer {seeded.access_token}"}
    )
    assert ok.status_code == 200


def test_expired_token_with_lying_exp_is_rejected(provider: Provider) -> None:
    """An expired token re-signed with ``exp`` in milliseconds (or as a string) stays expired."""
    client = WsgiClient(provider)
    token = provider.issue_token("alice", client_id="web", scope="openid", expires_in=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (
        client.get("/default/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    provider.clock.advance(120)
    for exp in (claims["exp"] * 1000, str(claims["exp"] * 1000), float(claims["exp"] * 1000)):
        forged = _forge(provider, {**claims, "exp": exp})
        response = client.get("/default/userinfo", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, exp
        response = client.post(
            "/default/introspect",
            data=encode([("token", forged), ("client_id", "web"), ("client_secret", WEB_SECRET)]),
            content_type=FORM,
        )
        assert response.json == {"active": False}
    assert provider.errors == []


# --- fuzzing ---------------------------------------------------------------------------------

FUZZ_KEYS = [
    "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
    "refresh_token", "scope", "username", "password", "token", "token_type_hint",
    "access_token", "response_type", "state", "nonce", "code_challenge",
    "code_challenge_method", "prompt", "max_age", "login_hint", "response_mode", "resource",
    "audience", "id_token_hint", "post_logout_redirect_uri", "request", "request_uri",
]  # fmt: skip
#: Stand-ins for the live values of each example's fresh provider.
PLACEHOLDERS = ("{code}", "{verifier}", "{challenge}", "{access}", "{refresh}", "{id_token}")
FUZZ_VALUES = [
    *PLACEHOLDERS, "web", "spa", "service", WEB_SECRET, SERVICE_SECRET, "authorization_code",
    "refresh_token", "client_credentials", "password", WEB_REDIRECT, LOGOUT_REDIRECT,
    "http://127.0.0.1:1/cb", "http://localhost:3000/callback", "openid", "openid profile email",
    "offline_access", "S256", "plain", "none", "login", "none login", "form_post", "fragment",
    "query", "code", "token", "alice", "alice-pw", "alice@example.com", "access_token",
    "0", "-1", "99999999999", "²", "http://[", "https://api.test/", "urn:x#frag", "api",
    "\r\n", "\x00", "%", "a" * 200,
]  # fmt: skip
_WEB: Pairs = [("client_id", "web"), ("client_secret", WEB_SECRET)]
_AUTHORIZE: Pairs = [
    ("response_type", "code"),
    ("client_id", "web"),
    ("redirect_uri", WEB_REDIRECT),
    ("scope", "openid profile"),
    ("state", "s"),
    ("nonce", "n"),
    ("code_challenge", "{challenge}"),
    ("code_challenge_method", "S256"),
    ("login_hint", "alice"),
]
#: Valid requests the fuzzer starts from: (method, path, pairs, Authorization header).
FUZZ_BASES: dict[str, tuple[str, str, Pairs, str | None]] = {
    "authorize": ("GET", "/default/authorize", _AUTHORIZE, None),
    "authorize_post": ("POST", "/default/authorize", _AUTHORIZE, None),
    "token_code": (
        "POST",
        "/default/token",
        [
            ("grant_type", "authorization_code"),
            ("code", "{code}"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_verifier", "{verifier}"),
            *_WEB,
        ],
        None,
    ),
    "token_refresh": (
        "POST",
        "/default/token",
        [("grant_type", "refresh_token"), ("refresh_token", "{refresh}"), ("scope", "openid")],
        "basic-web",
    ),
    "token_client_credentials": (
        "POST",
        "/default/token",
        [("grant_type", "client_credentials"), ("scope", "read"), ("audience", "api")],
        "basic-service",
    ),
    "token_password": (
        "POST",
        "/default/token",
        [("grant_type", "password"), ("username", "alice"), ("password", "alice-pw"), *_WEB],
        None,
    ),
    "userinfo": ("GET", "/default/userinfo", [], "Bearer {access}"),
    "userinfo_post": ("POST", "/default/userinfo", [("access_token", "{access}")], None),
    "introspect": ("POST", "/default/introspect", [("token", "{access}"), *_WEB], None),
    "revoke": ("POST", "/default/revoke", [("token", "{refresh}"), *_WEB], None),
    "end_session": (
        "GET",
        "/default/endsession",
        [
            ("id_token_hint", "{id_token}"),
            ("post_logout_redirect_uri", LOGOUT_REDIRECT),
            ("state", "s"),
        ],
        None,
    ),
}
_BASIC = {
    "basic-web": "Basic " + base64.b64encode(f"web:{WEB_SECRET}".encode()).decode(),
    "basic-service": "Basic " + base64.b64encode(f"service:{SERVICE_SECRET}".encode()).decode(),
}

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)
_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
)
_KEY = st.one_of(st.sampled_from(FUZZ_KEYS), _TEXT)
_VALUE = st.one_of(st.sampled_from(FUZZ_VALUES), st.sampled_from(TRICKY), _TEXT)
_AUTHORIZATION = st.one_of(
    st.none(),
    st.sampled_from([*_BASIC, "Bearer {access}", "Bearer {refresh}", "Bearer {id_token}"]),
    _HEADER_TEXT,
    _HEADER_TEXT.map(lambda v: "Bearer " + v),
    st.builds(
        lambda a, b: "Basic " + base64.b64encode(f"{a}:{b}".encode()).decode(),
        st.sampled_from(["web", "spa", "service", "nobody", "web%3A"]),
        st.one_of(st.sampled_from([WEB_SECRET, SERVICE_SECRET, ""]), _TEXT),
    ),
)
_CONTENT_TYPE = st.one_of(
    st.none(),
    st.sampled_from([FORM, "application/json", "multipart/form-data; boundary=b", "text/plain"]),
    _HEADER_TEXT,
)
_METHOD = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])


@st.composite
def _perturbed(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with a few of its parameters dropped, changed, doubled or added."""
    method, path, base, authorization = FUZZ_BASES[draw(st.sampled_from(sorted(FUZZ_BASES)))]
    pairs = list(base)
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        op = draw(st.sampled_from(["drop", "replace", "double", "add"]))
        if op == "add" or not pairs:
            pairs.insert(draw(st.integers(0, len(pairs))), (draw(_KEY), draw(_VALUE)))
            continue
        i = draw(st.integers(0, len(pairs) - 1))
        if op == "drop":
            del pairs[i]
        elif op == "replace":
            pairs[i] = (pairs[i][0], draw(_VALUE))
        else:
            pairs.insert(i, pairs[i])
    method = draw(st.one_of(st.just(method), _METHOD))
    in_query = method in ("GET", "HEAD") or draw(st.integers(0, 9)) == 0
    return {
        "method": method,
        "path": path,
        "query": pairs if in_query else None,
        "body": None if in_query else pairs,
        "content_type": None if in_query else draw(st.one_of(st.just(FORM), _CONTENT_TYPE)),
        "authorization": draw(st.one_of(st.just(authorization), _AUTHORIZATION)),
    }


@st.composite
def _junk(draw: st.DrawFn) -> dict[str, Any]:
    """Anything at all: random paths under the issuer, raw query strings and bodies."""
    pairs = st.lists(st.tuples(_KEY, _VALUE), max_size=8)
    known_paths = [path for _, path, _ in ROUTES] + ["/", "/default", "/default/", "/other/token"]
    path = draw(
        st.one_of(
            st.sampled_from(known_paths),
            st.builds(
                lambda segs: "/default/" + "/".join(quote(s, safe="%") for s in segs),
                st.lists(_TEXT, max_size=3),
            ),
        )
    )
    return {
        "method": draw(_METHOD),
        "path": path,
        "query": draw(st.one_of(st.none(), pairs, _TEXT.map(lambda t: quote(t, safe="%&=+")))),
        "body": draw(st.one_of(st.none(), st.binary(max_size=200), pairs)),
        "content_type": draw(_CONTENT_TYPE),
        "authorization": draw(_AUTHORIZATION),
    }


def _fuzz_world() -> tuple[Provider, dict[str, str]]:
    """A fresh provider with a live code, tokens and a session for one example."""
    p = Provider(clock=Clock(frozen_at=START))
    p.add_client(
        client_id="web",
        client_secret=WEB_SECRET,
        redirect_uris=[WEB_REDIRECT],
        post_logout_redirect_uris=[LOGOUT_REDIRECT],
    )
    p.add_client(client_id="spa", public=True, redirect_uris=["http://localhost:3000/callback"])
    p.add_client(
        client_id="service",
        client_secret=SERVICE_SECRET,
        grant_types=["client_credentials"],
        audience=["api"],
    )
    p.add_user("alice", password="alice-pw", email="alice@example.com")
    with p.httpx_client() as http:
        tokens = code_flow(http, p, p.client("web"), login_hint="alice")
        verifier, challenge = pkce_pair()
        code = get_code(http, p, p.client("web"), challenge=challenge, login_hint="alice")["code"]
    live = {
        "{code}": code,
        "{verifier}": verifier,
        "{challenge}": challenge,
        "{access}": tokens["access_token"],
        "{refresh}": tokens["refresh_token"],
        "{id_token}": tokens["id_token"],
        **_BASIC,
    }
    return p, live


def _fill(text: str, live: dict[str, str]) -> str:
    for placeholder, value in live.items():
        text = text.replace(placeholder, value)
    return text


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=st.one_of(_perturbed(), _junk()))
def test_fuzz_never_5xx(request: dict[str, Any]) -> None:
    provider, live = _fuzz_world()

    def encoded(part: Any) -> Any:
        if isinstance(part, list):
            return encode([(_fill(k, live), _fill(v, live)) for k, v in part])
        return part

    kwargs: dict[str, Any] = {"method": request["method"], "headers": {}}
    if request["authorization"] is not None:
        kwargs["headers"]["Authorization"] = _fill(request["authorization"], live)
    if request["query"] is not None:
        kwargs["query_string"] = encoded(request["query"])
    if request["body"] is not None:
        body = encoded(request["body"])
        kwargs["data"] = body.encode() if isinstance(body, str) else body
    if request["content_type"] is not None:
        kwargs["content_type"] = request["content_type"]
    client = WsgiClient(provider)
    client.set_cookie(provider.session_cookie, "no-such-session", path="/default")
    response = client.open(request["path"], **kwargs)
    assert response.status_code < 500, (request, response.get_data()[:300])
    headers_are_clean(response)
    assert provider.errors == []


# --- a state machine of issue / redeem / refresh / revoke / advance clock -----------------

START = 1_700_000_000
CODE_TTL = 120
ACCESS_TTL = 3600
REFRESH_TTL = 86400


@dataclass
class _Code:
    verifier: str
    expires_at: float
    used: bool = False
    grant: int | None = None  # the grant its redemption produced


@dataclass
class _Token:
    grant: int
    expires_at: float
    used: bool = False  # refresh tokens: rotated away
    revoked: bool = False  # access tokens: revoked one by one


class TokenLifecycle(RuleBasedStateMachine):
    """The provider against a model of codes, grants and tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.provider = Provider(clock=Clock(frozen_at=START))
        self.provider.add_client(
            client_id="web", client_secret=WEB_SECRET, redirect_uris=[WEB_REDIRECT]
        )
        self.provider.add_user("alice", password="alice-pw")
        self.http = WsgiClient(self.provider)
        self.codes: dict[str, _Code] = {}
        self.access: dict[str, _Token] = {}
        self.refresh: dict[str, _Token] = {}
        self.revoked_grants: set[int] = set()
        self.grants = 0

    # helpers
    def now(self) -> float:
        return float(self.provider.clock.now())

    def post(self, path: str, pairs: Pairs) -> TestResponse:
        auth: Pairs = [("client_id", "web"), ("client_secret", WEB_SECRET)]
        return self.http.post(path, data=encode([*pairs, *auth]), content_type=FORM)

    def revoke_grant(self, grant: int) -> None:
        self.revoked_grants.add(grant)
        for rt in self.refresh.values():
            if rt.grant == grant:
                rt.used = True

    def access_alive(self, token: str) -> bool:
        m = self.access[token]
        return not m.revoked and m.grant not in self.revoked_grants and self.now() < m.expires_at

    def refresh_alive(self, token: str) -> bool:
        m = self.refresh[token]
        return not m.used and m.grant not in self.revoked_grants and self.now() < m.expires_at

    def record_tokens(self, grant: int, body: dict[str, Any]) -> None:
        now = self.now()
        self.access[body["access_token"]] = _Token(grant, now + ACCESS_TTL)
        self.refresh[body["refresh_token"]] = _Token(grant, now + REFRESH_TTL)

    # rules
    @initialize()
    def first_grant(self) -> None:
        self.authorize()
        self.redeem(0)

    @rule()
    def authorize(self) -> None:
        verifier, challenge = pkce_pair()
        response = self.http.get(
            "/default/authorize",
            query_string=encode(
                [
                    ("response_type", "code"),
                    ("client_id", "web"),
                    ("redirect_uri", WEB_REDIRECT),
                    ("scope", "openid"),
                    ("code_challenge", challenge),
                    ("code_challenge_method", "S256"),
                    ("login_hint", "alice"),
                ]
            ),
        )
        assert response.status_code == 302
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        self.codes[code] = _Code(verifier, self.now() + CODE_TTL)

    @precondition(lambda self: self.codes)
    @rule(i=st.integers(min_value=0, max_value=50))
    def redeem(self, i: int) -> None:
        code = sorted(self.codes)[i % len(self.codes)]
        m = self.codes[code]
        response = self.post(
            "/default/token",
            [
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", m.verifier),
            ],
        )
        if m.used:
            # a code redeems at most once; the replay revokes what the first one produced
            assert response.status_code == 400
            assert response.json["error"] == "invalid_grant"
            if m.grant is not None:
                self.revoke_grant(m.grant)
            event("code replayed")
            return
        m.used = True
        if self.now() >= m.expires_at:
            assert response.status_code == 400
            assert response.json["error"] == "invalid_grant"
            event("expired code")
            return
        assert response.status_code == 200, response.get_data()
        self.grants += 1
        m.grant = self.grants
        self.record_tokens(m.grant, response.json)

    @precondition(lambda self: self.refresh)
    @rule(i=st.integers(min_value=0, max_value=50))
    def use_refresh_token(self, i: int) -> None:
        token = sorted(self.refresh)[i % len(self.refresh)]
        m = self.refresh[token]
        response = self.post(
            "/default/token", [("grant_type", "refresh_token"), ("refresh_token", token)]
        )
        if m.grant in self.revoked_grants or self.now() >= m.expires_at:
            # revoked or expired: never works again, and nothing changes
            assert response.status_code == 400
            assert response.json["error"] == "invalid_grant"
            event("refresh: revoked or expired")
            return
        if m.used:
            # reuse of a rotated token: refused, and the whole grant dies
            assert response.status_code == 400
            assert response.json["error"] == "invalid_grant"
            self.revoke_grant(m.grant)
            event("refresh: reused")
            return
        assert response.status_code == 200, response.get_data()
        event("refresh: ok")
        m.used = True
        self.record_tokens(m.grant, response.json)

    @precondition(lambda self: self.refresh)
    @rule(i=st.integers(min_value=0, max_value=50))
    def revoke_refresh_token(self, i: int) -> None:
        token = sorted(self.refresh)[i % len(self.refresh)]
        response = self.post(
            "/default/revoke", [("token", token), ("token_type_hint", "refresh_token")]
        )
        assert response.status_code == 200
        self.revoke_grant(self.refresh[token].grant)

    @precondition(lambda self: self.access)
    @rule(i=st.integers(min_value=0, max_value=50))
    def revoke_access_token(self, i: int) -> None:
        token = sorted(self.access)[i % len(self.access)]
        response = self.post("/default/revoke", [("token", token)])
        assert response.status_code == 200
        self.access[token].revoked = True

    @rule(
        seconds=st.sampled_from(
            [1, 59, 60, 61, 119, 120, 121, 600, 3599, 3600, 3601, 86399, 86400, 86401]
        )
    )
    def advance_clock(self, seconds: int) -> None:
        self.provider.clock.advance(seconds)
        # whatever just expired is refused at once, whatever did not still works
        for i in range(len(self.access)):
            self.check_access_token(i)
        for i in range(len(self.refresh)):
            self.check_refresh_token(i)

    @precondition(lambda self: self.access)
    @rule(i=st.integers(min_value=0, max_value=50))
    def check_access_token(self, i: int) -> None:
        token = sorted(self.access)[i % len(self.access)]
        alive = self.access_alive(token)
        info = self.http.get("/default/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert info.status_code == (200 if alive else 401), (alive, info.get_data())
        intro = self.post("/default/introspect", [("token", token)])
        assert intro.json["active"] is alive
        event(f"access token alive={alive}")
        if not alive:
            assert intro.json == {"active": False}

    @precondition(lambda self: self.refresh)
    @rule(i=st.integers(min_value=0, max_value=50))
    def check_refresh_token(self, i: int) -> None:
        token = sorted(self.refresh)[i % len(self.refresh)]
        intro = self.post(
            "/default/introspect", [("token", token), ("token_type_hint", "refresh_token")]
        )
        alive = self.refresh_alive(token)
        assert intro.json["active"] is alive
        event(f"refresh token alive={alive}")

    @invariant()
    def no_unexpected_errors(self) -> None:
        assert self.provider.errors == []


TestTokenLifecycle = TokenLifecycle.TestCase
TestTokenLifecycle.settings = settings(
    max_examples=50,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
