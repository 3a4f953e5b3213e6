"""Scripting the user's side of the device flow (RFC 8628) from a rule.

``approve_device = true`` (the default user) or ``= "alice"`` at the token
endpoint approves the polled device code before the real answer, so a rule's
``sequence`` can say "pending twice, then approved"; ``deny_device = true``
denies it. Pending, ``slow_down`` and ``expired_token`` are plain scripted
errors of the token endpoint.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ConfigError, MockauthError, ServerError
from ..http import Response
from .base import Builder, Fault, FaultContext, register_fault

__all__ = ["ApproveDevice", "DenyDevice"]


@register_fault
@dataclass
class ApproveDevice(Fault):
    """Approve the device code being polled (as ``user``, or the default user), then
    give the real answer: the tokens."""

    user: str | None = None
    kind: ClassVar[str] = "approve_device"
    keys: ClassVar[tuple[str, ...]] = ("approve_device",)
    schema: ClassVar[dict[str, Any]] = {
        "approve_device": {"oneOf": [{"type": "boolean", "const": True}, {"type": "string"}]},
    }
    priority: ClassVar[int] = 40
    approve: ClassVar[bool] = True

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        value = data.pop("approve_device")
        if value is True:
            return cls()
        if isinstance(value, str) and value:
            return cls(user=value)
        raise ConfigError("approve_device", f"true or a user, not {value!r}")

    def check(self, endpoint: str | None, key: str) -> None:
        if endpoint not in (None, "token"):
            raise ConfigError(key, f"decides a device at the token endpoint, not {endpoint}")

    def respond(self, ctx: FaultContext) -> Response:
        from ..device import decide_record

        s = ctx.services
        device = s.store.devices.items.get(ctx.params.get("device_code", ""))
        if device is not None and device.status == "pending":
            user = s.users.find(self.user) if self.user else None
            if self.user and user is None:  # the scenario's mistake: say so, spec-shaped
                raise ServerError(f"the scenario's approve_device names no user {self.user!r}")
            # Expired meanwhile: the real answer says so.
            with contextlib.suppress(MockauthError):
                decide_record(s, device, user, approve=self.approve)
        return ctx.real()

    def describe(self) -> str:
        return f"approve the device as {self.user}" if self.user else "approve the device"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "user": self.user}


@register_fault
@dataclass
class DenyDevice(ApproveDevice):
    """Deny the device code being polled, then give the real answer: ``access_denied``."""

    kind: ClassVar[str] = "deny_device"
    keys: ClassVar[tuple[str, ...]] = ("deny_device",)
    schema: ClassVar[dict[str, Any]] = {"deny_device": {"type": "boolean", "const": True}}
    approve: ClassVar[bool] = False

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        if data.pop("deny_device") is not True:
            raise ConfigError("deny_device", "must be true")
        return cls()

    def describe(self) -> str:
        return "deny the device"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}
