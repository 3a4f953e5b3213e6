"""WSGI at the edge: a WSGI environ in, the core's request; its response out.

The only WSGI code of the package. ``provider(environ, start_response)`` and
the dispatcher's WSGI face go through :func:`wsgi_app`, so mockauth can be
mounted in any WSGI server or driven by ``werkzeug.test.Client``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .message import Request, Response, read_body

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["from_environ", "wsgi_app"]


def from_environ(environ: WSGIEnvironment) -> Request:
    """The core's request for a WSGI environ (PEP 3333: text is latin-1 of the bytes)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        raw_path = raw.partition("?")[0]
        if not raw_path.startswith("/"):  # an absolute-form request target
            raw_path = "/" + raw_path.partition("://")[2].partition("/")[2]
        raw_path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
    else:
        raw_path = None
    path = environ.get("PATH_INFO", "/").encode("latin-1", "replace").decode("utf-8", "replace")
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value != "":
            headers.append((key.replace("_", "-").title(), value))
    chunked = bool(environ.get("wsgi.input_terminated")) and "CONTENT_LENGTH" not in environ
    length = environ.get("CONTENT_LENGTH") or None
    body, error = read_body(environ["wsgi.input"], length, chunked=chunked)
    port = environ.get("SERVER_PORT")
    return Request(
        environ.get("REQUEST_METHOD", "GET"),
        path,
        query=environ.get("QUERY_STRING", "").encode("latin-1", "replace"),
        headers=headers,
        body=body,
        body_error=error,
        remote_addr=environ.get("REMOTE_ADDR"),
        scheme=environ.get("wsgi.url_scheme", "http"),
        server=(environ.get("SERVER_NAME", "localhost"), int(port) if port else None),
        raw_path=raw_path,
    )


def wsgi_app(handle: Callable[[Request], Response]) -> WSGIApplication:
    """A WSGI application answering through ``handle``."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = handle(from_environ(environ))
        status = f"{response.status_code} {response.status.partition(' ')[2]}".strip()
        start_response(status, response.header_items())
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [response.get_data()]

    return app
