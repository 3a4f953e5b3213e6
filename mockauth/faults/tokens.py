"""Forged tokens in the endpoint's real answer (:mod:`mockauth.forge`)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ConfigError
from ..forge import FORGERIES, TOKEN_FAULTS, forge, rebind_at_hash
from ..http import Response
from .base import Builder, Fault, FaultContext, register_fault
from .documents import json_object, replace_json

__all__ = ["TARGETS", "TokenFault"]

#: Which token of the answer a forgery edits.
TARGETS = ("id_token", "access_token", "both")


@register_fault
@dataclass
class TokenFault(Fault):
    """Forge the tokens the endpoint issues (the real answer, edited).

    ``target`` names the token: ``id_token`` (default), ``access_token``, or
    ``both``. ``claim`` / ``value`` serve ``missing_claim`` and ``set_claim``
    and override the value the wrong_* kinds use.
    """

    fault: str
    target: str = "id_token"
    claim: str | None = None
    value: Any = None
    kind: ClassVar[str] = "token"
    keys: ClassVar[tuple[str, ...]] = ("token", "target", "claim", "value")
    schema: ClassVar[Mapping[str, Any]] = {
        "token": {"enum": list(TOKEN_FAULTS)},
        "target": {"enum": list(TARGETS)},
        "claim": {"type": "string"},
        "value": {},
    }
    priority: ClassVar[int] = 40

    def __post_init__(self) -> None:
        forgery = FORGERIES.get(self.fault) if isinstance(self.fault, str) else None
        if forgery is None:
            raise ConfigError("token", f"{self.fault!r} is not one of {', '.join(TOKEN_FAULTS)}")
        if self.target not in TARGETS:
            raise ConfigError("target", "must be id_token, access_token or both")
        if forgery.needs_claim and not self.claim:
            raise ConfigError("claim", f"{self.fault} needs the claim's name")
        if self.target == "access_token" and forgery.id_token_only:
            raise ConfigError("target", f"{self.fault} changes ID-token claims only")

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        return cls(
            data.pop("token"), data.pop("target", "id_token"), data.pop("claim", None),
            data.pop("value", None),
        )  # fmt: skip

    def respond(self, ctx: FaultContext) -> Response:
        real = ctx.real()
        names = ("id_token", "access_token") if self.target == "both" else (self.target,)

        def edit(token: str) -> str:
            return forge(ctx.services, token, self.fault, claim=self.claim, value=self.value)

        if ctx.endpoint == "authorize":
            return _edit_redirect(real, names, edit)
        data = json_object(real)
        if data is None:
            return real
        changed = False
        # The access token first: a genuine ID token's at_hash follows the forged one.
        for name in sorted(names):
            if isinstance(data.get(name), str):
                original = data[name]
                data[name] = edit(original)
                changed = True
                if name == "access_token" and isinstance(data.get("id_token"), str):
                    data["id_token"] = rebind_at_hash(
                        ctx.services, data["id_token"], original, data[name]
                    )
        return replace_json(real, data) if changed else real

    def describe(self) -> str:
        return f"token {self.fault} on {self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "fault": self.fault, "target": self.target,
                "claim": self.claim, "value": self.value}  # fmt: skip


def _edit_redirect(real: Response, names: Sequence[str], edit: Callable[[str], str]) -> Response:
    location = real.headers.get("Location")
    if location is None:
        return _edit_form_post(real, names, edit)
    parts = urlsplit(location)
    in_fragment = bool(parts.fragment)
    pairs = parse_qsl(parts.fragment if in_fragment else parts.query, keep_blank_values=True)
    pairs = [(k, edit(v) if k in names else v) for k, v in pairs]
    encoded = urlencode(pairs)
    parts = parts._replace(fragment=encoded) if in_fragment else parts._replace(query=encoded)
    real.headers["Location"] = urlunsplit(parts)
    return real


def _edit_form_post(real: Response, names: Sequence[str], edit: Callable[[str], str]) -> Response:
    """The same edit in a ``response_mode=form_post`` page (its hidden inputs)."""
    if real.mimetype != "text/html":
        return real

    def field(m: re.Match[str]) -> str:
        if html.unescape(m[2]) not in names:
            return m[0]
        return f"{m[1]}{html.escape(edit(html.unescape(m[3])))}{m[4]}"

    body = real.get_data(as_text=True)
    edited = re.sub(r'(<input type="hidden" name="([^"]*)" value=")([^"]*)(">)', field, body)
    if edited != body:
        real.set_data(edited)
    return real
