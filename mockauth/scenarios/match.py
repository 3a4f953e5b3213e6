"""Which requests a scenario rule (or a journal filter) applies to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .._check import did_you_mean
from ..errors import ConfigError
from ..registry import ENDPOINTS

__all__ = ["Call", "Match"]


class Call(Protocol):
    """What a match looks at: a journal entry (:class:`mockauth.journal.Call`)."""

    @property
    def endpoint(self) -> str | None: ...
    @property
    def method(self) -> str: ...
    @property
    def grant_type(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def params(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Match:
    """Which requests a rule applies to; every given criterion must hold.

    ``params`` compares any query or form parameter by exact value (secrets
    are compared before redaction is applied to the journal copy).
    """

    endpoint: str | None = None
    method: str | None = None
    grant_type: str | None = None
    client_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("endpoint", "method", "grant_type", "client_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(name, f"expected a string, got {value!r}")
        if self.endpoint is not None and self.endpoint not in ENDPOINTS:
            names = ENDPOINTS.names()
            raise ConfigError(
                "endpoint",
                f"{self.endpoint!r} is not one of {', '.join(names)}"
                + did_you_mean(self.endpoint, names),
            )
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())
        params = self.params
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            raise ConfigError("params", f"expected a table of strings, got {params!r}")
        object.__setattr__(self, "params", dict(params))

    def mismatches(self, call: Call, raw: Mapping[str, str] | None = None) -> list[str]:
        """Why ``call`` does not match (empty when it does)."""
        reasons = []
        if self.endpoint is not None and call.endpoint != self.endpoint:
            reasons.append(f"endpoint is {call.endpoint!r}, not {self.endpoint!r}")
        if self.method is not None and call.method != self.method:
            reasons.append(f"method is {call.method}, not {self.method}")
        if self.grant_type is not None and call.grant_type != self.grant_type:
            reasons.append(f"grant_type is {call.grant_type!r}, not {self.grant_type!r}")
        if self.client_id is not None and call.client_id != self.client_id:
            reasons.append(f"client_id is {call.client_id!r}, not {self.client_id!r}")
        values = raw if raw is not None else call.params
        for name, wanted in self.params.items():
            got = values.get(name)
            if got != wanted:
                reasons.append(f"{name} is {got!r}, not {wanted!r}")
        return reasons

    def __str__(self) -> str:
        parts = [
            f"{k}={v!r}"
            for k, v in (
                ("endpoint", self.endpoint), ("method", self.method),
                ("grant_type", self.grant_type), ("client_id", self.client_id),
            )
            if v is not None
        ]  # fmt: skip
        parts += [f"{k}={v!r}" for k, v in self.params.items()]
        return "(" + ", ".join(parts) + ")" if parts else "(any request)"
