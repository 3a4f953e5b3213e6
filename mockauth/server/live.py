"""A live server on background threads: providers served over HTTP/1.1.

The HTTP side is :mod:`.http11` (h11 framing, a few event-loop workers); this
module binds the socket, sets up TLS and keeps the contract the fixture, the
CLI and ``provider.serve()`` rely on: ``start``/``stop``/``url``/``check``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .._check import is_loopback
from ..config import Limits
from ..errors import MockauthError, ServerThreadError
from .dispatcher import ROOT_APPS, Dispatcher, Mountable
from .http11 import Engine, Listener

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LiveServer"]

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
    Limits (all validated, each with a safe default; see
    :class:`~mockauth.config.Limits`): ``max_connections`` open at once (256;
    more wait to be accepted, and a failing ``accept`` backs off),
    ``max_header_bytes`` (64 KiB, 431 beyond), ``max_body_bytes`` (64 KiB, 413
    beyond), ``request_timeout`` (10 s of silence mid-request),
    ``request_deadline`` (30 s from a request's first byte to its last),
    ``idle_timeout`` (60 s between keep-alive requests) and ``workers`` (event
    loops; two, or one on a single core).
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
        idle_timeout: float = 60.0,
        admin_token: str | None = None,
        log: Callable[[Any], None] | None = None,
        tls: bool = False,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        max_connections: int = Limits.max_connections,
        max_header_bytes: int = Limits.max_header_bytes,
        max_body_bytes: int = Limits.max_body_bytes,
        workers: int | None = None,
    ) -> None:
        self.limits = Limits(
            max_connections=max_connections,
            max_header_bytes=max_header_bytes,
            max_body_bytes=max_body_bytes,
            request_timeout=request_timeout,
            request_deadline=request_deadline,
            idle_timeout=idle_timeout,
            workers=workers,
        )
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
        self._server: Listener | None = None
        self._handler_errors: list[BaseException] = []
        self.url = ""

    def start(self) -> LiveServer:
        """Bind and start serving; the bind error (port in use ...) is raised here."""
        if self._server is not None:
            raise MockauthError("the server is already running")
        context = self._tls_context() if self.tls else None
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(1024)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        engine = Engine(self.dispatcher, self.limits, (self.host, self.port))
        engine.scheme = "https" if self.tls else "http"
        server = Listener(sock, engine, context)
        self._server = server
        self._handler_errors = engine.errors
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = self._public_url or f"{engine.scheme}://{host}:{self.port}"
        for provider in self.dispatcher.providers:
            provider.base_url = self.url
        server.start()
        return self

    def _tls_context(self) -> ssl.SSLContext:
        from .. import tls

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

    @property
    def max_connections(self) -> int:
        return self.limits.max_connections

    def stop(self) -> None:
        """Stop serving and close the socket and every connection; returns at once."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

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
