"""Faults: small values that decide how a scripted request is answered.

Each fault gets an :class:`Exchange` (the request, the endpoint and a way to
produce the real answer) and returns a response. Faults compose: a
:class:`Delay` wraps another outcome; token and JSON faults edit the real
answer.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
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
    "StripKids",
    "TokenFault",
    "Truncated",
    "build",
    "outcome",
    "proxy_error",
    "rate_limited",
]


class ConnectionDropped(Exception):
    """Raised through the server or transport to drop the connection without a response."""


# RFC 6749 §5.2: the characters an error code may use.
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


def _check_status(status: object) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ConfigError("status", f"expected an HTTP status code (100-599), got {status!r}")


def _check_headers(headers: object) -> None:
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError("headers", f"expected a table of strings, got {headers!r}")


def _check_fault(value: object, key: str) -> None:
    if not isinstance(value, Fault):
        raise ConfigError(key, f"expected a fault, got {value!r}")


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


class Fault(ABC):
    """Base class of faults: a fault answers one scripted exchange."""

    kind = "fault"

    @abstractmethod
    def respond(self, exchange: Exchange) -> Response:
        """The response to send instead of (or made from) the real answer."""

    def describe(self) -> str:
        return self.kind

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass
class Real(Fault):
    """The real answer (a step of a sequence: ``[HttpFault(503), Real()]``)."""

    kind = "real"

    def respond(self, exchange: Exchange) -> Response:
        return exchange.real()


# RFC 6749 §5.2: 400 unless specified otherwise; RFC 6750 §3.1 for bearer resources.
_STATUS = {"invalid_client": 401, "server_error": 500, "temporarily_unavailable": 503}
_BEARER_STATUS = {**_STATUS, "invalid_client": 400, "invalid_token": 401, "insufficient_scope": 403}


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

    def __post_init__(self) -> None:
        if not isinstance(self.error, str) or not _ERROR_CODE.fullmatch(self.error):
            raise ConfigError("error", f"expected an OAuth error code, got {self.error!r}")
        if self.status is not None:
            _check_status(self.status)
        if self.description is not None and not isinstance(self.description, str):
            raise ConfigError("description", f"expected a string, got {self.description!r}")
        _check_headers(self.headers)

    def respond(self, exchange: Exchange) -> Response:
        bearer = exchange.endpoint == "userinfo"
        status = self.status or (_BEARER_STATUS if bearer else _STATUS).get(self.error, 400)
        exc = error_class(self.error)(self.description, status_code=status)
        if exchange.endpoint == "authorize":
            from .endpoints.authorize import error_redirect

            return error_redirect(exchange.provider, exchange.request, exc)
        if bearer:
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

    def __post_init__(self) -> None:
        _check_status(self.status)
        if self.body is not None and not isinstance(self.body, bytes | str | Mapping | list):
            raise ConfigError("body", f"expected text, bytes or JSON, got {self.body!r}")
        _check_headers(self.headers)
        if self.content_type is not None and not isinstance(self.content_type, str):
            raise ConfigError("content_type", f"expected a string, got {self.content_type!r}")

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
    _check_status(status)
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:  # a status without a registered reason phrase
        title = str(status)
    page = html_page(title, "The upstream server did not answer.", status)
    return HttpFault(status, page.get_data(as_text=True), content_type="text/html")


#: The longest scripted delay: long enough for any client timeout, short enough
#: that a typo cannot hold a server thread for days.
MAX_DELAY = 600


@dataclass
class Delay(Fault):
    """Wait ``seconds`` of real time, then give ``then`` (default: the real answer)."""

    seconds: float
    then: Fault = field(default_factory=Real)
    kind = "delay"

    def __post_init__(self) -> None:
        seconds = self.seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ConfigError("delay", f"expected a number of seconds, got {seconds!r}")
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_DELAY):
            raise ConfigError("delay", f"must be 0 to {MAX_DELAY} seconds, got {seconds!r}")
        _check_fault(self.then, "then")

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
        data = _json_object(real)
        if data is None:
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
        data = _json_object(real)
        keys = data.get("keys") if data is not None else None
        if not isinstance(keys, list):
            return real  # not a JWK Set: nothing to strip
        for key in keys:
            if isinstance(key, dict):
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

    def __post_init__(self) -> None:
        if self.alg is not None and not isinstance(self.alg, str):
            raise ConfigError("alg", f"expected an algorithm name, got {self.alg!r}")
        _check_fault(self.then, "then")

    def respond(self, exchange: Exchange) -> Response:
        exchange.provider.rotate_keys(self.alg)
        return self.then.respond(exchange)

    def describe(self) -> str:
        return f"rotate keys{f' ({self.alg})' if self.alg else ''} then {self.then.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "alg": self.alg, "then": self.then.to_dict()}


#: The token forgeries :class:`TokenFault` knows (see :mod:`mockauth.forge`).
TOKEN_FAULTS = (
    "expired", "not_yet_valid", "issued_in_future", "wrong_iss", "wrong_aud", "wrong_sub",
    "wrong_azp", "missing_claim", "set_claim", "bad_signature", "unknown_kid", "no_kid",
    "alg_none", "hs256_public_key", "wrong_at_hash", "missing_at_hash", "wrong_c_hash",
    "missing_c_hash", "wrong_nonce", "missing_nonce",
)  # fmt: skip


#: Forgeries of claims only ID tokens carry (OIDC Core §2, §3.1.3.6).
ID_TOKEN_ONLY = frozenset(
    {"wrong_azp", "wrong_at_hash", "missing_at_hash", "wrong_c_hash", "missing_c_hash",
     "wrong_nonce", "missing_nonce"}
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
        if not isinstance(self.fault, str) or self.fault not in TOKEN_FAULTS:
            raise ConfigError("token", f"{self.fault!r} is not one of {', '.join(TOKEN_FAULTS)}")
        if self.target not in ("id_token", "access_token", "both"):
            raise ConfigError("target", "must be id_token, access_token or both")
        if self.fault in ("missing_claim", "set_claim") and not self.claim:
            raise ConfigError("claim", f"{self.fault} needs the claim's name")
        if self.target == "access_token" and self.fault in ID_TOKEN_ONLY:
            raise ConfigError("target", f"{self.fault} changes ID-token claims only")

    def respond(self, exchange: Exchange) -> Response:
        from .forge import forge, rebind_at_hash

        real = exchange.real()
        names = ("id_token", "access_token") if self.target == "both" else (self.target,)

        def edit(token: str) -> str:
            return forge(exchange.provider, token, self.fault, claim=self.claim, value=self.value)

        if exchange.endpoint == "authorize":
            return _edit_redirect(real, names, edit)
        data = _json_object(real)
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
                        exchange.provider, data["id_token"], original, data[name]
                    )
        return _replace_json(real, data) if changed else real

    def describe(self) -> str:
        return f"token {self.fault} on {self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "fault": self.fault, "target": self.target,
                "claim": self.claim, "value": self.value}  # fmt: skip


def _json_object(response: Response) -> dict[str, Any] | None:
    """The response's JSON object, or ``None`` when it is not one (faults then pass it on)."""
    try:
        data = json.loads(response.get_data())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


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
    import html
    import re

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


#: Every key a fault table may hold (:func:`build`).
FAULT_KEYS = (
    "error", "status", "description", "headers", "body", "content_type", "delay", "then",
    "drop", "truncated", "jwks_no_kid", "rotate_keys", "alg", "token", "target", "claim",
    "value", "json",
)  # fmt: skip
_FLAGS: dict[str, type[Fault]] = {"drop": Drop, "truncated": Truncated, "jwks_no_kid": StripKids}


def unknown_key(name: str, known: Sequence[str]) -> ConfigError:
    """The error for a key nobody knows, with a "did you mean" hint for a typo."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(name, f"unknown key{hint}")


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key and name else key or name


def build(spec: Mapping[str, Any] | str | Fault, key: str = "") -> Fault:
    """A fault from plain data (scenario files, the admin API); errors name the key.

    ``"real"``, ``{"error": "invalid_grant"}``, ``{"status": 503, "headers": {...}}``,
    ``{"delay": 2.0}`` (then the real answer), ``{"delay": 2.0, "status": 503}`` or
    ``{"delay": 2.0, "then": {...}}``, ``{"drop": true}``, ``{"token": "expired"}``,
    ``{"json": {"set": {...}, "remove": [...]}}``, ``{"rotate_keys": true}``,
    ``{"truncated": true}``, ``{"jwks_no_kid": true}``.
    """
    if isinstance(spec, Fault):
        return spec
    if spec == "real":
        return Real()
    if not isinstance(spec, Mapping):
        raise ConfigError(key, f"expected a fault (a table or 'real'), got {spec!r}")
    try:
        return _build_table(dict(spec))
    except ConfigError as exc:
        raise ConfigError(_join(key, exc.key), exc.message) from None


def _build_table(data: dict[str, Any]) -> Fault:
    """A fault from one table; error keys are relative to the table."""
    for name in list(data):
        if not isinstance(name, str) or name not in FAULT_KEYS:
            raise unknown_key(str(name), FAULT_KEYS)
        if name in _FLAGS or name == "rotate_keys":
            if data[name] is False:  # ``drop = false``: the same as leaving it out
                del data[name]
            elif data[name] is not True:
                raise ConfigError(name, f"expected true or false, got {data[name]!r}")
    if "delay" in data:
        seconds = data.pop("delay")
        if "then" in data:
            then = build(data.pop("then"), "then")
            if data:
                raise ConfigError(next(iter(data)), "cannot stand beside 'then'; move it there")
        else:
            then = _build_table(data) if data else Real()
        return Delay(seconds, then)
    if data.pop("rotate_keys", False):
        alg = data.pop("alg", None)
        then = build(data.pop("then"), "then") if "then" in data else Real()
        _no_more(data, "rotate_keys")
        return RotateKeys(alg, then)
    if "then" in data:
        raise ConfigError("then", "only 'delay' and 'rotate_keys' take 'then'")
    for name, cls in _FLAGS.items():
        if data.pop(name, False):
            _no_more(data, name)
            return cls()
    if "token" in data:
        fault = TokenFault(
            data.pop("token"), data.pop("target", "id_token"), data.pop("claim", None),
            data.pop("value", None),
        )  # fmt: skip
        _no_more(data, "token")
        return fault
    if "json" in data:
        patch = data.pop("json")
        _no_more(data, "json")
        return _json_patch(patch)
    if "error" in data:
        error = OAuthErrorFault(
            data.pop("error"), data.pop("status", None), data.pop("description", None),
            data.pop("headers", {}),
        )  # fmt: skip
        _no_more(data, "error")
        return error
    if "status" in data:
        http = HttpFault(
            data.pop("status"), data.pop("body", None), data.pop("headers", {}),
            data.pop("content_type", None),
        )  # fmt: skip
        _no_more(data, "status")
        return http
    given = ", ".join(sorted(data)) or "an empty table"
    raise ConfigError(
        "", f"no fault in {given}: give error, status, delay, drop, token, json, truncated, "
        "jwks_no_kid or rotate_keys",
    )  # fmt: skip


def _json_patch(patch: object) -> JsonPatch:
    if not isinstance(patch, Mapping):
        raise ConfigError("json", f"expected a table with 'set' and/or 'remove', got {patch!r}")
    for name in patch:
        if name not in ("set", "remove"):
            raise ConfigError(f"json.{name}", unknown_key(str(name), ("set", "remove")).message)
    values = patch.get("set", {})
    if not isinstance(values, Mapping):
        raise ConfigError("json.set", f"expected a table, got {values!r}")
    remove = patch.get("remove", [])
    if not isinstance(remove, list | tuple) or not all(isinstance(n, str) for n in remove):
        raise ConfigError("json.remove", f"expected a list of member names, got {remove!r}")
    return JsonPatch(dict(values), tuple(remove))


def _no_more(data: Mapping[str, Any], kind: str) -> None:
    if data:
        raise ConfigError(next(iter(data)), f"does not go with {kind!r}")


def outcome(value: Fault | int | str | Mapping[str, Any], key: str = "sequence") -> Fault:
    """One step of a sequence: a fault, an HTTP status (``503``), ``"real"``, an
    OAuth error code (``"invalid_grant"``) or a fault table. Errors name ``key``.
    """
    if isinstance(value, Fault):
        return value
    if isinstance(value, Mapping):
        return build(value, key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(
            key, f"expected a fault, a status, an error code or 'real', got {value!r}"
        )
    try:
        if isinstance(value, int):
            return HttpFault(value)
        return Real() if value == "real" else OAuthErrorFault(value)
    except ConfigError as exc:
        raise ConfigError(key, exc.message) from None
