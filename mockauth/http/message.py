"""The core's request and response: plain values, no transport (sans-I/O).

The live server, the in-process transports and the WSGI adapter
(:mod:`mockauth.http.wsgi`) build a :class:`Request` from what they received
and send the :class:`Response` back their own way; endpoints never see a
socket or a WSGI environ. Both build on werkzeug's sans-I/O wrappers, so
header, cookie, query and form parsing stay werkzeug's.
"""

from __future__ import annotations

import html
import io
import json
import time
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.sansio.request import Request as _SansioRequest
from werkzeug.sansio.response import Response as _SansioResponse

__all__ = [
    "MAX_BODY",
    "NO_STORE",
    "BodyError",
    "Request",
    "Response",
    "html_page",
    "json_response",
    "read_body",
    "too_large",
]

#: Request bodies above this many bytes get 413 (werkzeug has no limit by default).
MAX_BODY = 64 * 1024


class BodyError(Exception):
    """The body could not be taken as sent: ``status`` 400 (a malformed
    ``Content-Length``) or 413 (over :data:`MAX_BODY`). Raised when an endpoint
    reads the body, so an endpoint that never does answers as usual.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(limit: int) -> BodyError:
    """413 for a body over ``limit`` bytes (RFC 9110 §15.5.14)."""
    return BodyError(413, f"the body must stay under {limit} bytes")


class Request(_SansioRequest):
    """One HTTP request as the core sees it.

    ``path`` is percent-decoded; ``raw_path`` is the path as sent (an admin id
    may hold ``%2F``). ``body`` holds at most ``max_body`` (:data:`MAX_BODY`
    unless the server is configured otherwise) + 1 bytes; a body that was
    refused on the way in is remembered in ``body_error`` and raised by
    :meth:`get_data` and :attr:`form`.
    """

    max_form_parts = 1000

    def __init__(
        self,
        method: str,
        path: str,
        *,
        query: bytes | str = b"",
        headers: Headers | Iterable[tuple[str, str]] | Mapping[str, str] = (),
        body: bytes = b"",
        remote_addr: str | None = "127.0.0.1",
        scheme: str = "http",
        server: tuple[str, int | None] | None = None,
        raw_path: str | None = None,
        body_error: BodyError | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        if isinstance(query, str):
            query = query.encode("latin-1", "replace")
        if not isinstance(headers, Headers):
            headers = _combined(headers.items() if isinstance(headers, Mapping) else headers)
        super().__init__(
            method.upper(), scheme, server, "", path or "/", query, headers, remote_addr
        )
        self.raw_path = raw_path if raw_path is not None else self.path
        #: The values of the route template that matched (``/register/{client_id}``).
        self.route_params: dict[str, str] = {}
        #: When the request was made (``time.perf_counter()``): durations in the journal.
        self.arrived = time.perf_counter()
        self._body = body
        self.max_body = max_body
        if body_error is None and len(body) > max_body:
            body_error = too_large(max_body)
        self.body_error = body_error

    @property
    def body(self) -> bytes:
        """The body bytes, without the size and framing checks of :meth:`get_data`."""
        return self._body

    def get_data(self, cache: bool = True, as_text: bool = False) -> Any:
        """The body; :class:`BodyError` when it was refused on the way in."""
        if self.body_error is not None:
            raise self.body_error
        return self._body.decode("utf-8", "replace") if as_text else self._body

    @cached_property
    def form(self) -> MultiDict[str, str]:
        """Form fields of an ``application/x-www-form-urlencoded`` body (else empty)."""
        if self.mimetype != "application/x-www-form-urlencoded":
            return MultiDict()
        data = self.get_data()
        parser = FormDataParser(
            max_form_memory_size=self.max_body,
            max_content_length=self.max_body,
            max_form_parts=self.max_form_parts,
            cls=MultiDict,
        )
        try:
            _, form, _ = parser.parse(
                io.BytesIO(data), self.mimetype, len(data), self.mimetype_params
            )
        except RequestEntityTooLarge:
            raise too_large(self.max_body) from None
        return form

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def _combined(items: Iterable[tuple[str, str]]) -> Headers:
    """One field per name, repeats joined with commas (RFC 9110 §5.3), as a WSGI
    environ has them: ``headers.get()`` sees every value.
    """
    merged: dict[str, tuple[str, str]] = {}
    for name, value in items:
        key = name.lower()
        if key in merged:
            first, joined = merged[key]
            merged[key] = (first, f"{joined},{value}")
        else:
            merged[key] = (name, value)
    return Headers(list(merged.values()))


class Response(_SansioResponse):
    """Status, headers and a body of bytes.

    ``Response("text", status=200, mimetype="text/plain")``, as werkzeug's
    response takes it; :meth:`get_data` and :meth:`set_data` read and replace
    the body (``Content-Length`` follows it).
    """

    default_mimetype = "text/plain"

    def __init__(
        self,
        body: bytes | str | None = None,
        status: int | str | None = None,
        headers: Headers | Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(status, headers, mimetype, content_type)
        self._data = b""
        self.set_data(body or b"")

    def get_data(self, as_text: bool = False) -> Any:
        return self._data.decode("utf-8", "replace") if as_text else self._data

    def set_data(self, value: bytes | str) -> None:
        self._data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        self.headers["Content-Length"] = str(len(self._data))

    @property
    def data(self) -> bytes:
        return self._data

    def header_items(self) -> list[tuple[str, str]]:
        """Headers as sent: ``Content-Length`` included, except where RFC 9110 §8.6
        forbids it (1xx, 204) or it would describe nothing (304).
        """
        items = list(self.headers.items())
        code = self.status_code
        if code < 200 or code in (204, 304):
            items = [(k, v) for k, v in items if k.lower() != "content-length"]
        return items

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {self.mimetype or ''}>"


NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def json_response(
    data: Mapping[str, Any] | list[Any],
    status: int = 200,
    headers: Iterable[tuple[str, str]] = (),
    *,
    cache: bool = False,
) -> Response:
    """A JSON response; ``no-store`` (RFC 6749 §5.1) unless ``cache`` (discovery
    and JWKS may be cached).
    """
    body = json.dumps(data, separators=(",", ":"))
    response = Response(body, status=status, mimetype="application/json")
    h = response.headers
    if not cache:
        for name, value in NO_STORE:
            h[name] = value
    for name, value in headers:
        h[name] = value
    return response


def html_page(title: str, message: str, status: int = 200) -> Response:
    """A small HTML page; every piece of text is escaped."""
    t, m = html.escape(title), html.escape(message)
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{t}</title></head><body><h1>{t}</h1><p>{m}</p>"
        "<p><small>mockauth: a mock OAuth provider for tests only</small></p></body></html>"
    )
    response = Response(body, status=status, mimetype="text/html")
    for name, value in NO_STORE:
        response.headers[name] = value
    return response


def read_body(
    stream: Any, content_length: str | None, *, chunked: bool = False
) -> tuple[bytes, BodyError | None]:
    """Read a request body from ``stream`` as its framing says, within the cap.

    A ``Content-Length`` that is not a plain non-negative integer is 400
    (RFC 9112 §6.3; werkzeug would read it as 0 and drop the body), one over
    :data:`MAX_BODY` is 413 without reading; a chunked body (``stream``
    already de-chunked) is read up to the cap. A body that ends early is 400.
    """
    if content_length is not None:
        text = content_length.strip()
        if not (text.isascii() and text.isdigit()):
            return b"", BodyError(400, "Content-Length must be a non-negative integer")
        length = int(text)
        if length > MAX_BODY:
            return b"", too_large(MAX_BODY)
        data = _read(stream, length)
        if len(data) < length:
            return data, BodyError(400, "the body ended before Content-Length bytes arrived")
        return data, None
    if not chunked:
        return b"", None
    data = _read(stream, MAX_BODY + 1)
    if len(data) > MAX_BODY:
        return b"", too_large(MAX_BODY)
    return data, None


def _read(stream: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        try:
            chunk = stream.read(min(left, 65536))
        except (OSError, ValueError):  # a timeout or a broken connection mid-body
            break
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
