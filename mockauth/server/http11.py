"""HTTP/1.1 on h11: the framing is h11's, the sockets and threads are ours.

h11 (python-hyper's sans-I/O HTTP/1.1) parses and validates every request:
request line, header fields, ``Content-Length`` and chunked framing, and
refuses what RFC 9112 says to refuse (a transfer coding other than chunked:
501; ``Content-Length`` values that disagree: 400; header fields over the cap:
431). Answers are written here, in one send each: a status line, the core's
headers (checked for what no field may carry), ``Content-Length`` and the body.
This module moves bytes between h11 and the sockets:

- a few **event-loop workers** (:class:`Worker`, two by default), each with its
  own selector over its share of the connections. Few threads is what makes a
  CPython server fast: signing a token releases the GIL, so two workers keep
  both cores busy, where a thread per connection spends its time handing the
  GIL around.
- a **listener** thread that accepts up to ``max_connections`` at once, backs
  off when ``accept`` fails (out of file descriptors), and hands each
  connection to the least-loaded worker (after the TLS handshake, on its own
  short thread, when serving https).
- a **watchdog**: a request whose handler blocks (a scripted delay, a callback
  fault, a fetch from this very server) keeps its thread, and the watchdog gives
  the worker's other connections a fresh thread after :data:`HANDOFF` seconds;
  the blocked thread finishes its connection and hands it back.

Idle keep-alive connections cost a socket, not a thread. A new connection
must start its request within ``request_timeout``; each request must arrive
within ``request_deadline`` of its first byte, with no silence longer than
``request_timeout``; between requests a connection may stay idle for
``idle_timeout``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import socket
import ssl
import threading
import time
from http import HTTPStatus
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote

import h11

from ..config import Limits
from ..faults.base import ConnectionDropped
from ..http import BodyError, Request, Response
from ..http.message import too_large

__all__ = [
    "HANDOFF",
    "MAX_CONNECTIONS",
    "MAX_HEADER_BYTES",
    "Engine",
    "Listener",
    "Worker",
    "default_workers",
]

#: The most bytes a request's header fields may take together by default (431 beyond).
MAX_HEADER_BYTES = Limits.max_header_bytes
#: The most connections served at once by default; more wait in the listen backlog.
MAX_CONNECTIONS = Limits.max_connections
#: Seconds a handler may hold its worker before the worker's other connections
#: get a thread of their own (a blocking handler never stalls its neighbours long).
HANDOFF = 0.05
#: Back-off after ``accept`` fails (out of file descriptors): first and longest wait, seconds.
_ACCEPT_BACKOFF = (0.01, 0.5)
#: How often, at most, a worker looks for connections past their deadlines.
_SWEEP = 0.25
_RECV = 65536


def default_workers() -> int:
    """Two event loops (one core signs a token while the other parses), or one."""
    return max(1, min(2, os.cpu_count() or 1))


class _Conn:
    """One client connection: its socket, its h11 state and the request arriving on it."""

    __slots__ = (
        "addr",
        "body",
        "body_size",
        "close_after",
        "deadline",
        "h11",
        "h11_limit",
        "keep_alive",
        "request",
        "sock",
        "started",
        "worker",
    )

    def __init__(self, sock: socket.socket, addr: Any, max_header_bytes: int) -> None:
        self.sock = sock
        self.addr = addr
        self.h11_limit = max_header_bytes
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=max_header_bytes)
        self.request: h11.Request | None = None
        self.body: list[bytes] = []
        self.body_size = 0
        self.close_after = False
        self.keep_alive = False  # of the request being answered (from its head)
        self.started = 0.0  # when the request arriving now sent its first byte (0: none)
        self.deadline = 0.0
        self.worker: Worker | None = None


class App(Protocol):
    """What the engine serves: the dispatcher."""

    def handle(self, request: Request) -> Response: ...


class Engine:
    """What the workers share: the application, the limits, the count of open
    connections and the errors handlers raised.
    """

    def __init__(self, app: App, limits: Limits, server: tuple[str, int]) -> None:
        self.app = app
        self.limits = limits
        self.workers = limits.workers or default_workers()
        self.server = server
        self.scheme = "http"
        self.errors: list[BaseException] = []
        self.stopping = False
        self.active = 0
        self.most_active = 0
        self.slots = threading.Condition()
        #: The watchdog sleeps while no handler runs; the next handler wakes it.
        self.watchdog_asleep = False
        self.wake_watchdog = threading.Event()

    def opened(self) -> None:
        with self.slots:
            self.active += 1
            self.most_active = max(self.most_active, self.active)

    def closed(self) -> None:
        with self.slots:
            self.active -= 1
            self.slots.notify()


class Worker:
    """An event loop over its share of the connections (see the module docstring)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self.lock = threading.Lock()
        self.incoming: list[_Conn] = []
        self.conns: set[_Conn] = set()
        self.generation = 0
        self.busy: _Conn | None = None  # the connection whose handler runs now
        self.busy_since = 0.0
        self.threads: list[threading.Thread] = []
        self._next_sweep = 0.0

    # --- threads -------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self.generation)

    def _spawn(self, generation: int) -> None:
        thread = threading.Thread(
            target=self.run, args=(generation,), name=f"{self.name}.{generation}", daemon=True
        )
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def adopt(self, conn: _Conn) -> None:
        """Take a connection (from the listener, or back from a blocked handler's thread)."""
        conn.worker = self
        if self.engine.stopping:
            self._close(conn)
            return
        with self.lock:
            self.incoming.append(conn)
        self.wake()

    def wake(self) -> None:
        # A full buffer means the loop is awake already; a closed one, that it stopped.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def handoff(self, now: float) -> None:
        """Called by the watchdog: a handler has held this worker since ``busy_since``."""
        with self.lock:
            conn = self.busy
            if conn is None or now - self.busy_since < HANDOFF or self.engine.stopping:
                return
            # The blocked thread keeps ``conn``; the others go on under a new thread.
            self._unregister(conn)
            self.busy = None
            self.generation += 1
            generation = self.generation
        self._spawn(generation)

    def run(self, generation: int) -> None:
        """The loop; it ends when the server stops or another thread took over."""
        selector = self.selector
        while not self.engine.stopping and self.generation == generation:
            try:
                # With no connection there is no deadline to keep: sleep until woken.
                events = selector.select(_SWEEP if self.conns else None)
            except (OSError, ValueError):  # the selector was closed under us: stopping
                return
            for key, _ in events:
                conn = key.data
                if conn is None:
                    self._take_incoming()
                    continue
                self._readable(conn, generation)
                if self.generation != generation:
                    return  # a handler blocked; a fresh thread has the loop now
            now = time.monotonic()
            if now >= self._next_sweep:
                self._next_sweep = now + _SWEEP
                self._sweep(now)

    def _take_incoming(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:  # drained (BlockingIOError), or closed while stopping
            pass
        with self.lock:
            incoming, self.incoming = self.incoming, []
        now = time.monotonic()
        for conn in incoming:
            if conn in self.conns:
                continue
            self.conns.add(conn)
            if not conn.deadline:  # new: its first request must start within the timeout
                conn.deadline = now + self.engine.limits.request_timeout
            try:
                self.selector.register(conn.sock, selectors.EVENT_READ, conn)
            except (OSError, ValueError, KeyError):  # closed meanwhile
                self._close(conn)
                continue
            self._pending(conn)  # bytes already buffered (h11's or TLS's) are served now

    def _pending(self, conn: _Conn) -> None:
        """Serve what a handed-back connection already holds, without waiting to read."""
        if conn.h11.their_state is h11.DONE or conn.sock.fileno() < 0:
            return
        pending = isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending() > 0
        if pending or conn.h11.trailing_data[0]:
            self._readable(conn, self.generation, read=pending)

    def _unregister(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.selector.unregister(conn.sock)

    def _close(self, conn: _Conn) -> None:
        with self.lock:
            if self.busy is conn:
                self.busy = None
        self._unregister(conn)
        if conn.worker is not None:
            conn.worker = None
            try:
                conn.sock.close()
            finally:
                self.engine.closed()

    def _sweep(self, now: float) -> None:
        for conn in list(self.conns):  # a copy: a handed-off thread may close one meanwhile
            if not conn.deadline or conn.deadline > now:
                continue
            if conn.started:  # a request still arriving: too slow (RFC 9110 §15.5.9)
                self._refuse(conn, 408, "the request took longer than its deadline")
            self._close(conn)

    # --- one connection ---------------------------------------------------------------

    def _readable(self, conn: _Conn, generation: int, read: bool = True) -> None:
        if read:
            try:
                data = conn.sock.recv(_RECV)
                sock = conn.sock
                while isinstance(sock, ssl.SSLSocket) and sock.pending():
                    data += sock.recv(_RECV)
            except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._close(conn)
                return
            now = time.monotonic()
            if not conn.started:
                conn.started = now
            limits = self.engine.limits
            conn.deadline = min(
                conn.started + limits.request_deadline, now + limits.request_timeout
            )
            try:
                conn.h11.receive_data(data)
            except RuntimeError:  # data after the peer closed its side, or after an error
                self._close(conn)
                return
        self._events(conn, generation)

    def _events(self, conn: _Conn, generation: int) -> None:
        """Turn what h11 has parsed into requests, answer each, until it needs more bytes."""
        limits = self.engine.limits
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._refuse(conn, exc.error_status_hint, str(exc))
                self._close(conn)
                return
            if event is h11.NEED_DATA:
                if conn.h11.they_are_waiting_for_100_continue and conn.request is not None:
                    self._send(
                        conn, conn.h11.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                now = time.monotonic()
                if conn.h11.their_state is h11.IDLE and not conn.h11.trailing_data[0]:
                    conn.started = 0.0  # between requests: the idle timeout applies
                    conn.deadline = now + limits.idle_timeout
                elif not conn.started:  # the start of a pipelined request is here already
                    conn.started = now
                    conn.deadline = now + min(limits.request_deadline, limits.request_timeout)
                if self._detached(conn, generation):
                    self.adopt(conn)  # back to the loop it came from
                return
            if isinstance(event, h11.Request):
                conn.request, conn.body, conn.body_size = event, [], 0
                head = _read_head(event, limits.max_header_bytes)
                if head.refused is not None:
                    self._refuse(conn, *head.refused)
                    self._close(conn)
                    return
                conn.keep_alive = head.keep_alive
                if head.length is not None and head.length > limits.max_body_bytes:
                    self._answer(conn, generation, too_large(limits.max_body_bytes))
                    return
                continue
            if isinstance(event, h11.Data):
                conn.body_size += len(event.data)
                if conn.body_size > limits.max_body_bytes:
                    self._answer(conn, generation, too_large(limits.max_body_bytes))
                    return
                conn.body.append(event.data)
                continue
            if isinstance(event, h11.EndOfMessage):
                if not self._answer(conn, generation, None):
                    return
                continue
            # ConnectionClosed, or PAUSED after a response that closes the connection.
            self._close(conn)
            return

    def _detached(self, conn: _Conn, generation: int) -> bool:
        return self.generation != generation and conn not in self.conns

    def _answer(self, conn: _Conn, generation: int, refused: BodyError | None) -> bool:
        """Answer the request that arrived on ``conn``; ``False`` once the connection
        is closed (a dropped connection, a refused body, an error, ``Connection: close``).
        """
        event = conn.request
        assert event is not None
        request = self._request(conn, event, refused)
        conn.started, conn.deadline = 0.0, 0.0  # the handler's own time is not the client's
        self.busy_since = time.monotonic()
        self.busy = conn
        if self.engine.watchdog_asleep:  # after ``busy`` is set: the watchdog cannot miss it
            self.engine.wake_watchdog.set()
        try:
            response = self.engine.app.handle(request)
            status, headers, body = response.status_code, response.header_items(), response.data
        except ConnectionDropped:  # a scripted fault: close without a response
            self._end_busy(conn)
            self._close(conn)
            return False
        except Exception as exc:  # a bug below the provider's own error handling
            self.engine.errors.append(exc)
            status, headers = 500, [("Content-Type", "text/plain")]
            body = b"mockauth: internal error"
            conn.close_after = True
        self._end_busy(conn)
        if refused is not None:
            conn.close_after = True  # the rest of the body was never read
        sent = self._respond(conn, event.method, status, headers, body)
        conn.request, conn.body = None, []
        if not sent or conn.close_after or conn.h11.their_state is not h11.DONE:
            self._close(conn)  # an unread body, or the end of the conversation
            return False
        self._next_request(conn)
        return True

    def _end_busy(self, conn: _Conn) -> None:
        with self.lock:
            if self.busy is conn:
                self.busy = None

    def _request(self, conn: _Conn, event: h11.Request, refused: BodyError | None) -> Request:
        target = event.target.decode("latin-1")
        if not target.startswith("/"):  # absolute-form (RFC 9112 §3.2.2) or "*"
            target = "/" + target.partition("://")[2].partition("/")[2]
        raw_path, _, query = target.partition("?")
        limits = self.engine.limits
        return Request(
            event.method.decode("ascii"),
            unquote(raw_path, errors="replace"),
            query=query.encode("latin-1"),
            headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()
            ],
            body=b"" if refused is not None else b"".join(conn.body),
            body_error=refused,
            remote_addr=conn.addr[0] if isinstance(conn.addr, tuple) else None,
            scheme=self.engine.scheme,
            server=self.engine.server,
            raw_path=raw_path.encode("latin-1").decode("utf-8", "replace"),
            max_body=limits.max_body_bytes,
        )

    def _respond(
        self, conn: _Conn, method: bytes, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> bool:
        """Write the answer: a status line, the core's headers, ``Content-Length`` and the
        body, in one send. ``Connection: close`` when the connection ends after it.

        Written here rather than by h11's writer, which validates every header again
        and cost more than the rest of the round trip's Python; the core's headers are
        werkzeug's, which refuse line breaks, and any control character left is refused
        here as well (no response splitting).
        """
        no_body = method == b"HEAD" or status < 200 or status in (204, 304)
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, h11_reason(status))]
        has_length = False
        for name, value in headers:
            if not _FIELD_NAME.match(name) or _BAD_VALUE.search(value):
                self.engine.errors.append(
                    ValueError(f"a header no HTTP/1.1 message may carry: {name!r}: {value!r}")
                )
                conn.close_after = True
                return self._respond(
                    conn, method, 500, [("Content-Type", "text/plain")], b"mockauth: internal error"
                )
            has_length = has_length or name.lower() == "content-length"
            lines.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
        if not has_length and not no_body:
            lines.append(b"Content-Length: %d\r\n" % len(body))
        if conn.close_after or not conn.keep_alive:
            conn.close_after = True
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        if body and not no_body:
            lines.append(body)
        return self._send(conn, b"".join(lines))

    def _next_request(self, conn: _Conn) -> None:
        """Parse on from what came after the answered request (pipelining), afresh."""
        trailing, closed = conn.h11.trailing_data
        conn.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=conn.h11_limit)
        if trailing:
            conn.h11.receive_data(trailing)
        if closed:
            conn.h11.receive_data(b"")

    def _send(self, conn: _Conn, data: bytes | None) -> bool:
        if not data:
            return True
        sock = conn.sock
        try:
            sent = sock.send(data)  # an answer fits the socket's buffer: one system call
        except (BlockingIOError, ssl.SSLWantWriteError):
            sent = 0
        except OSError:  # gone
            return False
        if sent == len(data):
            return True
        # A client that reads slowly: wait for it, as long as it never stalls for longer
        # than the request timeout (sendall's timeout would bound the whole answer).
        view = memoryview(data)
        try:
            sock.settimeout(self.engine.limits.request_timeout)
            while sent < len(data):
                sent += sock.send(view[sent:])
        except OSError:  # gone, or not reading its answers
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.setblocking(False)
        return True

    def _refuse(self, conn: _Conn, status: int, message: str) -> None:
        """Answer a request refused before it reached the provider, then (the caller) close:
        the rest of the stream cannot be trusted."""
        body = json.dumps({"error": "invalid_request", "error_description": message}).encode()
        head = (
            f"HTTP/1.1 {status} {h11_reason(status).decode()}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self._send(conn, head.encode("latin-1") + body)

    def stop(self) -> None:
        """Stop the loop and close every connection (the engine is stopping already).

        Only the thread that has the loop is waited for: a handler blocked in a
        scripted delay is not, and its connection is closed under it.
        """
        self.wake()
        if self.threads and self.threads[-1] is not threading.current_thread():
            self.threads[-1].join(timeout=5)
        for conn in list(self.conns):
            self._close(conn)
        with self.lock:
            incoming, self.incoming = self.incoming, []
        for conn in incoming:
            self._close(conn)
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()


#: A header field name (RFC 9110 §5.1: a token) and what a value must not hold.
_FIELD_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

#: Reason phrases by status code, each looked up once.
_REASONS: dict[int, bytes] = {}


def h11_reason(status: int) -> bytes:
    reason = _REASONS.get(status)
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase.encode("ascii")
        except ValueError:
            reason = b""
        _REASONS[status] = reason
    return reason


class _Head(NamedTuple):
    refused: tuple[int, str] | None
    length: int | None
    keep_alive: bool


def _read_head(event: h11.Request, max_header_bytes: int) -> _Head:
    """One pass over a request's head: what h11 lets through that a provider refuses
    (a major version other than 1; both framings at once, which RFC 9112 §6.1 allows
    refusing; header fields over the cap when the whole head arrived at once, as h11
    caps only a head still arriving), its ``Content-Length``, and whether the
    connection carries another request (RFC 9112 §9.3: HTTP/1.1 without
    ``Connection: close``; HTTP/1.0 keep-alive is not offered).
    """
    if event.http_version not in (b"1.0", b"1.1"):  # h11 takes any N.N (RFC 9110 §15.6.6)
        return _Head((505, "this server speaks HTTP/1.0 and HTTP/1.1 only"), None, False)
    size = 0
    length: int | None = None
    chunked = False
    keep_alive = event.http_version == b"1.1"
    for name, value in event.headers:
        size += len(name) + len(value) + 4
        if name == b"content-length":
            length = int(value)  # h11 has checked it is one plain integer
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
            keep_alive = False
    refused: tuple[int, str] | None = None
    if size > max_header_bytes:
        refused = 431, f"the request's headers take more than {max_header_bytes} bytes"
    elif chunked and length is not None:
        refused = 400, "Transfer-Encoding and Content-Length together (RFC 9112 §6.1)"
    return _Head(refused, length, keep_alive)


class Listener:
    """Accepts connections and hands them to the workers (see the module docstring)."""

    def __init__(self, sock: socket.socket, engine: Engine, tls: ssl.SSLContext | None) -> None:
        self.socket = sock
        self.engine = engine
        self.tls = tls
        port = sock.getsockname()[1]
        self.name = f"mockauth:{port}"
        self.workers = [Worker(engine, f"{self.name}:worker-{i}") for i in range(engine.workers)]
        self._wake_r, self._wake_w = socket.socketpair()
        self._backoff = 0.0
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    @property
    def most_active(self) -> int:
        return self.engine.most_active

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        for target, name in (
            (self.serve_forever, self.name),
            (self._watch, f"{self.name}:watchdog"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def get_request(self) -> tuple[socket.socket, Any]:
        return self.socket.accept()

    def _wait(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is being stopped."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            selector.select(seconds)

    def serve_forever(self) -> None:
        engine = self.engine
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not engine.stopping:
                # At the cap, wait for a connection to end rather than accept (D5):
                # clients queue in the listen backlog.
                with engine.slots:
                    while engine.active >= engine.limits.max_connections and not engine.stopping:
                        engine.slots.wait(timeout=0.5)
                if engine.stopping:
                    return
                if not selector.select():
                    continue
                if engine.stopping:
                    return
                self._accept_one()

    def _accept_one(self) -> None:
        try:
            sock, addr = self.get_request()
        except BlockingIOError:
            return
        except OSError:
            # Out of file descriptors (EMFILE) or the like: back off instead of spinning
            # on a listening socket that stays readable.
            self._backoff = min(max(self._backoff * 2, _ACCEPT_BACKOFF[0]), _ACCEPT_BACKOFF[1])
            self._wait(self._backoff)
            return
        self._backoff = 0.0
        self.engine.opened()
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            sock.setblocking(False)
            self._assign(_Conn(sock, addr, self.engine.limits.max_header_bytes))
        else:  # the handshake on its own thread, within the request timeout
            threading.Thread(
                target=self._handshake, args=(sock, addr), name=f"{self.name}:tls", daemon=True
            ).start()

    def _handshake(self, sock: socket.socket, addr: Any) -> None:
        assert self.tls is not None
        sock.settimeout(self.engine.limits.request_timeout)
        try:
            wrapped = self.tls.wrap_socket(sock, server_side=True)
            wrapped.setblocking(False)
        except (ssl.SSLError, OSError):  # plain http, or a client that does not trust us
            sock.close()
            self.engine.closed()
            return
        self._assign(_Conn(wrapped, addr, self.engine.limits.max_header_bytes))

    def _assign(self, conn: _Conn) -> None:
        if self.engine.stopping:
            conn.sock.close()
            self.engine.closed()
            return
        worker = min(self.workers, key=lambda w: len(w.conns) + len(w.incoming))
        worker.adopt(conn)

    def _watch(self) -> None:
        """Hand off blocked workers; asleep (no wake-ups) while no handler runs, so an
        idle server costs the process nothing (the pytest session's server)."""
        engine = self.engine
        while not engine.stopping:
            if not any(worker.busy is not None for worker in self.workers):
                engine.watchdog_asleep = True
                # Checked again after saying so: a handler that began meanwhile is seen.
                if not any(worker.busy is not None for worker in self.workers):
                    engine.wake_watchdog.wait()
                engine.wake_watchdog.clear()
                engine.watchdog_asleep = False
                continue
            if self._stopped.wait(HANDOFF / 2):
                return
            now = time.monotonic()
            for worker in self.workers:
                if worker.busy is not None:
                    worker.handoff(now)

    def stop(self) -> None:
        self.engine.stopping = True
        self._stopped.set()
        self.engine.wake_watchdog.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        with self.engine.slots:
            self.engine.slots.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        for worker in self.workers:
            worker.stop()
        self.socket.close()
        self._wake_r.close()
        self._wake_w.close()
