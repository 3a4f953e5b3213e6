"""Faults: small values that decide how a scripted request is answered.

Each fault gets an :class:`Exchange` (the request, the endpoint and a way to
produce the real answer) and returns a response. Faults compose: a
:class:`Delay` wraps another outcome; token and JSON faults edit the real
answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .errors import ConfigError, error_class
from .http import Request, Response, html_page, json_response

if TYPE_CHECKING:
    from .provider import Provider

__all__ = [
    "ConnectionDropped",
    "Delay",
    "Drop",
    "Exchange",
    "Fault",
    "HttpFault",
    "JsonPatch",
    "OAuthErrorFault",
    "Real",
    "RotateKeys",
    "TokenFault",
]


class ConnectionDropped(Exception):
    """Raised through the server or transport to drop the connection without a response."""


@dataclass
class Exchange:
    """One scripted request: what a fault may look at and call."""

    provider: Provider
    endpoint: str
    request: Request
    params: Mapping[str, str]
    _real: Callable[[], Response]
    _cached: Response | None = field(default=None, init=False)

    def real(self) -> Response:
        """The answer the provider would give without the rule (computed once)."""
        if self._cached is None:
            self._cached = self._real()
        return self._cached


class Fault:
    """Base class of faults."""

    kind = "fault"

    def respond(self, exchange: Exchange) -> Response:
        raise NotImplementedError  # pragma: no cover - every subclass answers

    def describe(self) -> str:
        return self.kind

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


class Real(Fault):
    """The real answer (a step of a sequence: ``[HttpFault(503), Real()]``)."""

    kind = "real"

    def respond(self, exchange: Exchange) -> Response:
        return exchange.real()


@dataclass
class OAuthErrorFault(Fault):
    """An OAuth error as the endpoint would send it: status, ``WWW-Authenticate``,
    ``Cache-Control: no-store``; at ``authorize`` a redirect to the client.
    """

    error: str
    status: int | None = None
    description: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    kind = "error"

    def respond(self, exchange: Exchange) -> Response:
        exc = error_class(self.error)(self.description, status_code=self.status)
        if exchange.endpoint == "authorize":
            from .endpoints.authorize import error_redirect

            return error_redirect(exchange.provider, exchange.request, exc)
        if exchange.endpoint == "userinfo":
            if self.status is None and self.error not in ("invalid_token", "insufficient_scope"):
                exc.status_code = 400  # type: ignore[misc]
            challenge = f'Bearer realm="mockauth", error="{exc.error}"'
            if exc.description:
                challenge += f', error_description="{exc.description}"'
            exc.headers["WWW-Authenticate"] = challenge
        elif exc.error == "invalid_client" and "Authorization" in exchange.request.headers:
            exc.headers["WWW-Authenticate"] = 'Basic realm="mockauth"'
        exc.headers.update(self.headers)
        return json_response(exc.to_dict(), exc.status_code, exc.headers.items())

    def describe(self) -> str:
        return f"error {self.error}" + (f" ({self.status})" if self.status else "")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "error": self.error, "status": self.status,
                "description": self.description, "headers": dict(self.headers)}  # fmt: skip


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
    kind = "http"

    def respond(self, exchange: Exchange) -> Response:
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
    page = html_page(f"{status} Bad Gateway", "The upstream server did not answer.", status)
    return HttpFault(status, page.get_data(as_text=True), content_type="text/html")


@dataclass
class Delay(Fault):
    """Wait ``seconds`` of real time, then give ``then`` (default: the real answer)."""

    seconds: float
    then: Fault = field(default_factory=Real)
    kind = "delay"

    def respond(self, exchange: Exchange) -> Response:
        time.sleep(self.seconds)
        return self.then.respond(exchange)

    def describe(self) -> str:
        return f"delay {self.seconds}s then {self.then.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seconds": self.seconds, "then": self.then.to_dict()}


@dataclass
class Drop(Fault):
    """Close the connection without a response. In-process transports raise the
    client library's own connection error instead.
    """

    kind = "drop"

    def respond(self, exchange: Exchange) -> Response:
        raise ConnectionDropped(f"mockauth dropped the {exchange.endpoint} request")


@dataclass
class Truncated(Fault):
    """The real answer with its body cut short (half of it): JSON that does not parse."""

    kind = "truncated"

    def respond(self, exchange: Exchange) -> Response:
        real = exchange.real()
        data = real.get_data()
        cut = Response(data[: len(data) // 2], status=real.status_code)
        for name, value in real.headers.items():
            if name.lower() != "content-length":
                cut.headers[name] = value
        return cut


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
    kind = "json"

    def respond(self, exchange: Exchange) -> Response:
        real = exchange.real()
        try:
            data = json.loads(real.get_data())
        except ValueError:
            return real
        if not isinstance(data, dict):
            return real
        data.update(self.set)
        for name in self.remove:
            data.pop(name, None)
        return _replace_json(real, data)

    def describe(self) -> str:
        return f"json set {sorted(self.set)} remove {list(self.remove)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "set": dict(self.set), "remove": list(self.remove)}


@dataclass
class StripKids(Fault):
    """The JWKS with no ``kid`` on any key (OIDC conformance ``kid-absent-*``)."""

    kind = "jwks_no_kid"

    def respond(self, exchange: Exchange) -> Response:
        real = exchange.real()
        data = json.loads(real.get_data())
        for key in data.get("keys", []):
            key.pop("kid", None)
        return _replace_json(real, data)


@dataclass
class RotateKeys(Fault):
    """Rotate the signing keys, then answer with ``then`` (default: the real answer):
    the token is signed with a key the client has not seen yet.
    """

    alg: str | None = None
    then: Fault = field(default_factory=Real)
    kind = "rotate_keys"

    def respond(self, exchange: Exchange) -> Response:
        exchange.provider.rotate_keys(self.alg)
        return self.then.respond(exchange)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "alg": self.alg, "then": self.then.to_dict()}


#: The token forgeries :class:`TokenFault` knows (see :mod:`mockauth.forge`).
TOKEN_FAULTS = (
    "expired", "not_yet_valid", "issued_in_future", "wrong_iss", "wrong_aud", "wrong_sub",
    "wrong_azp", "missing_claim", "set_claim", "bad_signature", "unknown_kid", "no_kid",
    "alg_none", "hs256_public_key", "wrong_at_hash", "missing_at_hash", "wrong_c_hash",
    "missing_c_hash", "wrong_nonce", "missing_nonce",
)  # fmt: skip


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
    kind = "token"

    def __post_init__(self) -> None:
        if self.fault not in TOKEN_FAULTS:
            raise ConfigError("token", f"{self.fault!r} is not one of {', '.join(TOKEN_FAULTS)}")
        if self.target not in ("id_token", "access_token", "both"):
            raise ConfigError("target", "must be id_token, access_token or both")
        if self.fault in ("missing_claim", "set_claim") and not self.claim:
            raise ConfigError("claim", f"{self.fault} needs the claim's name")

    def respond(self, exchange: Exchange) -> Response:
        from .forge import forge

        real = exchange.real()
        names = ("id_token", "access_token") if self.target == "both" else (self.target,)

        def edit(token: str) -> str:
            return forge(exchange.provider, token, self.fault, claim=self.claim, value=self.value)

        if exchange.endpoint == "authorize":
            return _edit_redirect(real, names, edit)
        try:
            data = json.loads(real.get_data())
        except ValueError:
            return real
        if not isinstance(data, dict):
            return real
        changed = False
        for name in names:
            if isinstance(data.get(name), str):
                data[name] = edit(data[name])
                changed = True
        return _replace_json(real, data) if changed else real

    def describe(self) -> str:
        return f"token {self.fault} on {self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "fault": self.fault, "target": self.target,
                "claim": self.claim, "value": self.value}  # fmt: skip


def _replace_json(real: Response, data: Any) -> Response:
    headers = [(k, v) for k, v in real.headers.items() if k.lower() not in ("content-length",
               "content-type")]  # fmt: skip
    response = json_response(data, real.status_code, cache=True)
    for name, value in headers:
        response.headers[name] = value
    return response


def _edit_redirect(real: Response, names: Sequence[str], edit: Callable[[str], str]) -> Response:
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    location = real.headers.get("Location")
    if location is None:
        return real
    parts = urlsplit(location)
    in_fragment = bool(parts.fragment)
    pairs = parse_qsl(parts.fragment if in_fragment else parts.query, keep_blank_values=True)
    pairs = [(k, edit(v) if k in names else v) for k, v in pairs]
    encoded = urlencode(pairs)
    parts = parts._replace(fragment=encoded) if in_fragment else parts._replace(query=encoded)
    real.headers["Location"] = urlunsplit(parts)
    return real


def build(spec: Mapping[str, Any] | str | Fault, key: str = "") -> Fault:
    """A fault from plain data (scenario files, the admin API).

    ``"real"``, ``{"error": "invalid_grant"}``, ``{"status": 503, "headers": {...}}``,
    ``{"delay": 2.0}``, ``{"drop": true}``, ``{"token": "expired"}``,
    ``{"json": {"set": {...}}}``, ``{"rotate_keys": true}``, ``{"truncated": true}``,
    ``{"jwks_no_kid": true}``.
    """
    if isinstance(spec, Fault):
        return spec
    if spec == "real":
        return Real()
    if not isinstance(spec, Mapping):
        raise ConfigError(key, f"expected a fault (a table or 'real'), got {spec!r}")
    data = dict(spec)
    then: Fault | None = None
    if "then" in data:
        then = build(data.pop("then"), f"{key}.then" if key else "then")
    try:
        fault = _build_one(data, then)
    except TypeError as exc:
        raise ConfigError(key, f"bad fault: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{key}.{exc.key}" if key else exc.key, exc.message) from None
    return fault


def _build_one(data: dict[str, Any], then: Fault | None) -> Fault:
    if "delay" in data:
        seconds = data.pop("delay")
        _no_more(data)
        return Delay(float(seconds), then or Real())
    if then is not None:
        raise ConfigError("then", "only 'delay' and 'rotate_keys' take 'then'")
    if data.pop("drop", False):
        _no_more(data)
        return Drop()
    if data.pop("truncated", False):
        _no_more(data)
        return Truncated()
    if data.pop("jwks_no_kid", False):
        _no_more(data)
        return StripKids()
    if data.pop("rotate_keys", False):
        alg = data.pop("alg", None)
        _no_more(data)
        return RotateKeys(alg)
    if "token" in data:
        return TokenFault(
            data.pop("token"),
            data.pop("target", "id_token"),
            data.pop("claim", None),
            data.pop("value", None),
            **_no_more(data),
        )
    if "json" in data:
        patch = data.pop("json")
        _no_more(data)
        if not isinstance(patch, Mapping):
            raise ConfigError("json", "expected a table with 'set' and/or 'remove'")
        return JsonPatch(patch.get("set", {}), tuple(patch.get("remove", ())))
    if "error" in data:
        return OAuthErrorFault(
            data.pop("error"),
            data.pop("status", None),
            data.pop("description", None),
            data.pop("headers", {}),
            **_no_more(data),
        )
    if "status" in data:
        return HttpFault(
            int(data.pop("status")),
            data.pop("body", None),
            data.pop("headers", {}),
            data.pop("content_type", None),
            **_no_more(data),
        )
    raise ConfigError("", f"no fault in {sorted(data) or 'an empty table'}")


def _no_more(data: Mapping[str, Any]) -> dict[str, Any]:
    if data:
        raise ConfigError(next(iter(data)), "unknown key for this kind of fault")
    return {}


def outcome(value: Fault | int | str | Mapping[str, Any]) -> Fault:
    """One step of a sequence: a fault, an HTTP status (``503``), ``"real"``, an
    OAuth error code (``"invalid_grant"``) or a fault table.
    """
    if isinstance(value, Fault):
        return value
    if isinstance(value, bool):
        raise ConfigError("sequence", f"{value!r} is not an outcome")
    if isinstance(value, int):
        return HttpFault(value)
    if isinstance(value, str):
        return Real() if value == "real" else OAuthErrorFault(value)
    return build(value, "sequence")
