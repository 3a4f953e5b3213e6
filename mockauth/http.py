"""Request parsing and response building shared by every endpoint.

RFC 6749 §3.1/§3.2: parameters without a value count as absent, unknown ones
are ignored and none may appear twice. Every JSON response carries
``Cache-Control: no-store`` (RFC 6749 §5.1).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request as _Request
from werkzeug.wrappers import Response

from .errors import InvalidRequest, OAuthError

__all__ = [
    "MAX_BODY",
    "Params",
    "Request",
    "Response",
    "error_response",
    "form_params",
    "html_page",
    "json_response",
    "query_params",
]

#: Request bodies above this many bytes get 413 (werkzeug has no limit by default).
MAX_BODY = 64 * 1024

NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


class Request(_Request):
    """werkzeug's request with the provider's body limits."""

    max_content_length = MAX_BODY
    max_form_memory_size = MAX_BODY
    max_form_parts = 1000


#: Parameters that may repeat: RFC 8707 §2 lets a client name several resources.
REPEATABLE = frozenset({"resource"})


class Params:
    """Single-valued request parameters; empty values are absent (RFC 6749 §3.1)."""

    __slots__ = ("duplicates", "multi", "values")

    def __init__(self, multi: MultiDict[str, str]) -> None:
        self.values: dict[str, str] = {}
        self.multi: dict[str, list[str]] = {}
        self.duplicates: list[str] = []
        for name, items in multi.lists():
            present = [v for v in items if v != ""]
            if name in REPEATABLE and present:
                self.multi[name] = present
                self.values[name] = present[0]
            elif len(items) > 1 and present:
                self.duplicates.append(name)
            elif present:
                self.values[name] = present[0]

    def getlist(self, name: str) -> list[str]:
        """Every value of a repeatable parameter."""
        return self.multi.get(name, [])

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def require(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            raise InvalidRequest(f"missing parameter: {name}")
        return value

    def reject_duplicates(self) -> None:
        """RFC 6749 §3.1: a parameter sent twice makes the request invalid."""
        if self.duplicates:
            raise InvalidRequest(f"parameter sent more than once: {self.duplicates[0]}")

    def __contains__(self, name: object) -> bool:
        return name in self.values


def query_params(request: Request) -> Params:
    return Params(request.args)


def is_form(request: Request) -> bool:
    return request.mimetype == "application/x-www-form-urlencoded"


def form_params(request: Request) -> Params:
    """The form body of a POST; any other content type is ``invalid_request``.

    werkzeug leaves ``request.form`` silently empty for other bodies, so the
    content type is checked first (RFC 6749 §3.2, §4.1.3).
    """
    if not is_form(request):
        shown = request.mimetype or "none"
        raise InvalidRequest(f"the body must be application/x-www-form-urlencoded, not {shown}")
    length = request.environ.get("CONTENT_LENGTH", "").strip()
    if length and not (length.isascii() and length.isdigit()):
        # werkzeug reads a negative or non-numeric Content-Length as 0 (RFC 9112 §6.3: 400).
        raise InvalidRequest("Content-Length must be a non-negative integer")
    try:
        # A chunked body is cut at MAX_BODY without an error by werkzeug: refuse it instead.
        if request.content_length is None and len(request.get_data()) >= MAX_BODY:
            raise RequestEntityTooLarge()
        return Params(request.form)
    except HTTPException as exc:
        raise _from_http(exc) from None


def _from_http(exc: HTTPException) -> OAuthError:
    code = exc.code or 400
    return InvalidRequest(exc.description or exc.name, status_code=code)


def json_response(
    data: Mapping[str, Any] | list[Any],
    status: int = 200,
    headers: Iterable[tuple[str, str]] = (),
    *,
    cache: bool = False,
) -> Response:
    """A JSON response; ``no-store`` unless ``cache`` (discovery and JWKS may be cached)."""
    body = json.dumps(data, separators=(",", ":"))
    response = Response(body, status=status, mimetype="application/json")
    h = response.headers
    if not cache:
        for name, value in NO_STORE:
            h[name] = value
    for name, value in headers:
        h[name] = value
    return response


def error_response(error: OAuthError) -> Response:
    """RFC 6749 §5.2 error body; 401s keep the challenge the error carries."""
    return json_response(error.to_dict(), error.status_code, error.headers.items())


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
