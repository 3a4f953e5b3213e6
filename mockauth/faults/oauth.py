"""Scripted OAuth errors, rendered exactly as the endpoint renders its own."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .._check import did_you_mean, join
from ..errors import ConfigError, error_class, scripted_status
from ..registry import ENDPOINTS
from .base import Builder, Fault, FaultContext, register_fault
from .http import check_headers, check_status

if TYPE_CHECKING:
    from ..http import Response

__all__ = ["OAuthErrorFault", "error_codes"]

# RFC 6749 §5.2: the characters an error code may use.
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


def error_codes(endpoint: str | None) -> frozenset[str]:
    """The error codes registered for ``endpoint`` (for any endpoint: all of them)."""
    if endpoint is not None:
        found = ENDPOINTS.get(endpoint)
        return found.error_codes if found is not None else frozenset()
    return frozenset(code for ep in ENDPOINTS for code in ep.error_codes)


@register_fault
@dataclass
class OAuthErrorFault(Fault):
    """An OAuth error as the endpoint itself would send it: its status, challenge
    and ``Cache-Control: no-store``; at ``authorize`` a redirect to the client.

    ``error`` must be a code the endpoint may answer with (RFC 6749 §5.2,
    §4.1.2.1, RFC 6750 §3.1, ...), so a typo is caught; an extension code
    (RFC 6749 §8.5) is allowed with ``extension=True``.
    """

    error: str
    status: int | None = None
    description: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    extension: bool = False
    kind: ClassVar[str] = "error"
    keys: ClassVar[tuple[str, ...]] = ("error", "status", "description", "headers", "extension")
    schema: ClassVar[Mapping[str, Any]] = {
        "error": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "description": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "extension": {"type": "boolean"},
    }
    priority: ClassVar[int] = 60
    #: A bare string step of a sequence may also have meant "real".
    _step: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.error, str) or not _ERROR_CODE.fullmatch(self.error):
            raise ConfigError("error", f"expected an OAuth error code, got {self.error!r}")
        if self.status is not None:
            check_status(self.status)
        if self.description is not None and not isinstance(self.description, str):
            raise ConfigError("description", f"expected a string, got {self.description!r}")
        check_headers(self.headers)
        if not isinstance(self.extension, bool):
            raise ConfigError("extension", f"expected true or false, got {self.extension!r}")

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        return cls(
            data.pop("error"), data.pop("status", None), data.pop("description", None),
            data.pop("headers", {}), data.pop("extension", False),
        )  # fmt: skip

    def check(self, endpoint: str | None, key: str) -> None:
        if self.extension:
            return
        known = error_codes(endpoint)
        if self.error in known:
            return
        where = f"the {endpoint} endpoint" if endpoint else "any endpoint"
        candidates = sorted(known) + (["real"] if self._step else [])
        raise ConfigError(
            key if self._step else join(key, "error"),
            f"{self.error!r} is not an error code of {where}{did_you_mean(self.error, candidates)}"
            " (an extension code, RFC 6749 §8.5, needs extension = true)",
        )

    def respond(self, ctx: FaultContext) -> Response:
        status = self.status or scripted_status(self.error, ctx.style)
        raise error_class(self.error)(self.description, status_code=status, headers=self.headers)

    def describe(self) -> str:
        return f"error {self.error}" + (f" ({self.status})" if self.status else "")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "error": self.error, "status": self.status,
                "description": self.description, "headers": dict(self.headers),
                "extension": self.extension}  # fmt: skip
