"""The route handlers for signing keys and minted tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, MockauthError, UnknownUserError
from ..http import Response
from .errors import bad, conflict, not_found
from .inputs import (
    Check,
    _alg,
    _boolean,
    _fields,
    _nonempty,
    _object,
    _seconds,
    _string,
    _strings,
    _token,
)
from .views import _reply, key_json

if TYPE_CHECKING:
    from .context import Context

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
    token = _mint(ctx, checks, ctx.provider.issue_token)
    return _reply({"access_token": token, "token_type": "Bearer"})


def _id_token(ctx: Context) -> Response:
    checks: dict[str, Check] = {
        "subject": _nonempty,
        "client_id": _nonempty,
        "nonce": _string,
        "access_token": _token,
        "expires_in": _seconds,
        "claims": _object,
    }
    return _reply({"id_token": _mint(ctx, checks, ctx.provider.issue_id_token)})


def _mint(ctx: Context, checks: dict[str, Check], mint: Callable[..., str]) -> str:
    """Check the body against ``checks``, then mint; misuse is a 400 naming no key."""
    args = _fields(ctx.body(), checks)
    subject = args.pop("subject", None)
    try:
        return mint(subject, **args)
    except MockauthError as exc:
        raise bad(None, str(exc)) from None


def _decide_device(ctx: Context, *, approve: bool) -> Response:
    from ..device import UnknownDeviceError

    body = _fields(ctx.body(), {"user": _nonempty} if approve else {})
    user_code = ctx.params["user_code"]
    try:
        if approve:
            ctx.provider.approve_device(user_code, user=body.get("user"))
        else:
            ctx.provider.deny_device(user_code)
    except UnknownDeviceError as exc:
        raise not_found(str(exc), "user_code") from None
    except UnknownUserError as exc:
        raise not_found(str(exc), "user") from None
    except MockauthError as exc:  # expired, or decided already
        raise conflict(str(exc), "user_code") from None
    return Response(status=204)


def _next_login(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"user": _nonempty, "claims": _object})
    try:
        user = ctx.provider.next_login(body.get("user"), claims=body.get("claims"))
    except UnknownUserError as exc:
        raise not_found(str(exc), "user") from None
    except ConfigError as exc:
        raise bad("claims", exc.message) from None
    return _reply({"sub": user.sub, "claims": body.get("claims") or {}}, 201)


def _approve_device(ctx: Context) -> Response:
    return _decide_device(ctx, approve=True)


def _deny_device(ctx: Context) -> Response:
    return _decide_device(ctx, approve=False)


def _revoke_tokens(ctx: Context) -> Response:
    body = _fields(ctx.body(), {"user": _nonempty, "client": _nonempty})
    if not body:
        raise bad("user", "give user (a sub) and/or client (a client id)")
    try:
        count = ctx.provider.revoke_tokens(user=body.get("user"), client=body.get("client"))
    except UnknownUserError as exc:
        raise not_found(str(exc), "user") from None
    return _reply({"revoked": count})
