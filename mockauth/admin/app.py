"""The admin API application: guards, routing, and the start-up state reset goes back to."""

from __future__ import annotations

import functools
import hmac
import threading
import weakref
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._check import is_loopback as _check_loopback
from .access import ADMIN_PREFIX, TOKEN_HEADER, check_token, is_loopback
from .context import Context
from .errors import AdminError, bad
from .inputs import _fields
from .route import Route, decoded, path_below, router
from .routes import _EMPTY, ROUTES

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..http.router import Router
    from ..provider import Provider
    from ..server import Dispatcher
    from ..snapshot import Snapshot

__all__ = ["Admin"]


def _host_name(value: str | None) -> str | None:
    """The host of a ``Host`` header (RFC 9110 §7.2), without its port; ``None`` if malformed."""
    if not value:
        return None
    try:
        host = urlsplit(f"//{value.strip()}").hostname
    except ValueError:
        return None
    return host.lower() if host else None


@functools.cache
def _router() -> Router[list[Route]]:
    """The admin routes, through the one router of the package (built on first use)."""
    return router(ROUTES)


class Admin:
    """The admin API of one server; :class:`~mockauth.server.Dispatcher` hands it
    every request under ``/_mockauth``.
    """

    prefix = ADMIN_PREFIX

    def __init__(self, token: str, public_url: str | None = None) -> None:
        self.token = check_token(token)
        self._token = token.encode("ascii")
        # DNS rebinding: a page on another site may reach a loopback port under its own
        # name, so the API answers only Host headers that name this machine (or the
        # public URL it was given).
        public_host = urlsplit(public_url).hostname if public_url else None
        self._public_host = public_host.lower() if public_host else None
        self._lock = threading.Lock()
        self._snapshots: weakref.WeakKeyDictionary[Provider, Snapshot] = weakref.WeakKeyDictionary()

    def remember(self, provider: Provider) -> None:
        """Note the provider's state as its start-up state, the first time it is seen."""
        with self._lock:
            if provider not in self._snapshots:
                self._snapshots[provider] = provider.snapshot()

    def reset(self, provider: Provider) -> None:
        """Put ``provider`` back to the state :meth:`remember` noted."""
        self.remember(provider)
        with self._lock:
            snapshot = self._snapshots[provider]
        provider.restore(snapshot)

    def _authorize(self, request: Request, route: Route | None) -> None:
        if not is_loopback(request.remote_addr):
            raise AdminError(403, "forbidden", "the admin API answers loopback clients only")
        host = _host_name(request.headers.get("Host"))
        if host is None or not (_check_loopback(host) or host == self._public_host):
            raise AdminError(
                403,
                "forbidden",
                "the admin API answers only a Host naming this machine (127.0.0.1, [::1], "
                "localhost) or the server's public URL",
                "Host",
            )
        if route is not None and not route.auth:
            return
        sent = request.headers.get(TOKEN_HEADER)
        if sent is None:
            raise AdminError(
                401,
                "unauthorized",
                f"send the admin token (printed at start-up) in {TOKEN_HEADER}",
                TOKEN_HEADER,
                {"WWW-Authenticate": 'MockauthAdmin realm="mockauth-admin"'},
            )
        if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), self._token):
            raise AdminError(403, "forbidden", "wrong admin token", TOKEN_HEADER)

    def handle(self, request: Request, dispatcher: Dispatcher) -> Response:
        """Answer one request under ``/_mockauth``."""
        try:
            return self._handle(request, dispatcher)
        except AdminError as exc:
            return exc.response()
        except RecursionError:
            return bad(None, "the input is nested too deeply").response()

    def _handle(self, request: Request, dispatcher: Dispatcher) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        # A literal template wins over a parameter one (/keys/rotate over /keys/{kid}):
        # a path has the methods of its most literal templates only, as Allow says.
        matches = _router().match_all(path_below(request, ADMIN_PREFIX))
        fewest = min((len(raw) for _, raw in matches), default=0)
        found = [(route, raw) for routes, raw in matches if len(raw) == fewest for route in routes]
        chosen, raw = next(((r, p) for r, p in found if r.method == method), (None, {}))
        self._authorize(request, chosen)
        if chosen is None:
            if not found:
                raise AdminError(404, "no_route", f"no admin route {request.path}")
            allowed = sorted({r.method for r, _ in found})
            raise AdminError(
                405,
                "method_not_allowed",
                f"use {' or '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        route = chosen
        ctx = Context(self, dispatcher, request, decoded(raw), route)
        if not route.query:
            ctx.query()  # rejects any query parameter
        if route.body is _EMPTY:
            _fields(ctx.body(), {})  # no members, but a bad body is still reported
        return route.handler(ctx)
