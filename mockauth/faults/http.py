"""Faults of the HTTP exchange itself: any status and body, delays, dropped
connections and truncated answers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

from ..errors import ConfigError
from ..http import Response, html_page
from .base import Builder, ConnectionDropped, Fault, FaultContext, Real, check_fault, register_fault

__all__ = ["MAX_DELAY", "Delay", "Drop", "HttpFault", "Truncated", "proxy_error", "rate_limited"]

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}


def check_status(status: object) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ConfigError("status", f"expected an HTTP status code (100-599), got {status!r}")


def check_headers(headers: object) -> None:
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError("headers", f"expected a table of strings, got {headers!r}")


@register_fault
@dataclass
class HttpFault(Fault):
    """Any HTTP answer: a status with headers and a body (bytes, text or JSON).

    ``HttpFault(503)``, ``HttpFault(429, headers={"Retry-After": "30"})``,
    ``HttpFault(200, body="")`` (an empty 200), ``HttpFault(200, body="<html>",
    content_type="text/html")``.
    """

    status: int = 500
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    kind: ClassVar[str] = "http"
    keys: ClassVar[tuple[str, ...]] = ("status", "body", "headers", "content_type")
    schema: ClassVar[Mapping[str, Any]] = {
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "body": {},
        "headers": _STRINGS,
        "content_type": {"type": "string"},
    }
    priority: ClassVar[int] = 70

    def __post_init__(self) -> None:
        check_status(self.status)
        if self.body is not None and not isinstance(self.body, bytes | str | Mapping | list):
            raise ConfigError("body", f"expected text, bytes or JSON, got {self.body!r}")
        check_headers(self.headers)
        if self.content_type is not None and not isinstance(self.content_type, str):
            raise ConfigError("content_type", f"expected a string, got {self.content_type!r}")

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        return cls(
            data.pop("status"), data.pop("body", None), data.pop("headers", {}),
            data.pop("content_type", None),
        )  # fmt: skip

    def respond(self, ctx: FaultContext) -> Response:
        body = self.body
        content_type = self.content_type
        if isinstance(body, Mapping | list):
            body = json.dumps(body)
            content_type = content_type or "application/json"
        if body is None:
            body = ""
        response = Response(body, status=self.status, content_type=content_type or "text/plain")
        if content_type is None and not body:
            del response.headers["Content-Type"]
        for name, value in self.headers.items():
            response.headers[name] = value
        return response

    def describe(self) -> str:
        return f"HTTP {self.status}"

    def to_dict(self) -> dict[str, Any]:
        body = self.body.decode("latin-1") if isinstance(self.body, bytes) else self.body
        return {"kind": self.kind, "status": self.status, "body": body,
                "headers": dict(self.headers), "content_type": self.content_type}  # fmt: skip


def rate_limited(retry_after: int = 30) -> HttpFault:
    """429 Too Many Requests with ``Retry-After`` (RFC 6585 §4)."""
    return HttpFault(429, {"error": "rate_limited"}, headers={"Retry-After": str(retry_after)})


def proxy_error(status: int = 502) -> HttpFault:
    """An HTML error page from a reverse proxy in front of the provider."""
    check_status(status)
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:  # a status without a registered reason phrase
        title = str(status)
    page = html_page(title, "The upstream server did not answer.", status)
    return HttpFault(status, page.get_data(as_text=True), content_type="text/html")


#: The longest scripted delay: long enough for any client timeout, short enough
#: that a typo cannot hold a server thread for days.
MAX_DELAY = 600


@register_fault
@dataclass
class Delay(Fault):
    """Wait ``seconds`` of real time, then give ``then`` (default: the real answer)."""

    seconds: float
    then: Fault = field(default_factory=Real)
    kind: ClassVar[str] = "delay"
    keys: ClassVar[tuple[str, ...]] = ("delay", "then")
    schema: ClassVar[Mapping[str, Any]] = {
        "delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY},
        "then": {},
    }
    priority: ClassVar[int] = 10

    def __post_init__(self) -> None:
        seconds = self.seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ConfigError("delay", f"expected a number of seconds, got {seconds!r}")
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_DELAY):
            raise ConfigError("delay", f"must be 0 to {MAX_DELAY} seconds, got {seconds!r}")
        check_fault(self.then, "then")

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        seconds = data.pop("delay")
        if "then" in data:
            then = build(data.pop("then"), "then")
            if data:
                raise ConfigError(next(iter(data)), "cannot stand beside 'then'; move it there")
        else:
            then = build(data, "") if data else Real()
        return cls(seconds, then)

    def respond(self, ctx: FaultContext) -> Response:
        time.sleep(self.seconds)
        return self.then.respond(ctx)

    def check(self, endpoint: str | None, key: str) -> None:
        self.then.check(endpoint, key)

    def describe(self) -> str:
        return f"delay {self.seconds}s then {self.then.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seconds": self.seconds, "then": self.then.to_dict()}


@register_fault
@dataclass
class Drop(Fault):
    """Close the connection without a response. In-process transports raise the
    client library's own connection error instead.
    """

    kind: ClassVar[str] = "drop"
    keys: ClassVar[tuple[str, ...]] = ("drop",)
    schema: ClassVar[Mapping[str, Any]] = {"drop": {"type": "boolean"}}
    priority: ClassVar[int] = 30

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        data.pop("drop")
        return cls()

    def respond(self, ctx: FaultContext) -> Response:
        raise ConnectionDropped(f"mockauth dropped the {ctx.endpoint} request")


@register_fault
@dataclass
class Truncated(Fault):
    """The real answer with its body cut short (half of it): JSON that does not parse."""

    kind: ClassVar[str] = "truncated"
    keys: ClassVar[tuple[str, ...]] = ("truncated",)
    schema: ClassVar[Mapping[str, Any]] = {"truncated": {"type": "boolean"}}
    priority: ClassVar[int] = 31

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        data.pop("truncated")
        return cls()

    def respond(self, ctx: FaultContext) -> Response:
        real = ctx.real()
        data = real.get_data()
        cut = Response(data[: len(data) // 2], status=real.status_code)
        for name, value in real.headers.items():
            if name.lower() != "content-length":
                cut.headers[name] = value
        return cut
