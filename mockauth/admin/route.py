"""One operation of the admin API: its method, path, handler and schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from ..http import Request, Response
    from .context import Context

__all__ = ["Route", "match", "segments_of"]


@dataclass(frozen=True)
class Route:
    """One operation of the API; the OpenAPI description is made from these."""

    method: str
    path: str  # below ADMIN_PREFIX, with {parameters}
    handler: Callable[[Context], Response]
    summary: str
    tag: str
    body: dict[str, Any] | None = None  # JSON Schema of the request body
    body_required: bool = False
    response: dict[str, Any] | None = None  # JSON Schema of the answer; None: 204
    status: int = 200
    auth: bool = True
    query: tuple[str, ...] = ()
    description: str = ""
    body_types: tuple[str, ...] = ("application/json",)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))

    @property
    def operation_id(self) -> str:
        name = self.handler.__name__.strip("_")
        return re.sub(r"_(\w)", lambda m: m[1].upper(), name)


def match(route: Route, segments: tuple[str, ...]) -> dict[str, str] | None:
    pattern = route.segments
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for want, got in zip(pattern, segments, strict=True):
        if want.startswith("{"):
            if not got:
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


def segments_of(request: Request) -> tuple[str, ...]:
    """The path below ``ADMIN_PREFIX``, split before percent-decoding (``a%2Fb`` is one id)."""
    parts = [unquote(part, errors="replace") for part in request.raw_path.split("/")]
    parts = parts[2:]  # "", "_mockauth"
    if parts and parts[-1] == "":
        parts.pop()  # one trailing slash is fine
    return tuple(parts)
