"""Request parameters (RFC 6749 §3.1/§3.2): parameters without a value count
as absent, unknown ones are ignored and none may appear twice.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from ..errors import InvalidRequest, OAuthError
from .message import BodyError, Request

__all__ = [
    "REPEATABLE",
    "Params",
    "bearer_token",
    "form_params",
    "is_form",
    "json_object",
    "query_params",
]


#: Parameters that may repeat: RFC 8707 §2 lets a client name several resources,
#: RFC 8693 §2.1 several audiences.
REPEATABLE = frozenset({"resource", "audience"})


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


def json_object(request: Request, error: type[OAuthError] = InvalidRequest) -> dict[str, Any]:
    """The JSON object a request carries (``application/json``), or ``error``
    saying what is wrong with it (RFC 7591 §3.1 bodies).
    """
    try:
        raw = request.get_data()  # a refused body (413) is said first
    except BodyError as exc:
        raise error(exc.message, status_code=exc.status) from None
    if request.mimetype != "application/json":
        shown = request.mimetype or "none"
        raise error(f"the body must be a JSON object (application/json), not {shown}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise error("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise error("the body must be a JSON object")
    return data


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), if any."""
    scheme, _, value = (request.headers.get("Authorization") or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def form_params(request: Request) -> Params:
    """The form body of a POST; any other content type is ``invalid_request``.

    werkzeug leaves ``request.form`` silently empty for other bodies, so the
    content type is checked first (RFC 6749 §3.2, §4.1.3).
    """
    if not is_form(request):
        shown = request.mimetype or "none"
        raise InvalidRequest(f"the body must be application/x-www-form-urlencoded, not {shown}")
    try:
        return Params(request.form)
    except BodyError as exc:
        raise InvalidRequest(exc.message, status_code=exc.status) from None
