"""A live server on a thread: werkzeug's threaded WSGI server, stopped at once.

werkzeug's ``serve_forever`` polls every 0.5 s, so a plain ``shutdown()``
takes up to half a second. This server waits on its listening socket and a
wake-up socket together, so stopping is immediate.
"""

from __future__ import annotations

import selectors
import socket
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .errors import MockauthError, ServerThreadError
from .http import Request, Response, json_response

if TYPE_CHECKING:
    from types import TracebackType
    from wsgiref.types import StartResponse, WSGIEnvironment

    from .provider import Provider

__all__ = ["Dispatcher", "LiveServer"]

_RFC8414_PREFIX = "/.well-known/oauth-authorization-server/"


class Dispatcher:
    """Routes requests to providers by issuer id: ``/<issuer_id>/...``.

    RFC 8414 §3 metadata at ``/.well-known/oauth-authorization-server/<issuer_id>``
    is routed by its last segment; ``/`` lists the issuers.
    """

    def __init__(self, providers: Iterable[Provider] = ()) -> None:
        self._providers: dict[str, Provider] = {}
        self._lock = threading.Lock()
        for provider in providers:
            self.mount(provider)

    @property
    def providers(self) -> list[Provider]:
        return list(self._providers.values())

    def mount(self, provider: Provider) -> None:
        """Serve ``provider`` under ``/<issuer_id>``, replacing one with the same id."""
        with self._lock:
            self._providers = {**self._providers, provider.issuer_id: provider}

    def unmount(self, provider: Provider) -> None:
        with self._lock:
            if self._providers.get(provider.issuer_id) is provider:
                self._providers = {
                    k: v for k, v in self._providers.items() if k != provider.issuer_id
                }

    def route(self, path: str) -> Provider | None:
        if path.startswith(_RFC8414_PREFIX):
            return self._providers.get(path[len(_RFC8414_PREFIX) :])
        segment = path[1:].partition("/")[0]
        return self._providers.get(segment)

    def handle(self, request: Request) -> Response:
        """Answer one request with the provider it is for."""
        provider = self.route(request.path)
        if provider is not None:
            return provider.handle(request)
        if request.path == "/" and request.method in ("GET", "HEAD"):
            return json_response({"issuers": [p.issuer for p in self._providers.values()]})
        return json_response(
            {"error": "not_found", "error_description": "no issuer at this path"}, 404
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)


class _Handler(WSGIRequestHandler):
    """werkzeug's handler without a log line per request."""

    quiet = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.quiet:
            super().log_request(code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error" or not self.quiet:
            super().log(type, message, *args)


class _BindError(Exception):
    """Carries a bind error past werkzeug, which turns an ``OSError`` into ``sys.exit(1)``."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any, handler: type[_Handler]) -> None:
        # Made first: werkzeug calls server_close() when binding fails.
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            super().__init__(host, port, app, handler=handler)
        except _BindError as exc:
            raise exc.error from None
        self._stopping = False

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
                        self._handle_request_noblock()  # type: ignore[attr-defined]
                self.service_actions()

    def wake_and_stop(self) -> None:
        self._stopping = True
        self._wake_w.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()


class LiveServer:
    """Providers served over HTTP on a background thread.

    ``url`` is the base URL (``http://127.0.0.1:PORT``); each provider's
    issuer is ``url + "/" + issuer_id``. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`. Unexpected errors raised while handling
    requests are re-raised by :meth:`check` and when the ``with`` block ends.
    """

    def __init__(
        self,
        providers: Iterable[Provider] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        request_timeout: float = 10.0,
        quiet: bool = True,
    ) -> None:
        self.dispatcher = Dispatcher(providers)
        self.host = host
        self.port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._handler = type("Handler", (_Handler,), {"timeout": request_timeout, "quiet": quiet})
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self.url = ""

    def start(self) -> LiveServer:
        """Bind and start serving; the bind error (port in use ...) is raised here."""
        if self._server is not None:
            raise MockauthError("the server is already running")
        server = _Server(self.host, self.port, self.dispatcher, self._handler)
        self._server = server
        self.port = server.server_port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = self._public_url or f"http://{host}:{self.port}"
        for provider in self.dispatcher.providers:
            provider.base_url = self.url
        self._thread = threading.Thread(target=self._run, name=f"mockauth:{self.port}", daemon=True)
        self._thread.start()
        return self

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

    def mount(self, provider: Provider) -> Provider:
        """Serve another provider here (it gets this server's URL)."""
        provider.base_url = self.url
        self.dispatcher.mount(provider)
        return provider

    def unmount(self, provider: Provider) -> None:
        self.dispatcher.unmount(provider)

    @property
    def providers(self) -> list[Provider]:
        return self.dispatcher.providers

    @property
    def running(self) -> bool:
        return self._server is not None

    def check(self) -> None:
        """Raise :class:`~mockauth.errors.ServerThreadError` for any error the server hit."""
        if self._thread_error is not None:
            error, self._thread_error = self._thread_error, None
            raise ServerThreadError(f"the server thread died: {error!r}") from error
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


def _print_error(message: str) -> None:
    print(message, file=sys.stderr)
