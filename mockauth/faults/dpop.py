"""Scripting DPoP server nonces (RFC 9449 §8, §9) from a rule.

``dpop_nonce = true`` at the token endpoint, PAR, userinfo or a mock
protected resource makes a DPoP proof carry the provider's current nonce: one
without it gets ``use_dpop_nonce`` with the nonce in ``DPoP-Nonce`` (at a
resource, userinfo included, a 401 with a ``DPoP`` challenge); one with it,
or a request with no proof at all (a client that does not use DPoP), gets the
real answer. The nonces are the
provider's own, renewed every ``dpop.nonce_ttl`` seconds of provider time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ConfigError, ErrorStyle, InvalidToken
from ..http import Response
from .base import Builder, Fault, FaultContext, register_fault

__all__ = ["RequireDpopNonce"]

_ENDPOINTS = ("token", "par", "userinfo", "resource")


@register_fault
@dataclass
class RequireDpopNonce(Fault):
    """A DPoP proof must carry the provider's current nonce (RFC 9449 §8)."""

    kind: ClassVar[str] = "dpop_nonce"
    keys: ClassVar[tuple[str, ...]] = ("dpop_nonce",)
    schema: ClassVar[dict[str, Any]] = {"dpop_nonce": {"type": "boolean", "const": True}}
    priority: ClassVar[int] = 40

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        if data.pop("dpop_nonce") is not True:
            raise ConfigError("dpop_nonce", "must be true")
        return cls()

    def check(self, endpoint: str | None, key: str) -> None:
        if endpoint not in (None, *_ENDPOINTS):
            raise ConfigError(
                key, f"asks for DPoP nonces at {', '.join(_ENDPOINTS)}, not {endpoint}"
            )

    def respond(self, ctx: FaultContext) -> Response:
        from .. import jose
        from ..dpop import nonce_error

        proof = ctx.request.headers.get("DPoP")
        if not proof:
            return ctx.real()
        try:
            nonce = jose.unverified_claims(proof).get("nonce")
        except InvalidToken:
            return ctx.real()  # a malformed proof: the real answer says so
        s = ctx.services
        if s.store.dpop_nonces.valid(nonce, s.clock.now(), s.config.dpop.nonce_ttl):
            return ctx.real()
        raise nonce_error(s, resource=ctx.style is ErrorStyle.BEARER)

    def describe(self) -> str:
        return "require the provider's DPoP nonce"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}
