"""One operation of the admin API: its method, path, handler and schemas."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..http.router import Router

if TYPE_CHECKING:
    from ..http import Request, Response
    from .context import Context

__all__ = ["Route", "decoded", "path_below", "router"]


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
    def operation_id(self) -> str:
        name = self.handler.__name__.strip("_")
        return re.sub(r"_(\w)", lambda m: m[1].upper(), name)


def router(routes: Iterable[Route]) -> Router[list[Route]]:
    """The admin routes by path template (``/issuers/{issuer_id}/clients``), each
    with the operations (methods) it has.
    """
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        by_path.setdefault("/" + route.path.strip("/"), []).append(route)
    return Router(by_path.items())


def path_below(request: Request, prefix: str) -> str:
    """The raw path below ``prefix``, one trailing slash dropped. Raw: a
    percent-encoded ``/`` (``a%2Fb``) stays inside its segment.
    """
    path = request.raw_path[len(prefix) :] or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def decoded(params: Mapping[str, str]) -> dict[str, str]:
    """Path parameters, percent-decoded."""
    return {k: unquote(v, errors="replace") for k, v in params.items()}
