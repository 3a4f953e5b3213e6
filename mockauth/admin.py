"""The admin HTTP API of the standalone server, under ``/_mockauth/``.

Everything a Python test does to a :class:`~mockauth.Provider` (clients,
users, scenario rules, the clock, keys, minted tokens, the journal), a test
suite in any language can do over plain JSON requests.

Security: the API answers only requests from a loopback address
(``REMOTE_ADDR``; nothing else, no forwarding headers) and only with the
per-run token in the ``X-Mockauth-Admin-Token`` header (401 without it, 403
when it is wrong). The OpenAPI description at ``/_mockauth/openapi.json``
needs no token: it holds no secrets, and clients can generate code from it.

Bad input gets a 4xx JSON answer ``{"error": ..., "key": ..., "message": ...}``
where ``key`` names the offending field (``redirect_uris[0]``,
``sequence[1].status``, ``seconds``), never a 500. Bodies are JSON
(``Content-Type: application/json``) of at most 64 KiB, like every request.
"""

from __future__ import annotations

import dataclasses
import difflib
import hmac
import ipaddress
import json
import math
import re
import secrets
import threading
import time
import types
import typing
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin
from urllib.parse import quote, unquote, urlsplit

from werkzeug.exceptions import HTTPException

from .config import SIGNING_ALGS, STANDARD_CLAIMS, ClientConfig, UserConfig, parse
from .errors import ConfigError, MockauthError, UnknownClientError, UnknownUserError
from .http import MAX_BODY, Request, Response, json_response
from .scenarios import ENDPOINT_NAMES

if TYPE_CHECKING:
    from .clients import Client
    from .journal import Call
    from .keys import SigningKey
    from .provider import Provider
    from .scenarios import Rule
    from .server import Dispatcher
    from .users import User

__all__ = ["ADMIN_PREFIX", "TOKEN_HEADER", "Admin", "new_token", "openapi"]

#: Where the admin API lives on the server.
ADMIN_PREFIX = "/_mockauth"
#: The header that carries the per-run token.
TOKEN_HEADER = "X-Mockauth-Admin-Token"
#: What a token may look like: visible ASCII, so that it survives any header and shell.
_TOKEN_SHAPE = re.compile(r"^[\x21-\x7e]{1,256}$")
#: Timestamps the clock may be set to: 1970 to the end of year 9999.
_MAX_TIME = 253402300799.0
#: The most a token lifetime or ``nbf`` offset may be, in seconds (100 years).
_MAX_SECONDS = 3_155_760_000


def _reply(
    data: Mapping[str, Any], status: int = 200, headers: typing.Iterable[tuple[str, str]] = ()
) -> Response:
    """A JSON answer ending with a newline, so that curl output reads well in a terminal."""
    response = json_response(data, status, headers)
    response.set_data(response.get_data() + b"\n")
    return response


def new_token() -> str:
    """A fresh per-run admin token."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> str:
    """``token`` if it can be sent in a header, else :class:`ConfigError`."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        raise ConfigError("admin_token", "must be 1 to 256 visible ASCII characters")
    return token


def is_loopback(address: str | None) -> bool:
    """Whether a peer address (``REMOTE_ADDR``) is a loopback address."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


# --- errors -------------------------------------------------------------------------------------


class AdminError(Exception):
    """An admin request that cannot be served: a 4xx with a JSON body naming the key."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.key = key
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body = {"error": self.error, "key": self.key, "message": self.message}
        return _reply(body, self.status, self.headers.items())


def bad(key: str | None, message: str) -> AdminError:
    """400 ``invalid_input``: ``key`` is what was wrong."""
    return AdminError(400, "invalid_input", message, key)


def not_found(what: str, key: str | None = None) -> AdminError:
    return AdminError(404, "not_found", what, key)


def conflict(message: str, key: str | None = None) -> AdminError:
    return AdminError(409, "conflict", message, key)


def _from_config_error(exc: ConfigError) -> AdminError:
    return bad(exc.key or None, exc.message)


# --- reading input ------------------------------------------------------------------------------

Check = Callable[[str, Any], Any]


def _unknown(key: str, known: typing.Iterable[str]) -> AdminError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return bad(key, f"unknown key{hint}")


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise bad(key, f"expected a string, got {_describe(value)}")
    return value


def _nonempty(key: str, value: Any) -> str:
    text = _string(key, value)
    if not text:
        raise bad(key, "must not be empty")
    return text


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad(key, f"expected true or false, got {_describe(value)}")
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(key, f"expected a number, got {_describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise bad(key, "is far too large") from None
    if not math.isfinite(number):
        raise bad(key, "must be a finite number")
    return number


def _seconds(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(key, f"expected a whole number of seconds, got {_describe(value)}")
    if abs(value) > _MAX_SECONDS:
        raise bad(key, f"must be within ±{_MAX_SECONDS} seconds (100 years)")
    return value


def _instant(key: str, value: Any) -> float:
    """A POSIX timestamp, or an ISO 8601 date-time with a time zone."""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise bad(key, f"{value!r} is not an ISO 8601 date-time") from None
        if when.tzinfo is None:
            raise bad(key, "give a time zone (e.g. 2030-01-01T00:00:00Z)")
        number = when.timestamp()
    else:
        number = _number(key, value)
    if not 0 <= number <= _MAX_TIME:
        raise bad(key, "must lie between 1970 and the end of year 9999")
    return number


def _strings(key: str, value: Any) -> str | list[str]:
    """A string or a list of strings (scopes, audiences)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise bad(key, f"expected a string or a list of strings, got {_describe(value)}")
    for i, item in enumerate(value):
        _string(f"{key}[{i}]", item)
    return value


def _object(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(key, f"expected an object, got {_describe(value)}")
    return value


def _alg(key: str, value: Any) -> str:
    alg = _string(key, value)
    if alg not in SIGNING_ALGS:
        raise bad(key, f"{alg!r} is not one of {', '.join(SIGNING_ALGS)}")
    return alg


def _fields(
    body: Mapping[str, Any], checks: Mapping[str, Check], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check every member of a JSON body; ``null`` counts as absent."""
    for key in body:
        if key not in checks:
            raise _unknown(key, checks)
    for key in required:
        if body.get(key) is None:
            raise bad(key, "is required")
    return {k: checks[k](k, v) for k, v in body.items() if v is not None}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise bad(key, "appears twice in the object")
        result[key] = value
    return result


def _toml(raw: bytes) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad(None, "the body is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise AdminError(400, "invalid_toml", f"the body is not TOML: {exc}") from None


def _no_constant(name: str) -> Any:
    raise bad(None, f"{name} is not valid JSON")


# --- the request context ------------------------------------------------------------------------


@dataclass
class Context:
    """One admin request: the path parameters, the body, the provider it is for."""

    admin: Admin
    dispatcher: Dispatcher
    request: Request
    params: dict[str, str]
    route: Route
    _body: Any = field(default=None, init=False)
    _parsed: bool = field(default=False, init=False)

    @property
    def provider(self) -> Provider:
        issuer_id = self.params["issuer_id"]
        for provider in self.dispatcher.providers:
            if provider.issuer_id == issuer_id:
                self.admin.remember(provider)
                return provider
        raise not_found(f"no issuer {issuer_id!r}", "issuer_id")

    def body(self, *, toml: bool = False) -> dict[str, Any]:
        """The JSON object sent (``{}`` for an empty body); with ``toml``, a TOML
        document is accepted too (``Content-Type: application/toml``).
        """
        if not self._parsed:
            self._body = self._read_body(toml)
            self._parsed = True
        return typing.cast("dict[str, Any]", self._body)

    def _read_body(self, toml: bool) -> dict[str, Any]:
        request = self.request
        length = request.environ.get("CONTENT_LENGTH", "").strip()
        if length and not (length.isascii() and length.isdigit()):
            raise bad(None, "Content-Length must be a non-negative integer")
        try:
            raw = request.get_data(cache=True)
        except HTTPException as exc:
            status, text = exc.code or 400, exc.description or exc.name
            raise AdminError(
                status, "too_large" if status == 413 else "invalid_request", text
            ) from None
        if len(raw) >= MAX_BODY and request.content_length is None:
            raise AdminError(413, "too_large", f"the body must stay under {MAX_BODY} bytes")
        if not raw.strip():
            return {}
        mimetype = request.mimetype
        if toml and mimetype == "application/toml":
            return _toml(raw)
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            also = " or application/toml" if toml else ""
            raise AdminError(
                415,
                "unsupported_media_type",
                f"send JSON with Content-Type: application/json{also}, not "
                f"{mimetype or 'none'} (curl: --json '{{...}}')",
            )
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise bad(None, "the body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise AdminError(
                400, "invalid_json", f"the body is not JSON: {exc.msg} at {exc.pos}"
            ) from None
        except ValueError as exc:  # an integer of more than 4300 digits
            raise AdminError(400, "invalid_json", f"the body is not usable JSON: {exc}") from None
        except RecursionError:
            raise bad(None, "the JSON is nested too deeply") from None
        if not isinstance(data, dict):
            raise bad(None, f"expected a JSON object, got {_describe(data)}")
        return data

    def query(self) -> dict[str, str]:
        """The query parameters, each given at most once and each one the route knows."""
        found: dict[str, str] = {}
        for name, values in self.request.args.lists():
            if name not in self.route.query:
                raise _unknown(name, self.route.query)
            if len(values) > 1:
                raise bad(name, "given more than once")
            found[name] = values[0]
        return found

    def url(self, path: str) -> str:
        return self.request.host_url.rstrip("/") + ADMIN_PREFIX + path


# --- JSON views ---------------------------------------------------------------------------------


def client_json(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "public": client.public,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "allowed_scopes": sorted(client.allowed_scopes)
        if client.allowed_scopes is not None
        else None,
        "default_scope": client.default_scope,
        "audience": list(client.audience),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "extra_claims": dict(client.extra_claims),
        "name": client.name,
        "lenient": client.lenient,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "sub": user.sub,
        "username": user.username,
        "password": user.password,
        "claims": dict(user.claims),
    }


_CALL_FIELDS = ("endpoint", "method", "path", "params", "client_id", "grant_type", "time",
                "status", "error", "rule")  # fmt: skip


def call_json(call: Call) -> dict[str, Any]:
    """A journal entry; parameters were redacted when the call was recorded."""
    return {
        "endpoint": call.endpoint,
        "method": call.method,
        "path": call.path,
        "params": dict(call.params),
        "client_id": call.client_id,
        "grant_type": call.grant_type,
        "time": call.time,
        "status": call.status,
        "error": call.error,
        "rule": call.rule.id if call.rule is not None else None,
    }


def key_json(key: SigningKey, provider: Provider) -> dict[str, Any]:
    active = provider.keys.active(key.alg) is key
    return {"kid": key.kid, "alg": key.alg, "active": active, "published": not key.symmetric}


def clock_json(provider: Provider) -> dict[str, Any]:
    clock = provider.clock
    frozen = getattr(clock, "frozen", None)
    return {"now": clock.now(), "frozen": frozen if isinstance(frozen, bool) else None}


def issuer_json(provider: Provider) -> dict[str, Any]:
    return {
        "issuer_id": provider.issuer_id,
        "issuer": provider.issuer,
        "discovery": provider.endpoint("discovery"),
        "clients": len(provider.clients),
        "users": len(provider.users),
        "rules": len(provider.rules),
        "calls": len(provider.calls),
    }


# --- the start-up state that reset goes back to -------------------------------------------------


@dataclass
class _Snapshot:
    clients: dict[str, Client]
    users: dict[str, User]
    rules: list[Rule]
    frozen_at: float | None  # the clock: stopped here, or
    skew: float  # running this many seconds off the system clock


def _snapshot(provider: Provider) -> _Snapshot:
    clock = provider.clock
    now = clock.now()
    frozen = getattr(clock, "frozen", False) is True
    skew = 0.0 if frozen else now - time.time()
    with provider._lock:
        # Clients and users are frozen: a shallow copy keeps them as they are now.
        return _Snapshot(
            dict(provider._clients),
            dict(provider._users),
            provider.rules,
            now if frozen else None,
            skew if abs(skew) >= 0.001 else 0.0,  # a scenario's skew, not the read-out jitter
        )


def _reset(provider: Provider, snapshot: _Snapshot) -> None:
    """Back to ``snapshot``: registry, rules (fresh counters), empty journal and
    store, the clock. Keys stay as they are.
    """
    provider.clear_rules()
    for rule in snapshot.rules:
        rule.seen = rule.used = 0
        provider.add_rule(rule)
    with provider._lock:
        provider._clients.clear()
        provider._clients.update(snapshot.clients)
        provider._users.clear()
        provider._users.update(snapshot.users)
    store = provider.store
    with store.lock:  # every table of codes, tokens, sessions and revocations
        for table in vars(store).values():
            items = getattr(table, "items", None)
            if isinstance(items, dict):
                items.clear()
    clock = provider.clock
    if all(callable(getattr(clock, name, None)) for name in ("reset", "freeze", "advance")):
        clock.reset()
        if snapshot.frozen_at is not None:
            clock.freeze(snapshot.frozen_at)
        elif snapshot.skew:
            clock.advance(snapshot.skew)
    provider.clear_calls()


# --- handlers -----------------------------------------------------------------------------------


def _openapi(ctx: Context) -> Response:
    doc = openapi(ctx.request.host_url.rstrip("/") + ADMIN_PREFIX)
    return _reply(doc)


def _issuers(ctx: Context) -> Response:
    providers = ctx.dispatcher.providers
    for provider in providers:
        ctx.admin.remember(provider)
    return _reply({"issuers": [issuer_json(p) for p in providers]})


def _reset_all(ctx: Context) -> Response:
    providers = ctx.dispatcher.providers
    for provider in providers:
        ctx.admin.reset(provider)
    return _reply({"reset": [p.issuer_id for p in providers]})


def _issuer(ctx: Context) -> Response:
    return _reply(issuer_json(ctx.provider))


def _reset_issuer(ctx: Context) -> Response:
    provider = ctx.provider
    ctx.admin.reset(provider)
    return _reply({"reset": [provider.issuer_id]})


def _check(ctx: Context) -> Response:
    from .scenarios import UnusedRuleError

    provider = ctx.provider
    try:
        provider.check_rules()
    except UnusedRuleError as exc:
        return _reply({"ok": False, "message": str(exc)})
    return _reply({"ok": True, "message": None})


# clients


def _clients(ctx: Context) -> Response:
    return _reply({"clients": [client_json(c) for c in ctx.provider.clients]})


def _add_client(ctx: Context) -> Response:
    provider = ctx.provider
    try:
        config = parse(ClientConfig, ctx.body())
    except ConfigError as exc:
        raise _from_config_error(exc) from None
    try:
        client = provider.add_client(config)
    except MockauthError as exc:  # already registered
        raise conflict(str(exc), "client_id") from None
    location = ctx.url(f"/issuers/{provider.issuer_id}/clients/{quote(client.client_id, safe='')}")
    return _reply(client_json(client), 201, [("Location", location)])


def _client(ctx: Context) -> Client:
    client_id = ctx.params["client_id"]
    try:
        return ctx.provider.client(client_id)
    except UnknownClientError:
        raise not_found(f"no client {client_id!r}", "client_id") from None


def _get_client(ctx: Context) -> Response:
    return _reply(client_json(_client(ctx)))


def _remove_client(ctx: Context) -> Response:
    client = _client(ctx)
    try:
        ctx.provider.remove_client(client.client_id)
    except UnknownClientError:  # removed meanwhile
        raise not_found(f"no client {client.client_id!r}", "client_id") from None
    return Response(status=204)


def _rotate_secret(ctx: Context) -> Response:
    client = _client(ctx)
    body = _fields(ctx.body(), {"client_secret": _nonempty})
    if client.public:
        raise conflict(f"client {client.client_id!r} is public and has no secret", "client_id")
    try:
        rotated = ctx.provider.rotate_client_secret(client.client_id, body.get("client_secret"))
    except UnknownClientError:
        raise not_found(f"no client {client.client_id!r}", "client_id") from None
    except MockauthError as exc:
        raise conflict(str(exc), "client_id") from None
    return _reply(client_json(rotated))


# users


def _users(ctx: Context) -> Response:
    return _reply({"users": [user_json(u) for u in ctx.provider.users]})


def _add_user(ctx: Context) -> Response:
    provider = ctx.provider
    try:
        config = parse(UserConfig, ctx.body())
    except ConfigError as exc:
        raise _from_config_error(exc) from None
    try:
        user = provider.add_user(config)
    except MockauthError as exc:
        raise conflict(str(exc), "username") from None
    location = ctx.url(f"/issuers/{provider.issuer_id}/users/{quote(user.sub, safe='')}")
    return _reply(user_json(user), 201, [("Location", location)])


def _user(ctx: Context) -> User:
    hint = ctx.params["user"]
    found = ctx.provider.find_user(hint)
    if found is None:
        raise not_found(f"no user {hint!r} (by sub, username or email)", "user")
    return found


def _get_user(ctx: Context) -> Response:
    return _reply(user_json(_user(ctx)))


def _remove_user(ctx: Context) -> Response:
    user = _user(ctx)
    try:
        ctx.provider.remove_user(user.sub)
    except UnknownUserError:
        raise not_found(f"no user {user.sub!r}", "user") from None
    return Response(status=204)


# rules


def _build_rule(data: Any, key: str = "") -> Rule:
    from .scenarios import rule_from_mapping

    try:
        return rule_from_mapping(data, key)
    except ConfigError as exc:
        raise bad(exc.key or key or None, exc.message) from None
    except (MockauthError, ValueError, TypeError, OverflowError) as exc:
        # Not a ConfigError: no key to name beyond the rule itself.
        raise bad(key or None, f"bad rule: {exc}") from None


def _rules(ctx: Context) -> Response:
    return _reply({"rules": [r.to_dict() for r in ctx.provider.rules]})


def _add_rule(ctx: Context) -> Response:
    provider = ctx.provider
    rule = provider.add_rule(_build_rule(ctx.body()))
    location = ctx.url(f"/issuers/{provider.issuer_id}/rules/{rule.id}")
    return _reply(rule.to_dict(), 201, [("Location", location)])


def _clear_rules(ctx: Context) -> Response:
    ctx.provider.clear_rules()
    return Response(status=204)


def _rule(ctx: Context) -> Rule:
    text = ctx.params["rule_id"]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise bad("rule_id", f"{text!r} is not a rule id (a positive integer)")
    rule_id = int(text)
    for rule in ctx.provider.rules:
        if rule.id == rule_id:
            return rule
    raise not_found(f"no rule {rule_id}", "rule_id")


def _get_rule(ctx: Context) -> Response:
    return _reply(_rule(ctx).to_dict())


def _remove_rule(ctx: Context) -> Response:
    rule = _rule(ctx)
    try:
        ctx.provider.remove_rule(rule)
    except MockauthError:  # removed meanwhile
        raise not_found(f"no rule {rule.id}", "rule_id") from None
    return Response(status=204)


def _load_scenario(ctx: Context) -> Response:
    """Apply a scenario file's content: all of it or nothing (``?replace=true`` first
    removes the rules there are).
    """
    from .scenario_files import Scenario

    replace = ctx.query().get("replace", "false")
    if replace not in ("true", "false"):
        raise bad("replace", f"expected true or false, got {replace!r}")
    try:
        scenario = Scenario.from_mapping(ctx.body(toml=True))
    except ConfigError as exc:
        raise _from_config_error(exc) from None
    provider = ctx.provider
    try:
        scenario.build_rules()  # checked before the old rules go
        if replace == "true":
            provider.clear_rules()
        rules = scenario.apply(provider)
    except ConfigError as exc:  # a client to rotate is not there, or the clock is custom
        raise conflict(exc.message, exc.key or None) from None
    return _reply({"description": scenario.description, "rules": [r.to_dict() for r in rules]}, 201)


# clock


def _clock_method(ctx: Context, name: str) -> Callable[..., Any]:
    method = getattr(ctx.provider.clock, name, None)
    if not callable(method):
        raise conflict(f"this issuer's clock cannot {name}() (a custom clock)")
    return typing.cast("Callable[..., Any]", method)


def _clock(ctx: Context) -> Response:
    return _reply(clock_json(ctx.provider))


def _freeze(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"at": _instant})
    _clock_method(ctx, "freeze")(body.get("at"))
    return _reply(clock_json(ctx.provider))


def _advance(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"seconds": _number}, ("seconds",))
    advance = _clock_method(ctx, "advance")
    target = ctx.provider.clock.now() + body["seconds"]
    if not 0 <= target <= _MAX_TIME:
        raise bad("seconds", "would move the clock before 1970 or past the year 9999")
    advance(body["seconds"])
    return _reply(clock_json(ctx.provider))


def _move_to(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"at": _instant}, ("at",))
    _clock_method(ctx, "move_to")(body["at"])
    return _reply(clock_json(ctx.provider))


def _unfreeze(ctx: Context) -> Response:
    _clock_method(ctx, "unfreeze")()
    return _reply(clock_json(ctx.provider))


def _reset_clock(ctx: Context) -> Response:
    _clock_method(ctx, "reset")()
    return _reply(clock_json(ctx.provider))


# keys


def _keys(ctx: Context) -> Response:
    provider = ctx.provider
    provider.jwks()  # the keys of every algorithm in use exist once published
    return _reply({"keys": [key_json(k, provider) for k in provider.keys.keys]})


def _rotate_keys(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"alg": _alg})
    provider = ctx.provider
    key = provider.rotate_keys(body.get("alg"))
    return _reply(key_json(key, provider), 201)


def _retire_key(ctx: Context) -> Response:
    kid = ctx.params["kid"]
    try:
        ctx.provider.keys.retire(kid)
    except MockauthError:
        raise not_found(f"no published key with kid {kid!r}", "kid") from None
    return Response(status=204)


# tokens


def _kid(ctx: Context) -> Check:
    def check(key: str, value: Any) -> str:
        kid = _string(key, value)
        if ctx.provider.keys.get(kid) is None:
            raise bad(key, f"no published key with kid {kid!r}")
        return kid

    return check


def _access_token(ctx: Context) -> Response:
    checks: dict[str, Check] = {
        "subject": _nonempty,
        "client_id": _nonempty,
        "scope": _strings,
        "audience": _strings,
        "expires_in": _seconds,
        "claims": _object,
        "opaque": _boolean,
        "alg": _alg,
        "kid": _kid(ctx),
        "not_before": _seconds,
    }
    args = _fields(ctx.body(), checks)
    subject = args.pop("subject", None)
    try:
        token = ctx.provider.issue_token(subject, **args)
    except MockauthError as exc:
        raise bad(None, str(exc)) from None
    return _reply({"access_token": token, "token_type": "Bearer"})


def _id_token(ctx: Context) -> Response:
    checks: dict[str, Check] = {
        "subject": _nonempty,
        "client_id": _nonempty,
        "nonce": _string,
        "access_token": _string,
        "expires_in": _seconds,
        "claims": _object,
    }
    args = _fields(ctx.body(), checks)
    subject = args.pop("subject", None)
    try:
        token = ctx.provider.issue_id_token(subject, **args)
    except MockauthError as exc:
        raise bad(None, str(exc)) from None
    return _reply({"id_token": token})


def _revoke_tokens(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"user": _nonempty, "client": _nonempty})
    if not body:
        raise bad("user", "give user (a sub) and/or client (a client id)")
    provider = ctx.provider
    user = body.get("user")
    if user is not None:
        found = provider.find_user(user)
        user = found.sub if found is not None else user  # a username or email names its sub
    count = provider.revoke_tokens(user=user, client=body.get("client"))
    return _reply({"revoked": count})


# journal


_CALL_FILTERS = ("endpoint", "method", "grant_type", "client_id")


def _calls(ctx: Context) -> Response:
    criteria = ctx.query()
    calls = ctx.provider.calls
    if criteria:
        endpoint = criteria.pop("endpoint", None)
        try:
            calls = calls.filter(endpoint, **criteria)
        except ConfigError as exc:
            raise bad(exc.key, exc.message) from None
    return _reply({"calls": [call_json(c) for c in calls]})


def _clear_calls(ctx: Context) -> Response:
    ctx.provider.clear_calls()
    return Response(status=204)


# --- routes -------------------------------------------------------------------------------------


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


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(prop: str, name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {prop: {"type": "array", "items": _ref(name)}},
        "required": [prop],
    }


def _object_schema(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


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
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = urlsplit(raw).path if not raw.startswith("/") else raw.partition("?")[0]
        path = path.encode("latin-1", "replace").decode("utf-8", "replace")
        parts = [unquote(part, errors="replace") for part in path.split("/")]
    else:
        parts = request.path.split("/")
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
        if not is_loopback(request.environ.get("REMOTE_ADDR")):
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


# --- the OpenAPI description --------------------------------------------------------------------


def _hint_schema(hint: Any) -> dict[str, Any]:
    """JSON Schema for a config field's type hint."""
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_hint_schema(a) for a in get_args(hint) if a is not type(None)]
        schema = options[0] if len(options) == 1 else {"oneOf": options}
        if type(None) in get_args(hint):
            return {"oneOf": [schema, {"type": "null"}]}
        return schema
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin is tuple:
        item = _hint_schema(get_args(hint)[0])
        if get_args(hint)[0] is str:
            return {"oneOf": [{"type": "array", "items": item}, {"type": "string"}]}
        return {"type": "array", "items": item}
    if origin in (Mapping, dict) or hint in (dict, Mapping):
        return {"type": "object"}
    names = {bool: "boolean", int: "integer", str: "string", float: "number"}
    if hint in names:
        return {"type": names[hint]}
    return {}


def _config_schema(cls: type, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {f.name: _hint_schema(hints[f.name]) for f in dataclasses.fields(cls)}
    properties.update(extra or {})
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _components() -> dict[str, Any]:
    nullable_string = {"type": ["string", "null"]}
    string_list = {"type": "array", "items": {"type": "string"}}
    fault = {"type": ["object", "null"], "properties": {"kind": {"type": "string"}}}
    return {
        "Error": _object_schema(
            {
                "error": {"type": "string"},
                "key": {
                    "type": ["string", "null"],
                    "description": "the bad field, e.g. redirect_uris[0]",
                },
                "message": {"type": "string"},
            },
            ("error", "key", "message"),
        ),
        "Issuer": _object_schema(
            {
                "issuer_id": {"type": "string"},
                "issuer": {"type": "string"},
                "discovery": {"type": "string"},
                "clients": {"type": "integer"},
                "users": {"type": "integer"},
                "rules": {"type": "integer"},
                "calls": {"type": "integer"},
            },
            ("issuer_id", "issuer", "discovery", "clients", "users", "rules", "calls"),
        ),
        "Client": _object_schema(
            {
                "client_id": {"type": "string"},
                "client_secret": nullable_string,
                "public": {"type": "boolean"},
                "redirect_uris": string_list,
                "post_logout_redirect_uris": string_list,
                "grant_types": string_list,
                "allowed_scopes": {"type": ["array", "null"], "items": {"type": "string"}},
                "default_scope": {"type": "string"},
                "audience": string_list,
                "token_endpoint_auth_method": nullable_string,
                "id_token_signed_response_alg": nullable_string,
                "extra_claims": {"type": "object"},
                "name": nullable_string,
                "lenient": {"type": "boolean"},
            },
            ("client_id", "client_secret", "public", "redirect_uris", "grant_types"),
        ),
        "ClientInput": _config_schema(ClientConfig),
        "User": _object_schema(
            {
                "sub": {"type": "string"},
                "username": {"type": "string"},
                "password": nullable_string,
                "claims": {"type": "object"},
            },
            ("sub", "username", "password", "claims"),
        ),
        "UserInput": _config_schema(UserConfig, {name: {} for name in sorted(STANDARD_CLAIMS)}),
        "Rule": _object_schema(
            {
                "id": {"type": "integer"},
                "name": nullable_string,
                "match": {"type": "object"},
                "fault": fault,
                "sequence": {"type": ["array", "null"], "items": {"type": "object"}},
                "times": {"type": ["integer", "null"]},
                "after": {"type": "integer"},
                "strict": {"type": "boolean"},
                "seen": {"type": "integer"},
                "used": {"type": "integer"},
            },
            ("id", "match", "times", "after", "strict", "seen", "used"),
        ),
        "RuleInput": {
            "type": "object",
            "description": "A scenario rule as in a scenario file: matcher keys (endpoint, "
            "method, grant_type, client_id, params), lifetime keys (times, after, sequence, "
            "strict, name) and one fault (error, status, delay, drop, token, json, "
            "rotate_keys, truncated, jwks_no_kid).",
            "properties": {
                "endpoint": {"enum": list(ENDPOINT_NAMES)},
                "method": {"type": "string"},
                "grant_type": {"type": "string"},
                "client_id": {"type": "string"},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "times": {"type": "integer", "minimum": 1},
                "after": {"type": "integer", "minimum": 0},
                "sequence": {
                    "type": "array",
                    "items": {"oneOf": [{"type": t} for t in ("integer", "string", "object")]},
                },
                "strict": {"type": "boolean"},
                "name": {"type": "string"},
                "error": {"type": "string"},
                "status": {"type": "integer"},
                "description": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": {},
                "content_type": {"type": "string"},
                "delay": {"type": "number", "minimum": 0},
                "then": {},
                "drop": {"type": "boolean"},
                "truncated": {"type": "boolean"},
                "jwks_no_kid": {"type": "boolean"},
                "rotate_keys": {"type": "boolean"},
                "alg": {"type": "string"},
                "token": {"type": "string"},
                "target": {"enum": ["id_token", "access_token", "both"]},
                "claim": {"type": "string"},
                "value": {},
                "json": {"type": "object"},
            },
        },
        "Scenario": {
            "type": "object",
            "description": "A scenario file's content (see fixtures/scenarios/).",
            "properties": {
                "description": {"type": "string"},
                "rules": {"type": "array", "items": _ref("RuleInput")},
                "clock": _object_schema(
                    {"offset": {"type": "number"}, "frozen_at": {}, "advance": {"type": "number"}}
                ),
                "rotate_keys": {},
                "rotate_client_secret": {},
                "revoke_tokens": {},
            },
            "additionalProperties": False,
        },
        "Call": _object_schema(
            {
                "endpoint": {"type": "string"},
                "method": {"type": "string"},
                "path": {"type": "string"},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "client_id": nullable_string,
                "grant_type": nullable_string,
                "time": {"type": "number"},
                "status": {"type": ["integer", "null"]},
                "error": nullable_string,
                "rule": {"type": ["integer", "null"]},
            },
            tuple(_CALL_FIELDS),
        ),
        "Clock": _object_schema(
            {"now": {"type": "number"}, "frozen": {"type": ["boolean", "null"]}},
            ("now", "frozen"),
        ),
        "Key": _object_schema(
            {
                "kid": {"type": "string"},
                "alg": {"type": "string"},
                "active": {"type": "boolean"},
                "published": {"type": "boolean"},
            },
            ("kid", "alg", "active", "published"),
        ),
    }


_ERRORS = {
    "400": "Bad input; `key` names the field",
    "401": "No admin token",
    "403": "Not a loopback client, or a wrong token",
    "404": "No such issuer, client, user, rule or key",
    "409": "Conflicts with the current state",
    "413": "Body over 64 KiB",
    "415": "Body is not JSON",
}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
    }
    if route.description:
        op["description"] = route.description
    names = re.findall(r"{(\w+)}", route.path)
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]
    parameters += [
        {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
        for q in route.query
    ]
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {
            "required": route.body_required,
            "content": {t: {"schema": route.body} for t in route.body_types},
        }
    if route.response is None:
        ok: dict[str, Any] = {"description": "Done"}
        status = 204
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": route.response}}}
        status = route.status
    responses: dict[str, Any] = {str(status): ok}
    for code in _ERRORS:
        if route.auth or code != "401":
            responses[code] = {"$ref": f"#/components/responses/{code}"}
    op["responses"] = responses
    if not route.auth:
        op["security"] = []
    return op


def openapi(server_url: str = ADMIN_PREFIX) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the admin API (served at ``/_mockauth/openapi.json``)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mockauth admin API",
            "version": "1",
            "description": "Steer a running `mockauth serve` (TEST ONLY). Loopback clients "
            f"only; send the per-run token printed at start-up in `{TOKEN_HEADER}`. Errors "
            "are JSON with `error`, `message` and `key` (the bad field).",
        },
        "servers": [{"url": server_url}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER}
            },
            "schemas": _components(),
            "responses": {
                code: {
                    "description": text,
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
                for code, text in _ERRORS.items()
            },
        },
    }
