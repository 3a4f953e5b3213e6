"""The resource owner password credentials grant (RFC 6749 §4.3)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from ..clients import Client
from ..errors import InvalidGrant
from ..http import Params
from . import check_scope, issue_tokens, new_grant_id, parse_scope, resolve_audience

if TYPE_CHECKING:
    from ..provider import Provider


def grant(provider: Provider, client: Client, params: Params) -> dict[str, Any]:
    """Check the user's password and issue tokens for them (RFC 6749 §4.3.2)."""
    username = params.require("username")
    password = params.require("password")
    scope = parse_scope(params.get("scope") or client.default_scope)
    check_scope(client, scope)
    user = provider.find_user(username)
    expected = (user.password if user else None) or ""
    ok = hmac.compare_digest(expected.encode(), password.encode())
    if user is None or not expected or not ok:
        raise InvalidGrant("wrong username or password")
    return issue_tokens(
        provider,
        client,
        sub=user.sub,
        scope=scope,
        audience=resolve_audience(client, params),
        grant_id=new_grant_id(),
        auth_time=int(provider.clock.now()),
        user_bound=True,
    )
