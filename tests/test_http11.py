"""The HTTP/1.1 engine under the live server (mockauth.server.http11): h11 framing,
event-loop workers, the hand-off of a blocked handler, and the configurable limits.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockauth import LiveServer, MockauthError, Provider
from mockauth.config import Limits
from mockauth.errors import ConfigError
from mockauth.faults import Callback
from mockauth.faults.base import FaultContext
from mockauth.http import Response
from mockauth.scenarios.rules import Rule

from .serve import ServeProcess


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionError):
            return data
        if not chunk:
            return data
        data += chunk


# --- a blocked handler never stalls its neighbours --------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_a_blocked_handler_hands_its_worker_on(workers: int) -> None:
    """A callback fault that waits on an event (as a test might) holds its request;
    every other connection of that worker is still answered meanwhile. With one
    worker and no hand-off this would never finish.
    """
    provider = Provider()
    release = threading.Event()
    entered = threading.Event()

    def hold(ctx: FaultContext) -> Response | None:
        entered.set()
        assert release.wait(10)
        return None

    provider.add_rule(Rule("userinfo", Callback(hold)))
    with LiveServer([provider], workers=workers) as server, ThreadPoolExecutor(1) as pool:
        held = pool.submit(httpx.get, server.url + "/default/userinfo", timeout=10)
        assert entered.wait(10)
        for _ in range(3):  # new connections, some on the blocked request's worker
            assert httpx.get(server.url + "/default/jwks", timeout=10).status_code == 200
        with httpx.Client(timeout=10) as client:  # and one keep-alive connection, many times
            for _ in range(5):
                assert client.get(server.url + "/default/jwks").status_code == 200
        assert not held.done()  # still held: the others did not wait for it
        release.set()
        assert held.result().status_code == 401  # the real answer: no token given
        # the handed-back connection and the worker go on serving
        assert httpx.get(server.url + "/default/jwks", timeout=10).status_code == 200


def test_a_delayed_answer_keeps_its_connection_alive() -> None:
    """After a hand-off the blocked thread finishes its connection and gives it back:
    the same socket carries the next request."""
    provider = Provider()
    release = threading.Event()

    def hold(ctx: FaultContext) -> Response | None:
        release.wait(10)
        return None

    provider.add_rule(Rule("jwks", Callback(hold), times=1))
    with LiveServer([provider], workers=1) as server, _connect(server) as sock:
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
        other = httpx.get(server.url + "/default/.well-known/openid-configuration")
        assert other.status_code == 200  # served while the first one is held
        release.set()
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
    assert len(provider.calls) == 3


def test_pipelined_requests_are_answered_in_order() -> None:
    provider = Provider()
    with LiveServer([provider], workers=1) as server, _connect(server) as sock:
        sock.sendall(
            b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /default/.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n"
        )
        answers = _until_closed(sock)
    statuses = re.findall(rb"HTTP/1\.1 (\d+) ", answers)
    assert statuses == [b"200", b"404", b"200"]


# --- limits ------------------------------------------------------------------------------


def test_a_body_over_the_configured_cap_is_413_and_closes() -> None:
    provider = Provider()
    with LiveServer([provider], max_body_bytes=100) as server:
        with _connect(server) as sock:
            body = b"grant_type=client_credentials&pad=" + b"x" * 200
            sock.sendall(
                b"POST /default/token HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body
            )
            answer = _until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"under 100 bytes" in answer
        assert b"Connection: close" in answer
        # a body within the cap is read as usual
        small = httpx.post(server.url + "/default/token", data={"grant_type": "password"})
        assert small.status_code in (400, 401)


def test_a_chunked_body_over_the_cap_is_413() -> None:
    with LiveServer([Provider()], max_body_bytes=64) as server, _connect(server) as sock:
        chunk = b"a=" + b"b" * 100
        sock.sendall(
            b"POST /default/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
        )
        assert _until_closed(sock).startswith(b"HTTP/1.1 413")


def test_a_header_cap_of_your_own() -> None:
    with LiveServer([Provider()], max_header_bytes=1024) as server:
        with _connect(server) as sock:
            sock.sendall(
                b"GET /default/jwks HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (b"a" * 2000)
            )
            assert _until_closed(sock).startswith(b"HTTP/1.1 431")
        ok = httpx.get(server.url + "/default/jwks", headers={"X-Pad": "a" * 500})
        assert ok.status_code == 200


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    with (
        LiveServer([Provider()], idle_timeout=0.2, request_timeout=10) as server,
        _connect(server) as sock,
    ):
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        assert sock.recv(1) == b""  # closed by the server, not by the 10 s recv timeout


def test_a_request_cut_off_mid_way_gets_408() -> None:
    with LiveServer([Provider()], request_timeout=0.2) as server, _connect(server) as sock:
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n")  # never finished
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408")


def test_idle_connections_hold_no_thread() -> None:
    before = threading.active_count()
    with LiveServer([Provider()], workers=2) as server:
        started = threading.active_count()
        socks = [
            socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)
        ]
        try:
            for sock in socks:
                sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
                assert _read_response(sock).startswith(b"HTTP/1.1 200")
            assert threading.active_count() == started  # 20 keep-alive clients, no new thread
        finally:
            for sock in socks:
                sock.close()
    assert started - before == 4  # the listener, the watchdog and two workers


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_body_bytes", 0, "max_body_bytes: must be a positive integer, got 0"),
        ("max_header_bytes", "64k", "max_header_bytes: must be a positive integer, got '64k'"),
        ("workers", -1, "workers: must be a positive integer, got -1"),
        ("workers", 0, "workers: must be a positive integer"),
        ("idle_timeout", 0, "idle_timeout: must be a positive number of seconds, got 0"),
        ("idle_timeout", float("nan"), "idle_timeout: must be a positive number of seconds"),
        ("request_deadline", float("inf"), "request_deadline: must be a positive number"),
    ],
)
def test_bad_limits_are_clear_errors(key: str, value: Any, message: str) -> None:
    with pytest.raises(MockauthError, match=re.escape(message)):
        LiveServer([Provider()], **{key: value})
    with pytest.raises(ConfigError, match=re.escape(message)):
        Limits(**{key: value})


def test_the_limits_default_safely() -> None:
    limits = LiveServer([Provider()]).limits
    assert (limits.max_connections, limits.max_header_bytes, limits.max_body_bytes) == (
        256,
        64 * 1024,
        64 * 1024,
    )
    assert (limits.request_timeout, limits.request_deadline, limits.idle_timeout) == (10, 30, 60)
    assert limits.workers is None  # two event loops, or one on a single core


# --- the [limits] table of a config file --------------------------------------------------


def test_mockauth_serve_takes_its_limits_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "mockauth.toml"
    config.write_text("[limits]\nmax_body_bytes = 100\nidle_timeout = 5\n")
    with ServeProcess("--config", str(config), "--quiet", cwd=tmp_path) as served:
        big = httpx.post(served.url + "/default/token", data={"pad": "x" * 200})
        assert big.status_code == 413
        small = httpx.post(served.url + "/default/token", data={"grant_type": "nope"})
        assert small.json()["error"] == "invalid_client"  # read and judged as usual


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[limits]\nmax_bodybytes = 1\n", "limits.max_bodybytes: unknown key; did you mean"),
        ("[limits]\nidle_timeout = -1\n", "limits.idle_timeout: must be a positive number"),
        ("[limits]\nworkers = 'two'\n", "limits.workers: expected an integer"),
    ],
)
def test_bad_limits_in_a_config_exit_2_naming_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    config = tmp_path / "mockauth.toml"
    config.write_text(table)
    result = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert message in result.stderr


# --- the rest of HTTP/1.1 as clients use it -------------------------------------------------


def test_expect_100_continue_gets_its_interim_answer_before_the_body_is_sent() -> None:
    with LiveServer([Provider()]) as server, _connect(server) as sock:
        body = b"grant_type=client_credentials"
        sock.sendall(
            b"POST /default/token HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 ")  # before any byte of the body went out
        sock.sendall(body)
        final = _read_response(sock)
    assert final.startswith(b"HTTP/1.1 401")  # the real answer: no client credentials


def test_an_http10_client_is_answered_and_the_connection_closed() -> None:
    with LiveServer([Provider()]) as server, _connect(server) as sock:
        sock.sendall(b"GET /default/jwks HTTP/1.0\r\n\r\n")
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"keys"' in answer


def test_head_has_the_length_but_no_body() -> None:
    with LiveServer([Provider()]) as server, _connect(server) as sock:
        sock.sendall(b"HEAD /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = _until_closed(sock)
    head, _, rest = answers.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert re.search(rb"(?i)content-length: [1-9]", head)
    assert rest.startswith(b"HTTP/1.1 200")  # no body between the two answers


def test_a_large_answer_reaches_a_client_that_reads_slowly() -> None:
    """Bigger than any socket buffer: the worker waits for the reader (within the
    request timeout) and the connection stays usable."""
    provider = Provider()
    big = b"x" * (8 * 1024 * 1024)
    provider.add_rule(
        Rule("jwks", Callback(lambda ctx: Response(big, mimetype="text/plain")), times=1)
    )
    with LiveServer([provider]) as server, _connect(server) as sock:
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
        other = httpx.get(server.url + "/default/.well-known/openid-configuration", timeout=10)
        assert other.status_code == 200  # served while the big answer waits for its reader
        answer = _read_response(sock)
        assert answer.startswith(b"HTTP/1.1 200")
        assert answer.endswith(big)
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")


def test_a_slow_reader_is_not_cut_off_while_it_keeps_reading() -> None:
    """request_timeout bounds each stall of a reader, not the whole answer: 12 MiB read
    at a steady pace take several timeouts' length, and all of it arrives."""
    provider = Provider()
    big = b"y" * (12 * 1024 * 1024)
    provider.add_rule(
        Rule("jwks", Callback(lambda ctx: Response(big, mimetype="text/plain")), times=1)
    )
    with LiveServer([provider], request_timeout=0.3) as server, _connect(server) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)  # little buffering
        sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := sock.recv(256 * 1024):
            chunks.append(chunk)
            time.sleep(0.01)  # the reader's own pace: each stall far within 0.3 s
        assert b"".join(chunks).endswith(big)
        assert len(chunks) > 40  # read over many stalls, longer than one timeout in all


def test_a_header_no_http_message_may_carry_is_a_500_not_a_split_response() -> None:
    from mockauth.errors import ServerThreadError

    provider = Provider()

    def bad_header(ctx: FaultContext) -> Response:
        answer = Response(b"{}", mimetype="application/json")
        answer.headers["X-Note"] = "a\x01b"  # werkzeug refuses CR and LF, not the rest
        return answer

    provider.add_rule(Rule("jwks", Callback(bad_header), times=1))
    server = LiveServer([provider]).start()
    try:
        with _connect(server) as sock:
            sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = _until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 500")
        assert b"X-Note" not in answer
        with pytest.raises(ServerThreadError, match="may carry"):
            server.check()
        assert httpx.get(server.url + "/default/jwks").status_code == 200
    finally:
        server.stop()


def test_connection_close_among_other_tokens_ends_the_connection() -> None:
    with LiveServer([Provider()]) as server, _connect(server) as sock:
        sock.sendall(
            b"GET /default/jwks HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Close\r\n\r\n"
        )
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" in answer
