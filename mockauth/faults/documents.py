"""Faults that edit the real JSON answer (discovery, JWKS, userinfo) or the
keys behind it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._check import unknown_key
from ..config import SIGNING_ALGS
from ..errors import ConfigError
from ..http import Response, json_response
from .base import Builder, Fault, FaultContext, Real, check_fault, register_fault

__all__ = ["JsonPatch", "RotateKeys", "StripKids", "json_object", "replace_json"]


def json_object(response: Response) -> dict[str, Any] | None:
    """The response's JSON object, or ``None`` when it is not one (faults then pass it on)."""
    try:
        data = json.loads(response.get_data())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def replace_json(real: Response, data: Any) -> Response:
    """``real`` with ``data`` as its JSON body, its other headers kept."""
    headers = [(k, v) for k, v in real.headers.items() if k.lower() not in ("content-length",
               "content-type")]  # fmt: skip
    response = json_response(data, real.status_code, cache=True)
    for name, value in headers:
        response.headers[name] = value
    return response


@register_fault
@dataclass
class JsonPatch(Fault):
    """Edit the real JSON answer: ``set`` members, ``remove`` members.

    ``JsonPatch(set={"issuer": "https://other"})`` at ``discovery`` (issuer
    mismatch), ``JsonPatch(remove=["token_endpoint"])`` (a missing endpoint),
    ``JsonPatch(set={"keys": []})`` at ``jwks`` (an empty key set),
    ``JsonPatch(set={"sub": "someone-else"})`` at ``userinfo``.
    """

    set: Mapping[str, Any] = field(default_factory=dict)
    remove: Sequence[str] = ()
    kind: ClassVar[str] = "json"
    keys: ClassVar[tuple[str, ...]] = ("json",)
    schema: ClassVar[Mapping[str, Any]] = {
        "json": {
            "type": "object",
            "properties": {
                "set": {"type": "object"},
                "remove": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        }
    }
    priority: ClassVar[int] = 50

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        patch = data.pop("json")
        if not isinstance(patch, Mapping):
            raise ConfigError("json", f"expected a table with 'set' and/or 'remove', got {patch!r}")
        for name in patch:
            if name not in ("set", "remove"):
                raise unknown_key(str(name), ("set", "remove"), "json")
        values = patch.get("set", {})
        if not isinstance(values, Mapping):
            raise ConfigError("json.set", f"expected a table, got {values!r}")
        remove = patch.get("remove", [])
        if not isinstance(remove, list | tuple) or not all(isinstance(n, str) for n in remove):
            raise ConfigError("json.remove", f"expected a list of member names, got {remove!r}")
        return cls(dict(values), tuple(remove))

    def respond(self, ctx: FaultContext) -> Response:
        real = ctx.real()
        data = json_object(real)
        if data is None:
            return real
        data.update(self.set)
        for name in self.remove:
            data.pop(name, None)
        return replace_json(real, data)

    def describe(self) -> str:
        return f"json set {sorted(self.set)} remove {list(self.remove)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "set": dict(self.set), "remove": list(self.remove)}


@register_fault
@dataclass
class StripKids(Fault):
    """The JWKS with no ``kid`` on any key (OIDC conformance ``kid-absent-*``)."""

    kind: ClassVar[str] = "jwks_no_kid"
    keys: ClassVar[tuple[str, ...]] = ("jwks_no_kid",)
    schema: ClassVar[Mapping[str, Any]] = {"jwks_no_kid": {"type": "boolean"}}
    priority: ClassVar[int] = 32

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        data.pop("jwks_no_kid")
        return cls()

    def respond(self, ctx: FaultContext) -> Response:
        real = ctx.real()
        data = json_object(real)
        keys = data.get("keys") if data is not None else None
        if not isinstance(keys, list):
            return real  # not a JWK Set: nothing to strip
        for key in keys:
            if isinstance(key, dict):
                key.pop("kid", None)
        return replace_json(real, data)


@register_fault
@dataclass
class RotateKeys(Fault):
    """Rotate the signing keys, then answer with ``then`` (default: the real answer):
    the token is signed with a key the client has not seen yet.
    """

    alg: str | None = None
    then: Fault = field(default_factory=Real)
    kind: ClassVar[str] = "rotate_keys"
    keys: ClassVar[tuple[str, ...]] = ("rotate_keys", "alg", "then")
    schema: ClassVar[Mapping[str, Any]] = {
        "rotate_keys": {"type": "boolean"},
        "alg": {"enum": list(SIGNING_ALGS)},
        "then": {},
    }
    priority: ClassVar[int] = 20

    def __post_init__(self) -> None:
        if self.alg is not None and self.alg not in SIGNING_ALGS:
            raise ConfigError("alg", f"{self.alg!r} is not one of {', '.join(SIGNING_ALGS)}")
        check_fault(self.then, "then")

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        data.pop("rotate_keys")
        alg = data.pop("alg", None)
        then = build(data.pop("then"), "then") if "then" in data else Real()
        return cls(alg, then)

    def respond(self, ctx: FaultContext) -> Response:
        ctx.services.keys.rotate(self.alg)
        return self.then.respond(ctx)

    def check(self, endpoint: str | None, key: str) -> None:
        self.then.check(endpoint, key)

    def describe(self) -> str:
        return f"rotate keys{f' ({self.alg})' if self.alg else ''} then {self.then.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "alg": self.alg, "then": self.then.to_dict()}
