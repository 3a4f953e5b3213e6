"""The dispatcher: issuers mounted by path on one server, and the root apps.

Transport-free: :class:`Dispatcher` takes a :class:`~mockauth.http.Request` and
answers a :class:`~mockauth.http.Response`, whatever carried them (the live
server, the in-process transports, any WSGI server through its WSGI face).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote_plus

from ..endpoints import endpoints
from ..http import Request, Response, json_response
from ..http.wsgi import wsgi_app
from ..journal import REDACTED
from ..pipeline import cors, preflight
from ..registry import secret_params

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment


__all__ = ["ROOT_APPS", "Dispatcher", "Mountable", "RootApp", "redacted_target", "root_well_knowns"]


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
    def serves(self, path: str) -> bool: ...
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
    they name; a mock protected resource's paths go to the issuer guarding it;
    ``/`` lists the issuers; a root app (``admin``) answers under its prefix. A
    path no issuer serves is a 404, journaled by the nearest issuer.
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
        else by the longest issuer path ``path`` starts with, else the one with a
        mock protected resource there (RFC 9728: ``/mcp`` and its metadata).
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
        for provider in providers.values():
            if provider.serves(path):
                return provider
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
        if request.method == "OPTIONS":
            return preflight(None)
        if path == "/" and request.method in ("GET", "HEAD"):
            return cors(json_response({"issuers": [p.issuer for p in self._providers.values()]}))
        nearest = self._nearest(path)
        if nearest is not None:
            return nearest.not_found(request)
        return cors(
            json_response(
                {"error": "not_found", "error_description": "no issuer at this path"}, 404
            )
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
    return frozenset(name for ep in endpoints() for name in ep.root_names)
