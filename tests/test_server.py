"""The live server: loopback binding, immediate stop, error surfacing, dispatching, threads."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from mockauth import LiveServer, MockauthError, Provider, ProviderConfig, ServerThreadError
from mockauth.http import Request, Response

SERVICE_SECRET = "service-secret-0123456789-abcdefgh"


def _server_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"mockauth:{port}"]


def test_serve_binds_loopback_on_an_os_chosen_port(provider: Provider) -> None:
    with provider.serve() as server:
        parts = urlsplit(server.url)
        assert server.host == "127.0.0.1"
        assert parts.scheme == "http"
        assert parts.hostname == "127.0.0.1"
        assert parts.port == server.port
        assert server.port != 0
        assert provider.base_url == server.url
        assert provider.issuer == server.url + "/default"
        assert provider.endpoint("token") == server.url + "/default/token"
        metadata = httpx.get(provider.issuer + "/.well-known/openid-configuration").json()
        assert metadata["issuer"] == provider.issuer
        assert metadata["token_endpoint"] == provider.endpoint("token")
        # the socket really is listening on 127.0.0.1
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass


def test_two_servers_get_different_ports() -> None:
    a, b = Provider(), Provider()
    with a.serve() as sa, b.serve() as sb:
        assert sa.port != sb.port
        assert a.issuer != b.issuer
        assert httpx.get(a.issuer + "/.well-known/openid-configuration").json()["issuer"] == (
            a.issuer
        )


def test_stop_is_immediate_and_closes_the_socket(provider: Provider) -> None:
    server = provider.serve()
    port = server.port
    assert server.running
    assert len(_server_threads(port)) == 1
    assert httpx.get(provider.endpoint("jwks")).status_code == 200
    server.stop()
    # right after stop() returns, the serving thread is gone and nobody listens
    assert _server_threads(port) == []
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    server.stop()  # a second stop is a no-op
    server.check()


def test_stop_with_a_connection_in_flight(provider: Provider) -> None:
    """An idle client connection does not keep the server from stopping."""
    server = LiveServer([provider], request_timeout=30).start()
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        idle.sendall(b"GET /default/jwks HTTP/1.1\r\n")  # ... and never the rest
        # Connections are accepted in order: once this one is answered, the idle
        # one has a handler thread waiting for the rest of its request.
        assert httpx.get(provider.endpoint("jwks")).status_code == 200
        server.stop()
        assert _server_threads(server.port) == []
    finally:
        idle.close()


def test_second_start_raises(provider: Provider) -> None:
    with provider.serve() as server:
        with pytest.raises(MockauthError):
            server.start()
        # still serving after the refused start
        assert httpx.get(provider.endpoint("jwks")).status_code == 200
    assert not server.running


def test_binding_a_port_in_use_raises_oserror_in_the_caller(provider: Provider) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = set(threading.enumerate())
        with pytest.raises(OSError):
            provider.serve(port=port)
        server = LiveServer([provider], port=port)
        with pytest.raises(OSError):
            server.start()
        assert not server.running
        assert set(threading.enumerate()) <= before
    # the failed attempts left the provider usable
    with provider.serve() as server:
        assert httpx.get(provider.endpoint("jwks")).status_code == 200


def test_unexpected_exception_is_500_and_reraised(provider: Provider) -> None:
    provider.add_interceptor(lambda name, req: 1 / 0)  # type: ignore[arg-type,return-value]

    def serve_and_fail() -> None:
        with provider.serve() as server:
            response = httpx.post(
                provider.endpoint("token"),
                data={"grant_type": "client_credentials"},
                auth=("service", SERVICE_SECRET),
            )
            assert response.status_code == 500
            assert response.headers["content-type"] == "application/json"
            assert response.json()["error"] == "server_error"
            assert "Traceback" not in response.text
            assert len(provider.errors) == 1
            with pytest.raises(ServerThreadError) as checked:
                server.check()
            assert isinstance(checked.value.__cause__, ZeroDivisionError)
            assert provider.errors == []
            server.check()  # reported once
            # another failure, surfaced at the end of the with block
            assert httpx.get(provider.endpoint("jwks")).status_code == 500

    with pytest.raises(ServerThreadError) as at_exit:
        serve_and_fail()
    assert isinstance(at_exit.value.__cause__, ZeroDivisionError)
    assert "ZeroDivisionError" in str(at_exit.value)


def test_protocol_errors_are_not_server_errors(provider: Provider) -> None:
    with provider.serve() as server:
        response = httpx.post(provider.endpoint("token"), data={"grant_type": "password"})
        assert response.status_code == 401
        server.check()
    assert provider.errors == []


def test_dispatcher_serves_several_issuers() -> None:
    a = Provider(ProviderConfig(issuer_id="a"))
    b = Provider(ProviderConfig(issuer_id="b"))
    for p in (a, b):
        p.add_client(client_id="svc", client_secret=f"secret-of-{p.issuer_id}-0123456789")
    with LiveServer([a, b]) as server:
        assert a.issuer == server.url + "/a"
        assert b.issuer == server.url + "/b"
        index = httpx.get(server.url + "/")
        assert index.status_code == 200
        assert index.json() == {"issuers": [a.issuer, b.issuer]}
        for p in (a, b):
            doc = httpx.get(p.issuer + "/.well-known/openid-configuration").json()
            assert doc["issuer"] == p.issuer
            rfc8414 = httpx.get(
                server.url + "/.well-known/oauth-authorization-server/" + p.issuer_id
            ).json()
            assert rfc8414["issuer"] == p.issuer
        # each issuer has its own clients and tokens
        token_a = httpx.post(
            a.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=("svc", "secret-of-a-0123456789"),
        )
        assert token_a.status_code == 200
        wrong_issuer = httpx.post(
            b.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=("svc", "secret-of-a-0123456789"),
        )
        assert wrong_issuer.status_code == 401
        intro_b = httpx.post(
            b.endpoint("introspect"),
            data={"token": token_a.json()["access_token"]},
            auth=("svc", "secret-of-b-0123456789"),
        )
        assert intro_b.json() == {"active": False}
        for path in (
            "/nope",
            "/nope/token",
            "/a/nope",
            "/.well-known/oauth-authorization-server/c",
        ):
            missing = httpx.get(server.url + path)
            assert missing.status_code == 404, path
            assert missing.headers["content-type"] == "application/json"
            assert missing.json()["error"] == "not_found"
        assert httpx.post(server.url + "/", data={"a": "b"}).status_code == 404
        server.check()


def test_mount_and_unmount_on_a_running_server() -> None:
    a = Provider(ProviderConfig(issuer_id="a"))
    late = Provider(ProviderConfig(issuer_id="late"))
    with LiveServer([a]) as server:
        assert httpx.get(server.url + "/late/jwks").status_code == 404
        server.mount(late)
        assert late.issuer == server.url + "/late"
        assert httpx.get(late.endpoint("jwks")).json() == late.jwks()
        assert httpx.get(server.url + "/").json() == {"issuers": [a.issuer, late.issuer]}
        server.unmount(late)
        assert httpx.get(server.url + "/late/jwks").status_code == 404


def test_several_requests_over_one_http_connection(provider: Provider) -> None:
    with provider.serve() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            for _ in range(3):
                conn.request("GET", "/default/jwks")
                response = conn.getresponse()
                assert response.status == 200
                assert json.loads(response.read()) == provider.jwks()
                conn.request(
                    "POST",
                    "/default/token",
                    body="grant_type=client_credentials&client_id=service"
                    f"&client_secret={SERVICE_SECRET}",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                response = conn.getresponse()
                assert response.status == 200
                assert json.loads(response.read())["token_type"] == "Bearer"
        finally:
            conn.close()
        server.check()


def _exchange(sock: socket.socket, raw: bytes) -> bytes:
    """Send one request and read one response (headers and Content-Length body)."""
    sock.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_one_socket_carries_many_requests(provider: Provider) -> None:
    """HTTP/1.1 keep-alive: the same socket answers again, even after a request
    whose body the provider never read (a POST to a GET-only endpoint).
    """
    unread = b"x=" + b"y" * 5000
    with (
        provider.serve() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        first = _exchange(sock, b"GET /default/jwks HTTP/1.1\r\nHost: t\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200")
        assert b"connection: close" not in first.lower()
        refused = _exchange(
            sock,
            b"POST /default/jwks HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(unread) + unread,
        )
        assert refused.startswith(b"HTTP/1.1 405")
        again = _exchange(
            sock, b"GET /default/.well-known/openid-configuration HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert again.startswith(b"HTTP/1.1 200")
        assert json.loads(again.partition(b"\r\n\r\n")[2])["issuer"] == provider.issuer


def test_connection_close_is_honoured(provider: Provider) -> None:
    with (
        provider.serve() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        answer = _exchange(
            sock, b"GET /default/jwks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        assert b"connection: close" in answer.lower()
        assert sock.recv(1) == b""  # the server closed its end


def test_an_http11_request_without_host_is_400(provider: Provider) -> None:
    """RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request with no Host."""
    with (
        provider.serve() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        answer = _exchange(sock, b"GET /default/jwks HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400")
        assert b"Host" in answer
    assert len(provider.calls) == 0  # refused before the provider saw it


def test_an_error_below_the_provider_is_500_and_reraised(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = provider.serve()
    try:

        def broken(request: Request) -> Response:
            raise RuntimeError("dispatcher bug")

        monkeypatch.setattr(server.dispatcher, "handle", broken)
        response = httpx.get(provider.endpoint("jwks"))
        assert response.status_code == 500
        with pytest.raises(ServerThreadError, match="dispatcher bug"):
            server.check()
    finally:
        server.stop()


def test_concurrent_requests_from_eight_threads(provider: Provider) -> None:
    """Eight requests are in flight at once: each waits at a barrier for the other seven."""
    barrier = threading.Barrier(8, timeout=10)

    def hold(name: str, request: Request) -> Response | None:
        if name == "token":
            barrier.wait()
        return None

    provider.add_interceptor(hold)

    def fetch(_: int) -> int:
        response = httpx.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=("service", SERVICE_SECRET),
            timeout=20,
        )
        assert response.json()["token_type"] == "Bearer"
        return response.status_code

    with provider.serve() as server, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(fetch, range(8)))
        server.check()
    assert statuses == [200] * 8
    assert not barrier.broken
    assert provider.errors == []
