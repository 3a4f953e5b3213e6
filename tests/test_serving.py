"""Serving that holds (issue 7): the first defects fixed.

D2 (an admin 500 on a non-ASCII token), D7 (secrets in verbose logs), D9 (a
journal bounded by bytes too), D10 (the admin API and the Host header; the
admin token from a file or the environment).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockauth import LiveServer, MockauthError, Provider
from mockauth.admin import TOKEN_HEADER
from mockauth.journal import MAX_BYTES, MAX_CALLS, Journal
from mockauth.server import redacted_target

from .serve import ServeProcess

TOKEN = "t0ken-for-tests"


# --- D2: no 500 for a token that is not ASCII -------------------------------------------


def test_a_non_ascii_access_token_is_a_400_naming_it() -> None:
    provider = Provider()
    with LiveServer([provider], admin_token=TOKEN) as server, httpx.Client() as http:
        r = http.post(
            f"{server.admin_url}/issuers/default/tokens/id",
            json={"access_token": "café"},
            headers={TOKEN_HEADER: TOKEN},
        )
        ok = http.post(
            f"{server.admin_url}/issuers/default/tokens/id",
            json={"access_token": provider.issue_token("alice")},
            headers={TOKEN_HEADER: TOKEN},
        )
    assert (r.status_code, r.json()["key"]) == (400, "access_token")
    assert ok.status_code == 200
    assert provider.errors == []


def test_issue_id_token_refuses_a_non_ascii_access_token() -> None:
    with pytest.raises(MockauthError, match="access_token must be visible ASCII"):
        Provider().issue_id_token(access_token="café")


# --- D7: no secret in a log line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (
            "/d/endsession?id_token_hint=eyJ.x.y&state=s",
            "/d/endsession?id_token_hint=[redacted]&state=s",
        ),
        ("/d/userinfo?access_token=abc", "/d/userinfo?access_token=[redacted]"),
        (
            "/cb?code=c&state=s&client_secret=x",
            "/cb?code=[redacted]&state=s&client_secret=[redacted]",
        ),
        ("/d/token", "/d/token"),
        ("/d/authorize?client_id=web&scope=openid", "/d/authorize?client_id=web&scope=openid"),
    ],
)
def test_log_lines_redact_secrets(target: str, shown: str) -> None:
    assert redacted_target(target) == shown


def test_verbose_serve_logs_no_secret(tmp_path: Path) -> None:
    with ServeProcess("--verbose", cwd=tmp_path) as served:
        hint = Provider().issue_id_token("alice")
        httpx.get(f"{served.url}/default/endsession", params={"id_token_hint": hint})
        httpx.get(f"{served.url}/default/userinfo", params={"access_token": "secret-abc"})
        _, _, stderr = served.stop()
    assert "GET /default/endsession 400" in stderr
    assert "id_token_hint=[redacted]" in stderr
    assert "access_token=[redacted]" in stderr
    assert hint not in stderr
    assert "secret-abc" not in stderr


# --- logs a person can read ------------------------------------------------------------------


def test_serve_logs_a_line_per_request_by_default(tmp_path: Path) -> None:
    with ServeProcess(cwd=tmp_path) as served:
        httpx.get(f"{served.url}/default/.well-known/openid-configuration")
        httpx.post(
            f"{served.url}/default/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-service", "nope"),
        )
        httpx.get(f"{served.url}/default/tokn")
        _, _, stderr = served.stop()
    lines = [line for line in stderr.splitlines() if " /default/" in line]
    assert len(lines) == 3, stderr
    assert re.fullmatch(
        r"\S+ GET /default/\.well-known/openid-configuration 200 [\d.]+ms", lines[0]
    )
    assert re.fullmatch(
        r"\S+ POST /default/token 401 [\d.]+ms client_id=demo-service "
        r"grant_type=client_credentials error=invalid_client",
        lines[1],
    )
    assert lines[2].endswith("error=not_found")
    assert "\x1b[" not in stderr  # not a terminal: no colours
    assert "nope" not in stderr


def test_serve_quiet_and_json(tmp_path: Path) -> None:
    import json

    with ServeProcess("--quiet", cwd=tmp_path) as served:
        httpx.get(f"{served.url}/default/jwks")
        _, _, quiet = served.stop()
    assert "/default/jwks" not in quiet
    with ServeProcess("--log-format", "json", cwd=tmp_path) as served:
        httpx.get(f"{served.url}/default/jwks")
        _, _, stderr = served.stop()
    entry = json.loads(next(line for line in stderr.splitlines() if "/default/jwks" in line))
    assert {k: entry[k] for k in ("method", "path", "status", "endpoint", "error")} == {
        "method": "GET",
        "path": "/default/jwks",
        "status": 200,
        "endpoint": "jwks",
        "error": None,
    }
    assert entry["duration_ms"] >= 0


def test_the_request_log_in_python() -> None:
    import io
    import json

    from mockauth.log import RequestLog

    out = io.StringIO()
    provider = Provider()
    web = provider.add_client(
        client_id="web", client_secret="s" * 32, grant_types=["client_credentials"]
    )
    with LiveServer([provider], log=RequestLog(out, colour=True)) as server, httpx.Client() as h:
        h.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=(web.client_id, "s" * 32),
        )
        late = Provider(issuer_id="late")
        server.mount(late)
        h.get(late.endpoint("jwks"))
        server.unmount(late)
        h.get(server.url + "/late/jwks")  # unmounted: a 404, logged through the default issuer
    lines = out.getvalue().splitlines()
    assert "\x1b[32m200\x1b[0m" in lines[0]  # coloured when asked
    assert "client_id=web grant_type=client_credentials" in lines[0]
    assert "/late/jwks" in lines[1]
    assert ("GET /late/jwks" in lines[2], "error=not_found" in lines[2]) == (True, True)
    assert len(lines) == 3
    assert len(late.calls) == 1  # the 404 is in the default issuer's journal, not late's
    as_json = RequestLog(io.StringIO(), format="json").json_line(provider.calls[0])
    assert json.loads(as_json)["client_id"] == "web"
    with pytest.raises(ValueError, match="log format"):
        RequestLog(format="xml")  # type: ignore[arg-type]


# --- D9: the journal is bounded by bytes ------------------------------------------------------


def test_the_journal_is_bounded_by_bytes_too() -> None:
    assert (Journal().max_calls, Journal().max_bytes) == (MAX_CALLS, MAX_BYTES)
    provider = Provider()
    provider.journal = Journal(max_bytes=200_000)
    with provider.httpx_client() as http:
        for i in range(20):
            http.post(
                "/token",
                data={"grant_type": "client_credentials", "pad": "x" * 60_000, "n": str(i)},
            )
    calls = provider.calls
    assert 1 <= len(calls) <= 4  # 60 KB each: a few fit in 200 KB
    assert calls[-1].params["n"] == "19"  # the newest is kept, the oldest went first
    assert provider.journal.bytes <= 200_000
    with pytest.raises(MockauthError, match="max_bytes"):
        Journal(max_bytes=0)


def test_one_call_larger_than_the_bound_is_still_kept() -> None:
    provider = Provider()
    provider.journal = Journal(max_bytes=1_000)
    with provider.httpx_client() as http:
        http.post("/token", data={"grant_type": "client_credentials", "pad": "x" * 5_000})
    assert len(provider.calls) == 1


# --- D10: the admin API and the Host header; the token kept out of ps -----------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1", 200),
        ("localhost:8080", 200),
        ("[::1]:9", 200),
        ("LOCALHOST", 200),
        ("mockauth:8080", 200),  # the public URL's host
        ("evil.example", 403),
        ("127.0.0.1.evil.example", 403),
        ("", 403),
    ],
)
def test_the_admin_api_answers_only_hosts_that_name_it(host: str, status: int) -> None:
    with LiveServer([Provider()], admin_token=TOKEN, public_url="http://mockauth:8080") as server:
        assert server.admin_url is not None
        r = httpx.get(server.admin_url + "/issuers", headers={TOKEN_HEADER: TOKEN, "Host": host})
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["key"] == "Host"


def test_without_a_public_url_only_loopback_names_pass() -> None:
    with LiveServer([Provider()], admin_token=TOKEN) as server:
        assert server.admin_url is not None
        headers = {TOKEN_HEADER: TOKEN, "Host": "mockauth:8080"}
        r = httpx.get(server.admin_url + "/issuers", headers=headers)
    assert r.status_code == 403


def _admin_header(served: ServeProcess) -> str | None:
    found = re.search(rf"{re.escape(TOKEN_HEADER)}: (\S+)", served.text)
    return found[1] if found else None


def test_the_admin_token_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("from-a-file-0123\n")
    with ServeProcess("--admin-token-file", "token.txt", cwd=tmp_path) as served:
        assert _admin_header(served) == "from-a-file-0123"
        assert served.admin_url is not None
        r = httpx.get(served.admin_url + "/issuers", headers={TOKEN_HEADER: "from-a-file-0123"})
        assert r.status_code == 200
        assert "from-a-file-0123" not in " ".join(served.process.args)  # not on the command line


def test_the_admin_token_from_the_environment(tmp_path: Path) -> None:
    with ServeProcess(env={"MOCKAUTH_ADMIN_TOKEN": "from-the-env-0123"}, cwd=tmp_path) as served:
        assert _admin_header(served) == "from-the-env-0123"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--admin-token-file", "missing.txt"), "--admin-token-file: cannot read missing.txt"),
        (("--admin-token-file", "empty.txt"), "--admin-token-file: empty.txt: must be 1 to 256"),
        (("--admin-token", "a", "--admin-token-file", "empty.txt"), "cannot stand beside"),
    ],
)
def test_bad_admin_token_sources_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    import subprocess
    import sys

    (tmp_path / "empty.txt").write_text("\n")
    result = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "MOCKAUTH_ADMIN_TOKEN": ""},
    )
    assert result.returncode == 2
    assert message in result.stderr


# --- D1: stores stay fast when full ---------------------------------------------------------


def test_a_full_table_drops_expired_entries_first_then_the_soonest_to_expire() -> None:
    from mockauth.store import _Table

    table: _Table[float] = _Table(lambda expires_at: expires_at, limit=3)
    table.put("late", 500.0, now=0)
    table.put("soon", 100.0, now=0)
    table.put("mid", 300.0, now=0)
    table.put("new", 400.0, now=0)  # full: "soon" goes, it expires first
    assert set(table.items) == {"late", "mid", "new"}
    table.put("newer", 900.0, now=350)  # "mid" has expired by now: it goes, nothing else
    assert set(table.items) == {"late", "new", "newer"}
    del table.items["late"]  # taken (a code redeemed): its heap entry is stale, not a problem
    table.put("x", 600.0, now=350)
    table.put("y", 700.0, now=350)  # full again: "new" (400) is the soonest live one
    assert set(table.items) == {"newer", "x", "y"}


def test_stale_heap_entries_stay_bounded() -> None:
    from mockauth.store import _Table

    table: _Table[float] = _Table(lambda expires_at: expires_at, limit=10)
    for i in range(20_000):  # every entry is taken again at once, as codes are
        table.put(f"k{i}", 1e9 + i, now=0)
        del table.items[f"k{i}"]
    assert len(table._heap) <= 2 * len(table.items) + 1024


def test_issuing_stays_fast_when_the_token_table_is_full() -> None:
    """Counted, not timed: issuing at capacity touches O(log n) entries, not the table."""
    from mockauth import store

    provider = Provider(tokens={"access_token_format": "opaque"})
    access = provider.store.access
    access.limit = 500
    for _ in range(600):
        provider.issue_token("alice")
    assert len(access.items) == 500
    calls = 0
    original = access._expires

    def counting(value: object) -> float:
        nonlocal calls
        calls += 1
        return original(value)  # type: ignore[arg-type]

    access._expires = counting  # type: ignore[method-assign]
    provider.issue_token("alice")
    assert 1 <= calls <= 10, calls  # a scan would read all 500
    assert store.MAX_ENTRIES == 100_000


# --- no cyclic garbage per request (the collector's pauses grow with live records) --------


def test_requests_leave_no_cyclic_garbage() -> None:
    import base64
    import gc
    import http.client

    provider = Provider()
    provider.add_client(client_id="c", client_secret="s" * 32, grant_types=["client_credentials"])
    auth = "Basic " + base64.b64encode(b"c:" + b"s" * 32).decode()
    headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
    with LiveServer([provider]) as server:
        host, _, port = server.url.removeprefix("http://").partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)

        def token() -> None:
            conn.request("POST", "/default/token", "grant_type=client_credentials", headers)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200

        token()
        enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        try:
            for _ in range(200):
                token()
            found = gc.collect()
        finally:
            if enabled:
                gc.enable()
        conn.close()
    assert found < 20, f"{found} objects in reference cycles after 200 requests"


# --- an issuer that follows the Host of each request (item 7) --------------------------------


def test_the_issuer_can_follow_the_host_of_each_request() -> None:
    provider = Provider(issuer_from_host=True)
    client = provider.add_client(
        client_id="svc", client_secret="s" * 32, grant_types=["client_credentials"]
    )
    with provider.serve() as server, httpx.Client() as http:
        port = server.port
        by_ip = http.get(f"http://127.0.0.1:{port}/default/.well-known/openid-configuration")
        by_name = http.get(f"http://localhost:{port}/default/.well-known/openid-configuration")
        assert by_ip.json()["issuer"] == f"http://127.0.0.1:{port}/default"
        assert by_name.json()["issuer"] == f"http://localhost:{port}/default"
        assert by_name.json()["token_endpoint"] == f"http://localhost:{port}/default/token"
        token = http.post(
            f"http://localhost:{port}/default/token",
            data={"grant_type": "client_credentials", "scope": "openid"},
            auth=(client.client_id, "s" * 32),
        ).json()["access_token"]
        import jwt

        assert jwt.decode(token, options={"verify_signature": False})["iss"] == (
            f"http://localhost:{port}/default"
        )
        # a token issued under one alias is accepted under another
        info = http.post(
            f"http://127.0.0.1:{port}/default/introspect",
            data={"token": token},
            auth=(client.client_id, "s" * 32),
        ).json()
        assert info["active"] is True
        odd = http.get(f"http://127.0.0.1:{port}/default/jwks", headers={"Host": "a b"})
        assert odd.status_code == 200  # a Host unfit for an issuer falls back to the server's
    assert provider.issuer == server.url + "/default"  # outside a request: the server's


def test_a_fixed_issuer_ignores_the_host() -> None:
    provider = Provider()
    with provider.serve() as server, httpx.Client() as http:
        doc = http.get(f"http://localhost:{server.port}/default/.well-known/openid-configuration")
    assert doc.json()["issuer"] == server.url + "/default"


def test_mockauth_serve_issuer_from_host(tmp_path: Path) -> None:
    with ServeProcess("--issuer-from-host", cwd=tmp_path) as served:
        port = served.url.rsplit(":", 1)[1]
        doc = httpx.get(f"http://localhost:{port}/default/.well-known/openid-configuration")
        assert doc.json()["issuer"] == f"http://localhost:{port}/default"


# --- what was issued, in the journal and the log ------------------------------------------------


def test_the_journal_and_the_log_show_the_claims_issued() -> None:
    import io
    import json

    from mockauth.log import RequestLog

    from .helpers import code_flow

    provider = Provider()
    web = provider.add_client(
        client_id="web", client_secret="w" * 32, redirect_uris=["http://127.0.0.1:5000/cb"]
    )
    provider.add_user("alice", password="pw")
    out = io.StringIO()
    provider.add_call_listener(RequestLog(out))
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, web, scope="openid offline_access")
    call = provider.calls.filter("token")[0]
    kinds = [entry["token"] for entry in call.issued]
    assert kinds == ["access_token", "refresh_token", "id_token"]
    claims = {entry["token"]: entry["claims"] for entry in call.issued}
    assert claims["access_token"]["sub"] == "alice"
    assert claims["access_token"]["scope"] == "openid offline_access"
    assert claims["id_token"]["aud"] == "web"
    recorded = json.dumps([c.issued for c in provider.calls])
    for name in ("access_token", "refresh_token", "id_token"):
        assert tokens[name] not in recorded  # claims only, never a token
    line = next(x for x in out.getvalue().splitlines() if " /default/token " in x)
    assert "access_token[sub=alice aud=web scope=openid offline_access exp=" in line
    assert tokens["access_token"] not in out.getvalue()
    assert provider.calls.filter("authorize")[0].issued == []  # a code is no token


# --- D3, D4, D6: framing refused before a body is read -------------------------------------


def _raw(server: LiveServer, data: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


SMUGGLED = b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    ("framing", "status"),
    [
        (b"Transfer-Encoding: gzip\r\n", b"501"),
        (b"Transfer-Encoding: gzip, chunked\r\n", b"501"),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"400"),
        (b"Content-Length: 5\r\nContent-Length: 6\r\n", b"400"),
    ],
)
def test_bad_framing_is_refused_and_the_connection_closed(framing: bytes, status: bytes) -> None:
    provider = Provider()
    with LiveServer([provider]) as server:
        body = b"5\r\nabcde\r\n0\r\n\r\n"
        answer = _raw(
            server,
            b"POST /default/token HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + body + SMUGGLED,
        )
        assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
        assert answer.count(b"HTTP/1.1 ") == 1  # what followed was not taken as a request
        assert b"Connection: close" in answer
        ok = _raw(server, b"GET /default/jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200")
    assert len(provider.calls) == 1  # only the good request reached the provider


def test_the_same_content_length_twice_is_one() -> None:
    with LiveServer([Provider()]) as server:
        answer = _raw(
            server,
            b"POST /default/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: 3\r\nContent-Length: 3\r\n\r\na=b",
        )
    assert answer.startswith(b"HTTP/1.1 4")  # an OAuth error about the request, not framing
    assert b"Content-Length values" not in answer


def test_headers_over_the_cap_get_431() -> None:
    from mockauth.server import MAX_HEADER_BYTES

    big = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 30_000) for i in range(3))
    assert len(big) > MAX_HEADER_BYTES
    with LiveServer([Provider()]) as server:
        answer = _raw(server, b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


# --- D5: a cap on connections, and back-off when accept fails -------------------------------


def test_a_failing_accept_backs_off_and_the_server_keeps_serving() -> None:
    import errno

    with LiveServer([Provider()]) as server:
        inner = server._server
        assert inner is not None
        waits: list[float] = []
        real_get, real_wait = inner.get_request, inner._wait
        failures = iter(range(6))

        def get_request() -> Any:
            if next(failures, None) is not None:
                raise OSError(errno.EMFILE, "Too many open files")
            return real_get()

        def wait(seconds: float) -> None:
            waits.append(seconds)
            real_wait(0)

        inner.get_request = get_request  # type: ignore[method-assign]
        inner._wait = wait  # type: ignore[method-assign]
        r = httpx.get(server.url + "/default/jwks", timeout=10)
        assert r.status_code == 200
    assert waits == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32]  # doubling, not spinning


def test_connections_beyond_the_cap_wait_their_turn() -> None:
    import socket

    with LiveServer([Provider()], max_connections=2) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
        inner = server._server
        assert inner is not None
        for sock in idle:  # each holds a thread until it speaks or goes
            sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(12).startswith(b"HTTP/1.1 200")
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:  # a third client, while both slots are taken
            third = pool.submit(httpx.get, server.url + "/default/jwks", timeout=10)
            idle[0].close()  # a slot frees: the third client is served
            assert third.result().status_code == 200
        idle[1].close()
    assert inner.most_active == 2  # never a third thread at once
    with pytest.raises(MockauthError, match="max_connections"):
        LiveServer([Provider()], max_connections=0)


@pytest.mark.parametrize("key", ["request_timeout", "request_deadline"])
@pytest.mark.parametrize("value", [0, -1.0, "5", True])
def test_bad_time_limit_is_a_clear_error(key: str, value: object) -> None:
    with pytest.raises(MockauthError, match=f"{key}: must be a positive number"):
        LiveServer([Provider()], **{key: value})  # type: ignore[arg-type]


# --- D8: a whole-request deadline, not only a per-read timeout ----------------------------


def test_a_trickling_client_is_cut_off_at_the_request_deadline() -> None:
    import socket
    import time

    with LiveServer([Provider()], request_timeout=5.0, request_deadline=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /default/jwks HTTP/1.1\r\nHost: x\r\n")
            sent = 0
            closed = False
            for _ in range(40):  # a header byte every 0.1 s: each read is quick, the whole is not
                try:
                    sock.sendall(b"X")
                    sent += 1
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)  # the client's trickle, not a wait for the server
            if not closed:
                sock.settimeout(5)
                try:
                    closed = sock.recv(1024) == b""
                except OSError:
                    closed = True
        assert closed
        assert sent < 40  # cut off long before the trickle ended
        ok = httpx.get(server.url + "/default/jwks", timeout=10)
        assert ok.status_code == 200  # and the server goes on serving
