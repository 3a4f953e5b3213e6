"""The routes of the admin API, and :class:`Admin`, which answers every request
under ``/_mockauth``.
"""

from __future__ import annotations

import hmac
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..config import SIGNING_ALGS
from ..http import Request, Response
from .access import ADMIN_PREFIX, TOKEN_HEADER, check_token, is_loopback
from .context import Context
from .credentials import _access_token, _id_token, _keys, _retire_key, _revoke_tokens, _rotate_keys
from .errors import AdminError, bad
from .handlers import (
    _CALL_FILTERS,
    _add_client,
    _add_rule,
    _add_user,
    _advance,
    _calls,
    _check,
    _clear_calls,
    _clear_rules,
    _clients,
    _clock,
    _freeze,
    _get_client,
    _get_rule,
    _get_user,
    _issuer,
    _issuers,
    _load_scenario,
    _move_to,
    _remove_client,
    _remove_rule,
    _remove_user,
    _reset_all,
    _reset_clock,
    _reset_issuer,
    _rotate_secret,
    _rules,
    _unfreeze,
    _users,
)
from .inputs import _MAX_SECONDS, _MAX_TIME, _fields
from .openapi import _list_of, _object_schema, _ref, description
from .snapshot import _reset, _Snapshot, _snapshot
from .views import _reply

if TYPE_CHECKING:
    from ..provider import Provider
    from ..server import Dispatcher


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


def _openapi(ctx: Context) -> Response:
    doc = openapi(ctx.request.host_url.rstrip("/") + ADMIN_PREFIX)
    return _reply(doc)


_EMPTY = _object_schema({})
_INSTANT = {
    "oneOf": [
        {"type": "number", "minimum": 0, "maximum": _MAX_TIME},
        {"type": "string", "format": "date-time"},
    ],
    "description": "POSIX seconds, or an ISO 8601 date-time with a time zone",
}
_STRINGS = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_SECONDS = {"type": "integer", "minimum": -_MAX_SECONDS, "maximum": _MAX_SECONDS}
_RESET = {
    "type": "object",
    "properties": {"reset": {"type": "array", "items": {"type": "string"}}},
    "required": ["reset"],
}
_I = "/issuers/{issuer_id}"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", _openapi, "This OpenAPI description", "meta",
          response={"type": "object"}, auth=False,
          description="Loopback only, but needs no token: it holds no secrets."),
    Route("GET", "/issuers", _issuers, "List the issuers", "issuers",
          response=_list_of("issuers", "Issuer")),
    Route("POST", "/reset", _reset_all, "Reset every issuer to its start-up state", "issuers",
          body=_EMPTY, response=_RESET,
          description="Clients and users as configured (runtime changes undone), the rules "
          "loaded at start-up with fresh counters, an empty journal, the clock as at start-up, "
          "and no codes, tokens or sessions. Signing keys are kept."),
    Route("GET", _I, _issuer, "One issuer", "issuers", response=_ref("Issuer")),
    Route("POST", f"{_I}/reset", _reset_issuer, "Reset one issuer to its start-up state",
          "issuers", body=_EMPTY, response=_RESET),
    Route("GET", f"{_I}/check", _check, "Were strict rules used as expected?", "rules",
          response=_object_schema({"ok": {"type": "boolean"},
                                   "message": {"type": ["string", "null"]}}, ("ok", "message")),
          description="What the pytest fixture checks at teardown: `ok` is false, with the "
          "near-misses in `message`, when a rule with `times` or a `sequence` was not used up."),
    Route("GET", f"{_I}/clients", _clients, "List clients", "clients",
          response=_list_of("clients", "Client")),
    Route("POST", f"{_I}/clients", _add_client, "Register a client", "clients",
          body=_ref("ClientInput"), response=_ref("Client"), status=201,
          description="The fields of a config file's client; id and secret are generated "
          "when left out."),
    Route("GET", f"{_I}/clients/{{client_id}}", _get_client, "One client", "clients",
          response=_ref("Client")),
    Route("DELETE", f"{_I}/clients/{{client_id}}", _remove_client, "Unregister a client",
          "clients"),
    Route("POST", f"{_I}/clients/{{client_id}}/rotate_secret", _rotate_secret,
          "Give a client a new secret; the old one fails from now on", "clients",
          body=_object_schema({"client_secret": {"type": "string", "minLength": 1}}),
          response=_ref("Client")),
    Route("GET", f"{_I}/users", _users, "List users", "users", response=_list_of("users", "User")),
    Route("POST", f"{_I}/users", _add_user, "Register a user", "users",
          body=_ref("UserInput"), response=_ref("User"), status=201,
          description="Without a username, a Faker identity from the seed."),
    Route("GET", f"{_I}/users/{{user}}", _get_user, "One user (by sub, username or email)",
          "users", response=_ref("User")),
    Route("DELETE", f"{_I}/users/{{user}}", _remove_user, "Unregister a user", "users"),
    Route("GET", f"{_I}/rules", _rules, "List scenario rules, in the order they are tried",
          "rules", response=_list_of("rules", "Rule")),
    Route("POST", f"{_I}/rules", _add_rule, "Add a scenario rule", "rules",
          body=_ref("RuleInput"), body_required=True, response=_ref("Rule"), status=201),
    Route("DELETE", f"{_I}/rules", _clear_rules, "Remove every scenario rule", "rules"),
    Route("GET", f"{_I}/rules/{{rule_id}}", _get_rule, "One scenario rule", "rules",
          response=_ref("Rule")),
    Route("DELETE", f"{_I}/rules/{{rule_id}}", _remove_rule, "Remove one scenario rule",
          "rules"),
    Route("POST", f"{_I}/scenario", _load_scenario, "Apply a scenario file's content",
          "rules", body_required=True, status=201, query=("replace",),
          body=_ref("Scenario"), body_types=("application/json", "application/toml"),
          response=_object_schema({"description": {"type": "string"},
                                   "rules": {"type": "array", "items": _ref("Rule")}},
                                  ("description", "rules")),
          description="The content of a scenario file (JSON, or TOML as it is on disk): "
          "rules, clock settings and one-off actions. Everything is checked before anything "
          "changes. `?replace=true` removes the existing rules first."),
    Route("GET", f"{_I}/clock", _clock, "Read the provider clock", "clock",
          response=_ref("Clock")),
    Route("POST", f"{_I}/clock/freeze", _freeze, "Stop the clock (now, or at `at`)", "clock",
          body=_object_schema({"at": _INSTANT}), response=_ref("Clock")),
    Route("POST", f"{_I}/clock/advance", _advance, "Move the clock by `seconds` (may be "
          "negative)", "clock", body=_object_schema({"seconds": {"type": "number"}},
                                                     ("seconds",)),
          body_required=True, response=_ref("Clock")),
    Route("POST", f"{_I}/clock/move_to", _move_to, "Jump to an instant", "clock",
          body=_object_schema({"at": _INSTANT}, ("at",)), body_required=True,
          response=_ref("Clock")),
    Route("POST", f"{_I}/clock/unfreeze", _unfreeze, "Let the clock run from where it stands",
          "clock", body=_EMPTY, response=_ref("Clock")),
    Route("POST", f"{_I}/clock/reset", _reset_clock, "Back to the system clock", "clock",
          body=_EMPTY, response=_ref("Clock")),
    Route("GET", f"{_I}/keys", _keys, "List the signing keys", "keys",
          response=_list_of("keys", "Key")),
    Route("POST", f"{_I}/keys/rotate", _rotate_keys,
          "Sign with a new key; the old one stays published until retired", "keys",
          body=_object_schema({"alg": {"enum": list(SIGNING_ALGS)}}), response=_ref("Key"),
          status=201),
    Route("DELETE", f"{_I}/keys/{{kid}}", _retire_key,
          "Retire a key: it leaves the JWKS and its tokens stop verifying", "keys"),
    Route("POST", f"{_I}/tokens/access", _access_token, "Mint an access token", "tokens",
          body=_object_schema({
              "subject": {"type": "string"}, "client_id": {"type": "string"},
              "scope": _STRINGS, "audience": _STRINGS, "expires_in": _SECONDS,
              "claims": {"type": "object"}, "opaque": {"type": "boolean"},
              "alg": {"enum": list(SIGNING_ALGS)}, "kid": {"type": "string"},
              "not_before": _SECONDS}),
          response=_object_schema({"access_token": {"type": "string"},
                                   "token_type": {"const": "Bearer"}},
                                  ("access_token", "token_type")),
          description="`provider.issue_token(...)`: negative `expires_in` for a token that "
          "is already expired, `not_before` (seconds from now) for one not valid yet."),
    Route("POST", f"{_I}/tokens/id", _id_token, "Mint an ID token", "tokens",
          body=_object_schema({
              "subject": {"type": "string"}, "client_id": {"type": "string"},
              "nonce": {"type": "string"}, "access_token": {"type": "string"},
              "expires_in": _SECONDS, "claims": {"type": "object"}}),
          response=_object_schema({"id_token": {"type": "string"}}, ("id_token",))),
    Route("POST", f"{_I}/tokens/revoke", _revoke_tokens,
          "Revoke every token of a user and/or a client", "tokens",
          body=_object_schema({"user": {"type": "string"}, "client": {"type": "string"}}),
          body_required=True,
          response=_object_schema({"revoked": {"type": "integer"}}, ("revoked",))),
    Route("GET", f"{_I}/calls", _calls, "Read the request journal (secrets redacted)",
          "journal", response=_list_of("calls", "Call"), query=_CALL_FILTERS),
    Route("DELETE", f"{_I}/calls", _clear_calls, "Forget the request journal", "journal"),
)  # fmt: skip


def openapi(server_url: str = ADMIN_PREFIX) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the admin API (served at ``/_mockauth/openapi.json``)."""
    return description(ROUTES, server_url)


def _match(route: Route, segments: tuple[str, ...]) -> dict[str, str] | None:
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


def _segments(request: Request) -> tuple[str, ...]:
    """The path below ``ADMIN_PREFIX``, split before percent-decoding (``a%2Fb`` is one id)."""
    parts = [unquote(part, errors="replace") for part in request.raw_path.split("/")]
    parts = parts[2:]  # "", "_mockauth"
    if parts and parts[-1] == "":
        parts.pop()  # one trailing slash is fine
    return tuple(parts)


class Admin:
    """The admin API of one server; :class:`~mockauth.server.Dispatcher` hands it
    every request under ``/_mockauth``.
    """

    def __init__(self, token: str) -> None:
        self.token = check_token(token)
        self._token = token.encode("ascii")
        self._lock = threading.Lock()
        self._snapshots: weakref.WeakKeyDictionary[Provider, _Snapshot] = (
            weakref.WeakKeyDictionary()
        )

    def remember(self, provider: Provider) -> None:
        """Note the provider's state as its start-up state, the first time it is seen."""
        with self._lock:
            if provider not in self._snapshots:
                self._snapshots[provider] = _snapshot(provider)

    def reset(self, provider: Provider) -> None:
        """Put ``provider`` back to the state :meth:`remember` noted."""
        self.remember(provider)
        with self._lock:
            snapshot = self._snapshots[provider]
        _reset(provider, snapshot)

    def _authorize(self, request: Request, route: Route | None) -> None:
        if not is_loopback(request.remote_addr):
            raise AdminError(403, "forbidden", "the admin API answers loopback clients only")
        if route is not None and not route.auth:
            return
        sent = request.headers.get(TOKEN_HEADER)
        if sent is None:
            raise AdminError(
                401,
                "unauthorized",
                f"send the admin token (printed at start-up) in {TOKEN_HEADER}",
                TOKEN_HEADER,
                {"WWW-Authenticate": 'MockauthAdmin realm="mockauth-admin"'},
            )
        if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), self._token):
            raise AdminError(403, "forbidden", "wrong admin token", TOKEN_HEADER)

    def handle(self, request: Request, dispatcher: Dispatcher) -> Response:
        """Answer one request under ``/_mockauth``."""
        try:
            return self._handle(request, dispatcher)
        except AdminError as exc:
            return exc.response()
        except RecursionError:
            return bad(None, "the input is nested too deeply").response()

    def _handle(self, request: Request, dispatcher: Dispatcher) -> Response:
        segments = _segments(request)
        method = "GET" if request.method == "HEAD" else request.method
        found: list[tuple[Route, dict[str, str]]] = []
        for route in ROUTES:
            params = _match(route, segments)
            if params is not None:
                found.append((route, params))
        chosen = next(((r, p) for r, p in found if r.method == method), None)
        self._authorize(request, chosen[0] if chosen else None)
        if chosen is None:
            if not found:
                raise AdminError(404, "no_route", f"no admin route {request.path}")
            allowed = sorted({r.method for r, _ in found})
            raise AdminError(
                405,
                "method_not_allowed",
                f"use {' or '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        route, params = chosen
        ctx = Context(self, dispatcher, request, params, route)
        if not route.query:
            ctx.query()  # rejects any query parameter
        if route.body is _EMPTY:
            _fields(ctx.body(), {})  # no members, but a bad body is still reported
        return route.handler(ctx)
