"""A live server on a thread, and the dispatcher that mounts issuers on it.

The server parses the request line and headers with werkzeug's threaded
server and builds the core's :class:`~mockauth.http.Request` itself (no WSGI
environ). werkzeug's ``serve_forever`` polls every 0.5 s, so a plain
``shutdown()`` takes up to half a second; this server waits on its listening
socket and a wake-up socket together, so stopping is immediate.
"""

from __future__ import annotations

import difflib
import io
import json
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import unquote, unquote_plus, urlsplit

from werkzeug.serving import DechunkedInput, ThreadedWSGIServer, WSGIRequestHandler

from ._check import is_loopback
from .endpoints import endpoints
from .errors import MockauthError, ServerThreadError
from .faults.base import ConnectionDropped
from .http import Request, Response, json_response, read_body
from .http.wsgi import wsgi_app
from .journal import REDACTED
from .registry import secret_params

if TYPE_CHECKING:
    from types import TracebackType
    from wsgiref.types import StartResponse, WSGIEnvironment


__all__ = ["ROOT_APPS", "Dispatcher", "LiveServer", "Mountable", "RootApp"]


class Mountable(Protocol):
    """What the dispatcher serves: a provider (typed here so the server needs none)."""

    @property
    def issuer_id(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @base_url.setter
    def base_url(self, url: str) -> None: ...
    def handle(self, request: Request) -> Response: ...
    def not_found(self, request: Request) -> Response: ...
    def raise_errors(self) -> None: ...
    def add_call_listener(self, listener: Callable[[Any], None]) -> None: ...
    def remove_call_listener(self, listener: Callable[[Any], None]) -> None: ...


class RootApp(Protocol):
    """An application mounted at a prefix of the server root (the admin API)."""

    prefix: str

    def handle(self, request: Request, dispatcher: Dispatcher) -> Response: ...
    def remember(self, provider: Any) -> None: ...


#: Root applications by name, registered by the packages that provide them
#: (:mod:`mockauth.admin` registers ``"admin"``): the server imports none of them.
ROOT_APPS: dict[str, Callable[[str, str | None], RootApp]] = {}


class Dispatcher:
    """Routes requests to providers by issuer path, longest prefix first:
    ``/realms/test/token`` goes to the issuer ``realms/test`` even beside ``realms``.

    Root-level well-known documents (RFC 8414 §3.1:
    ``/.well-known/oauth-authorization-server/<issuer path>``) go to the issuer
    they name; ``/`` lists the issuers; a root app (``admin``) answers under its
    prefix. A path no issuer serves is a 404, journaled by the nearest issuer.
    """

    admin: RootApp | None = None

    def __init__(self, providers: Iterable[Mountable] = ()) -> None:
        self._providers: dict[str, Mountable] = {}
        self._lock = threading.Lock()
        for provider in providers:
            self.mount(provider)

    @property
    def providers(self) -> list[Any]:
        return list(self._providers.values())

    def mount(self, provider: Mountable) -> None:
        """Serve ``provider`` under ``/<issuer_id>``, replacing one with the same id."""
        with self._lock:
            self._providers = {**self._providers, provider.issuer_id: provider}

    def unmount(self, provider: Mountable) -> None:
        with self._lock:
            if self._providers.get(provider.issuer_id) is provider:
                self._providers = {
                    k: v for k, v in self._providers.items() if k != provider.issuer_id
                }

    def route(self, path: str) -> Mountable | None:
        """The provider serving ``path``: by the issuer a root well-known names,
        else by the longest issuer path ``path`` starts with.
        """
        providers = self._providers
        if path.startswith("/.well-known/"):
            name, _, rest = path[len("/.well-known/") :].partition("/")
            if rest and name in root_well_knowns():
                found = providers.get(rest)
                if found is not None:
                    return found
        segments = path[1:].split("/")
        for n in range(len(segments), 0, -1):
            found = providers.get("/".join(segments[:n]))
            if found is not None:
                return found
        return None

    def handle(self, request: Request) -> Response:
        """Answer one request with the provider (or root app) it is for."""
        admin = self.admin
        path = request.path
        if admin is not None and (path == admin.prefix or path.startswith(admin.prefix + "/")):
            return admin.handle(request, self)
        provider = self.route(path)
        if provider is not None:
            return provider.handle(request)
        if path == "/" and request.method in ("GET", "HEAD"):
            return json_response({"issuers": [p.issuer for p in self._providers.values()]})
        nearest = self._nearest(path)
        if nearest is not None:
            return nearest.not_found(request)
        return json_response(
            {"error": "not_found", "error_description": "no issuer at this path"}, 404
        )

    def _nearest(self, path: str) -> Mountable | None:
        """The provider whose issuer path looks most like ``path`` (it journals the 404)."""
        providers = self._providers
        if not providers:
            return None
        first = path[1:].split("/")[0]
        close = difflib.get_close_matches(first, [k.split("/")[0] for k in providers], n=1)
        for issuer_id, provider in providers.items():
            if close and issuer_id.split("/")[0] == close[0]:
                return provider
        return next(iter(providers.values()))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return wsgi_app(self.handle)(environ, start_response)


def redacted_target(target: str) -> str:
    """A request target fit for a log: the value of every secret query parameter
    (codes, tokens, ``id_token_hint``, assertions ...) replaced by ``[redacted]``.
    """
    path, sep, query = target.partition("?")
    if not sep:
        return target
    secret = secret_params()
    pairs = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if eq and unquote_plus(name) in secret else pair)
    return f"{path}?{'&'.join(pairs)}"


def root_well_knowns() -> frozenset[str]:
    """The well-known names served at the root for an issuer (RFC 8414 §3.1)."""
    return frozenset(ep.root_well_known for ep in endpoints() if ep.root_well_known)


#: Unread request bytes drained to keep a connection alive; more closes it.
_DRAIN_LIMIT = 64 * 1024
#: The most bytes a request's header fields may take together (431 beyond).
MAX_HEADER_BYTES = 64 * 1024


class _Body(io.RawIOBase):
    """The request body: at most Content-Length bytes of the connection, counted,
    so that what the application leaves unread can be drained afterwards.
    """

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.remaining = length
        self.failed = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: self.remaining]
        try:
            count = self._stream.readinto(view)
        except OSError:  # a timeout: the peer sent less than it promised
            count = 0
            self.failed = True
        if not count:
            self.remaining = 0  # the peer closed early
            self.failed = True
            return 0
        self.remaining -= count
        return int(count)

    def drain(self) -> bool:
        """Read and drop what is left; ``False`` when too much is left to bother."""
        if self.remaining > _DRAIN_LIMIT:
            return False
        while self.remaining > 0 and self.read(min(self.remaining, 16384)):
            pass
        return self.remaining == 0 and not self.failed


class _DeadlineReader(io.RawIOBase):
    """The connection, read against the current request's deadline: a client that
    trickles a byte every few seconds cannot hold its thread past it (D8), however
    short each wait.
    """

    def __init__(self, sock: socket.socket, handler: _Handler) -> None:
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._handler.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request took longer than its deadline")
        timeout = self._handler.timeout
        self._sock.settimeout(min(timeout, remaining) if timeout else remaining)
        return self._sock.recv_into(buffer)


def _content_length(value: str | None) -> int | None:
    if value is None:
        return 0
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


class _Handler(WSGIRequestHandler):
    """werkzeug's request-line and header parsing, then the core's own request.

    werkzeug's own ``run_wsgi`` closes every connection, because
    ``http.server`` cannot skip a request body the application left unread
    (and it reads the socket dry after each response to make sure). This
    handler builds a :class:`~mockauth.http.Request` itself (no WSGI
    environ), counts the body and drains what is left, so one connection
    carries many requests, as real clients expect of a provider.
    """

    quiet = True
    _body: _Body | None = None
    _tls_failed = False
    #: Seconds one request may take from its first byte (or the wait for it) to its last.
    request_deadline = 30.0
    deadline = 0.0

    def setup(self) -> None:
        context: ssl.SSLContext | None = getattr(self.server, "tls_context", None)
        if context is not None:
            # The handshake runs here, on this connection's own thread, within its timeout.
            raw = self.request
            raw.settimeout(self.timeout)
            try:
                self.request = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):  # plain http, or a client that does not trust us
                self._tls_failed = True  # the socket went with the failed handshake
                return
        super().setup()
        # Headers and body go out as separate writes: no Nagle delay between them.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self), 65536)

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.request_deadline
        super().handle_one_request()

    def handle(self) -> None:
        if not self._tls_failed:
            super().handle()

    def finish(self) -> None:
        if not self._tls_failed:
            super().finish()

    def _request(self) -> Request:
        target = self.path
        if not target.startswith("/"):  # absolute-form (RFC 9112 §3.2.2)
            target = "/" + target.partition("://")[2].partition("/")[2]
        raw_path, _, query = target.partition("?")
        self._body = None
        length_header = self.headers.get("Content-Length")
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        stream: Any
        if chunked:
            stream = DechunkedInput(self.rfile)  # type: ignore[arg-type]
            length_header = None
        else:
            length = _content_length(length_header)
            if length is not None:
                self._body = _Body(self.rfile, length)
            stream = self._body
        body, error = read_body(stream, length_header, chunked=chunked)
        host, port = self.server.server_address[:2]
        return Request(
            self.command,
            unquote(raw_path, errors="replace"),
            query=query.encode("latin-1", "replace"),
            headers=self.headers.items(),
            body=body,
            body_error=error,
            remote_addr=self.client_address[0],
            server=(str(host), int(port)),
            raw_path=raw_path.encode("latin-1", "replace").decode("utf-8", "replace"),
        )

    def _reusable(self) -> bool:
        body = self._body
        return (
            body is not None
            and not body.failed
            and body.remaining <= _DRAIN_LIMIT
            and self.request_version == "HTTP/1.1"
            and self.headers.get("Connection", "").lower() != "close"
        )

    def _framing_error(self) -> tuple[int, str] | None:
        """What RFC 9112 says to refuse before reading a body: a transfer coding other
        than chunked (§6.1: 501), both framings at once, or Content-Length values
        that disagree (§6.3: 400); and headers over :data:`MAX_HEADER_BYTES` (RFC 6585 §5).
        """
        size = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        if size > MAX_HEADER_BYTES:
            return 431, f"the request's headers take more than {MAX_HEADER_BYTES} bytes"
        codings = [
            c.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding") or ()
            for c in value.split(",")
        ]
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or ()}
        if codings and codings != ["chunked"]:
            return 501, "the only transfer coding understood is chunked (RFC 9112 §6.1)"
        if codings and lengths:
            return 400, "Transfer-Encoding and Content-Length together (RFC 9112 §6.1)"
        if len(lengths) > 1:
            return 400, "Content-Length values that disagree (RFC 9112 §6.3)"
        return None

    def run_wsgi(self) -> None:
        refused = self._framing_error()
        if refused is not None:  # answered, then closed: the rest of the stream is untrusted
            code, message = refused
            body = json.dumps({"error": "invalid_request", "error_description": message}).encode()
            self.close_connection = True
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except (ConnectionError, TimeoutError):
                pass
            return
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            response = self.server.app.handle(self._request())  # type: ignore[attr-defined]
            code, reason = response.status_code, response.status.partition(" ")[2]
            headers, body = response.header_items(), response.get_data()
        except ConnectionDropped:  # a scripted fault: close without a response
            self.close_connection = True
            return
        except Exception as exc:  # a bug below the provider's own error handling
            self.server.errors.append(exc)  # type: ignore[attr-defined]
            code, reason = 500, "INTERNAL SERVER ERROR"
            headers = [("Content-Type", "text/plain")]
            body = b"mockauth: internal error"
            self.close_connection = True
        keep_alive = self._reusable() and not self.close_connection
        try:
            self.send_response(code, reason)
            names = set()
            for name, value in headers:
                names.add(name.lower())
                self.send_header(name, value)
            no_body = self.command == "HEAD" or code < 200 or code in (204, 304)
            if "content-length" not in names and not no_body:
                self.send_header("Content-Length", str(len(body)))
            if not keep_alive:
                self.send_header("Connection", "close")
            self.end_headers()
            if not no_body:
                self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        if not keep_alive or self._body is None or not self._body.drain():
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.quiet:
            return
        path = getattr(self, "path", None)
        line = f"{self.command} {redacted_target(path)} {self.request_version}" if path else "-"
        line = line.translate(self._control_char_table)
        self.log("info", '"%s" %s %s', line, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error" or not self.quiet:
            super().log(type, message, *args)


class _BindError(Exception):
    """Carries a bind error past werkzeug, which turns an ``OSError`` into ``sys.exit(1)``."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


#: The most connections served at once (a thread each); more wait in the listen backlog.
MAX_CONNECTIONS = 256
#: Back-off after ``accept`` fails (out of file descriptors): first and longest wait, seconds.
_ACCEPT_BACKOFF = (0.01, 0.5)


class _Server(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        handler: type[_Handler],
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        # Made first: werkzeug calls server_close() when binding fails.
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            super().__init__(host, port, app, handler=handler)
        except _BindError as exc:
            raise exc.error from None
        self._stopping = False
        self.errors: list[BaseException] = []
        self.tls_context: ssl.SSLContext | None = None
        self.max_connections = max_connections
        self.active = 0
        self.most_active = 0
        self._slots = threading.Condition()
        self._backoff = 0.0

    def _wait(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is being stopped."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            selector.select(seconds)

    def _handle_request_noblock(self) -> None:
        # At the cap, wait for a connection to end rather than accept (D5): clients queue
        # in the listen backlog instead of each holding a thread.
        with self._slots:
            while self.active >= self.max_connections and not self._stopping:
                self._slots.wait(timeout=0.5)
        try:
            request, client_address = self.get_request()
        except OSError:
            # Out of file descriptors (EMFILE) or the like: back off instead of spinning
            # on a listening socket that stays readable.
            self._backoff = min(max(self._backoff * 2, _ACCEPT_BACKOFF[0]), _ACCEPT_BACKOFF[1])
            self._wait(self._backoff)
            return
        self._backoff = 0.0
        if self.verify_request(request, client_address):
            try:
                self.process_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
                self.shutdown_request(request)
        else:
            self.shutdown_request(request)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._slots:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._slots:
                self.active -= 1
                self._slots.notify()

    def server_bind(self) -> None:
        try:
            super().server_bind()
        except OSError as exc:
            raise _BindError(exc) from exc

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self and not self._stopping:
                        self._handle_request_noblock()
                self.service_actions()

    def wake_and_stop(self) -> None:
        self._stopping = True
        self._wake_w.send(b"x")
        with self._slots:
            self._slots.notify_all()

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()


M = TypeVar("M", bound=Mountable)


class LiveServer:
    """Providers served over HTTP on a background thread.

    ``url`` is the base URL (``http://127.0.0.1:PORT``); each provider's
    issuer is ``url + "/" + issuer_id``. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`. Unexpected errors raised while handling
    requests are re-raised by :meth:`check` and when the ``with`` block ends.
    With ``admin_token``, the admin API (:mod:`mockauth.admin`) is served at
    :attr:`admin_url` to loopback clients that send that token.

    ``tls=True`` serves https with a certificate for ``127.0.0.1``, ``::1``,
    ``localhost``, the bound host and the public URL's host, signed by the
    process's test CA (:mod:`mockauth.tls`): clients trust :attr:`ca_file`.
    ``tls_cert`` / ``tls_key`` bring your own certificate instead.
    ``max_connections`` connections are served at once (256); more wait to be
    accepted, and a failing ``accept`` (out of file descriptors) backs off.
    """

    def __init__(
        self,
        providers: Iterable[Mountable] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        request_timeout: float = 10.0,
        request_deadline: float = 30.0,
        quiet: bool = True,
        admin_token: str | None = None,
        log: Callable[[Any], None] | None = None,
        tls: bool = False,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise MockauthError(f"max_connections must be a positive integer: {max_connections!r}")
        if max_connections < 1:
            raise MockauthError(f"max_connections must be a positive integer: {max_connections!r}")
        self.max_connections = max_connections
        limits = {"request_timeout": request_timeout, "request_deadline": request_deadline}
        for name, seconds in limits.items():
            number = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
            if not number or not seconds > 0:
                raise MockauthError(f"{name} must be a positive number of seconds: {seconds!r}")
        if (tls_cert is None) != (tls_key is None):
            raise MockauthError("give tls_cert and tls_key together")
        self.tls = tls or tls_cert is not None
        self._tls_files = (tls_cert, tls_key) if tls_cert and tls_key else None
        #: The PEM file of the CA that signed the server's certificate (the test CA), if any.
        self.ca_file: str | None = None
        self.log = log  # called with each finished call of every issuer (mockauth.log)
        self.dispatcher = Dispatcher(providers)
        if log is not None:
            for provider in self.dispatcher.providers:
                provider.add_call_listener(log)
        if admin_token is not None:  # the admin API, guarded by this token
            self.dispatcher.admin = ROOT_APPS["admin"](admin_token, public_url)
            for provider in self.dispatcher.providers:
                self.dispatcher.admin.remember(provider)  # what reset goes back to
        self.host = host
        self.port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._handler = type(
            "Handler",
            (_Handler,),
            {"timeout": request_timeout, "quiet": quiet, "request_deadline": request_deadline},
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._handler_errors: list[BaseException] = []
        self.url = ""

    def start(self) -> LiveServer:
        """Bind and start serving; the bind error (port in use ...) is raised here."""
        if self._server is not None:
            raise MockauthError("the server is already running")
        context = self._tls_context() if self.tls else None
        server = _Server(self.host, self.port, self.dispatcher, self._handler, self.max_connections)
        server.tls_context = context
        self._server = server
        self._handler_errors = server.errors
        self.port = server.server_port
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls else "http"
        self.url = self._public_url or f"{scheme}://{host}:{self.port}"
        for provider in self.dispatcher.providers:
            provider.base_url = self.url
        self._thread = threading.Thread(target=self._run, name=f"mockauth:{self.port}", daemon=True)
        self._thread.start()
        return self

    def _tls_context(self) -> ssl.SSLContext:
        from . import tls

        if self._tls_files is not None:
            cert, key = self._tls_files
            return tls.server_context(cert, key)
        names = [self.host] if self.host not in ("0.0.0.0", "::", "") else []  # noqa: S104
        if self._public_url:
            public = urlsplit(self._public_url).hostname
            names += [public] if public else []
        ca = tls.test_ca()
        self.ca_file = ca.ca_file
        return tls.server_context(*ca.leaf(names))

    def _run(self) -> None:
        assert self._server is not None
        try:
            self._server.serve_forever()
        except BaseException as exc:  # surfaced by check()
            self._thread_error = exc

    def stop(self) -> None:
        """Stop serving and close the socket; returns at once."""
        server, self._server = self._server, None
        if server is None:
            return
        server.wake_and_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.server_close()

    def mount(self, provider: M) -> M:
        """Serve another provider here (it gets this server's URL)."""
        provider.base_url = self.url
        if self.log is not None:
            provider.add_call_listener(self.log)
        self.dispatcher.mount(provider)
        return provider

    def unmount(self, provider: Mountable) -> None:
        if self.log is not None:
            provider.remove_call_listener(self.log)
        self.dispatcher.unmount(provider)

    @property
    def providers(self) -> list[Any]:
        return self.dispatcher.providers

    @property
    def admin_url(self) -> str | None:
        """The base URL of the admin API on loopback (``None`` without ``admin_token``)."""
        if self.dispatcher.admin is None or not self.url:
            return None
        host = self.host if is_loopback(self.host) else ("::1" if ":" in self.host else "127.0.0.1")
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{self.dispatcher.admin.prefix}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def check(self) -> None:
        """Raise :class:`~mockauth.errors.ServerThreadError` for any error the server hit."""
        if self._thread_error is not None:
            error, self._thread_error = self._thread_error, None
            raise ServerThreadError(f"the server thread died: {error!r}") from error
        if self._handler_errors:
            error = self._handler_errors.pop(0)
            self._handler_errors.clear()
            raise ServerThreadError(
                f"the server failed while handling a request: {error!r}"
            ) from error
        for provider in self.dispatcher.providers:
            provider.raise_errors()

    def __enter__(self) -> LiveServer:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None:
            self.check()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveServer {self.url or self.host} {state}>"
