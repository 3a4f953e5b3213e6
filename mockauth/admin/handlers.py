"""The route handlers for issuers, clients, users, scenario rules, the clock and the
journal (keys and tokens: :mod:`.credentials`).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from ..config import ClientConfig, ResourceConfig, TrustedIssuerConfig, UserConfig, parse
from ..errors import ConfigError, MockauthError, UnknownClientError, UnknownResourceError
from ..http import Response
from .errors import _from_config_error, bad, conflict, not_found
from .inputs import _MAX_TIME, _fields, _instant, _nonempty, _number
from .views import (
    _reply,
    call_json,
    client_json,
    clock_json,
    issuer_json,
    trusted_json,
    user_json,
)

if TYPE_CHECKING:
    from ..clients import Client
    from ..scenarios.rules import Rule
    from ..trust import TrustedIssuer
    from ..users import User
    from .context import Context


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
    from ..scenarios.rules import UnusedRuleError

    provider = ctx.provider
    try:
        provider.check_rules()
    except UnusedRuleError as exc:
        return _reply({"ok": False, "message": str(exc)})
    return _reply({"ok": True, "message": None})


# clients


def _clients(ctx: Context) -> Response:
    return _reply({"clients": [client_json(c) for c in ctx.provider.clients]})


T = TypeVar("T")


def _created(ctx: Context, collection: str, ident: str, body: dict[str, Any]) -> Response:
    """201 with the new entry and its URL."""
    path = f"/issuers/{ctx.provider.issuer_id}/{collection}/{quote(ident, safe='')}"
    return _reply(body, 201, [("Location", ctx.url(path))])


def _config(ctx: Context, cls: type[T]) -> T:
    body = dict(ctx.body())
    hints = typing.get_type_hints(cls)
    for name, value in body.items():  # JSON Schema's integers include 60.0
        if hints.get(name) is int and isinstance(value, float) and value.is_integer():
            body[name] = int(value)
    try:
        return parse(cls, body)
    except ConfigError as exc:
        raise _from_config_error(exc) from None


def _add_client(ctx: Context) -> Response:
    try:
        client = ctx.provider.add_client(_config(ctx, ClientConfig))
    except MockauthError as exc:  # already registered
        raise conflict(str(exc), "client_id") from None
    return _created(ctx, "clients", client.client_id, client_json(client))


def _client(ctx: Context) -> Client:
    client_id = ctx.params["client_id"]
    try:
        return ctx.provider.client(client_id)
    except UnknownClientError:
        raise not_found(f"no client {client_id!r}", "client_id") from None


def _get_client(ctx: Context) -> Response:
    return _reply(client_json(_client(ctx)))


def _removed(remove: Callable[[], None], key: str, message: str) -> Response:
    """204 once ``remove()`` did it; 404 when the entry went meanwhile."""
    try:
        remove()
    except MockauthError:  # removed meanwhile
        raise not_found(message, key) from None
    return Response(status=204)


def _remove_client(ctx: Context) -> Response:
    client_id = _client(ctx).client_id
    return _removed(
        lambda: ctx.provider.remove_client(client_id), "client_id", f"no client {client_id!r}"
    )


def _trusted_issuers(ctx: Context) -> Response:
    return _reply({"trusted_issuers": [trusted_json(t) for t in ctx.provider.trusted_issuers]})


def _trust_issuer(ctx: Context) -> Response:
    config = _config(ctx, TrustedIssuerConfig)
    try:
        trusted = ctx.provider.services.trusted.add(config)
    except MockauthError as exc:  # trusted already
        raise conflict(str(exc), "issuer") from None
    return _created(ctx, "trusted_issuers", trusted.issuer, trusted_json(trusted))


def _trusted(ctx: Context) -> TrustedIssuer:
    issuer = ctx.params["issuer"]
    found = ctx.provider.services.trusted.get(issuer)
    if found is None:
        raise not_found(f"issuer {issuer!r} is not trusted", "issuer")
    return found


def _get_trusted(ctx: Context) -> Response:
    return _reply(trusted_json(_trusted(ctx)))


def _untrust_issuer(ctx: Context) -> Response:
    issuer = _trusted(ctx).issuer
    return _removed(
        lambda: ctx.provider.untrust_issuer(issuer), "issuer", f"issuer {issuer!r} is not trusted"
    )


def _resources(ctx: Context) -> Response:
    return _reply({"resources": [r.to_dict() for r in ctx.provider.resources]})


def _add_resource(ctx: Context) -> Response:
    config = _config(ctx, ResourceConfig)
    try:
        resource = ctx.provider.add_resource(config)
    except ConfigError as exc:  # a resource is at that path already
        raise conflict(exc.message, "path") from None
    return _created(ctx, "resources", resource.path, resource.to_dict())


def _resource_path(ctx: Context) -> str:
    path = ctx.params["path"]
    return path if path.startswith("/") else "/" + path


def _get_resource(ctx: Context) -> Response:
    path = _resource_path(ctx)
    try:
        return _reply(ctx.provider.resource(path).to_dict())
    except UnknownResourceError:
        raise not_found(f"no resource at {path!r}", "path") from None


def _remove_resource(ctx: Context) -> Response:
    path = _resource_path(ctx)
    return _removed(lambda: ctx.provider.remove_resource(path), "path", f"no resource at {path!r}")


def _documents(ctx: Context) -> Response:
    documents = ctx.provider.client_metadata_documents
    return _reply({"documents": list(documents.values())})


def _add_document(ctx: Context) -> Response:
    document = ctx.body()
    try:
        client = ctx.provider.add_client_metadata_document(document)
    except ConfigError as exc:
        raise _from_config_error(exc) from None
    return _created(ctx, "client_metadata_documents", client.client_id, dict(document))


def _remove_document(ctx: Context) -> Response:
    url = ctx.params["url"]
    return _removed(
        lambda: ctx.provider.remove_client_metadata_document(url), "url",
        f"no client metadata document {url!r}",
    )  # fmt: skip


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
    try:
        user = ctx.provider.add_user(_config(ctx, UserConfig))
    except MockauthError as exc:
        raise conflict(str(exc), "username") from None
    return _created(ctx, "users", user.sub, user_json(user))


def _user(ctx: Context) -> User:
    hint = ctx.params["user"]
    found = ctx.provider.find_user(hint)
    if found is None:
        raise not_found(f"no user {hint!r} (by sub, username or email)", "user")
    return found


def _get_user(ctx: Context) -> Response:
    return _reply(user_json(_user(ctx)))


def _remove_user(ctx: Context) -> Response:
    sub = _user(ctx).sub
    return _removed(lambda: ctx.provider.remove_user(sub), "user", f"no user {sub!r}")


# rules


def _build_rule(data: Any, key: str = "") -> Rule:
    from ..scenarios.rules import rule_from_mapping

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
    if not (text.isascii() and text.isdigit()):
        raise bad("rule_id", f"{text!r} is not a rule id (a positive integer)")
    if len(text) > 18:  # a well-formed id, but far beyond any rule made here
        raise not_found(f"no rule {text[:24]}{'...' if len(text) > 24 else ''}", "rule_id")
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
    from ..scenarios.files import Scenario, load_scenario

    query = ctx.query()
    replace = query.get("replace", "false")
    if replace not in ("true", "false"):
        raise bad("replace", f"expected true or false, got {replace!r}")
    name = query.get("name")
    body = ctx.body(toml=True)
    if name is not None and body:
        raise bad("name", "give a scenario in the body or ?name=, not both")
    try:
        scenario = load_scenario(name) if name is not None else Scenario.from_mapping(body)
    except ConfigError as exc:
        if name is not None:
            raise bad("name", str(exc)) from None
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
