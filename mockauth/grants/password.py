"""The resource owner password credentials grant (RFC 6749 §4.3)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from ..errors import InvalidGrant
from ..tokens.response import TokenGrant, TokenResponse, issue
from . import Grant, register_grant
from .common import check_scope, new_grant_id, parse_scope, resolve_audience

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services


class PasswordGrant(Grant):
    """Check the user's password and issue tokens for them (RFC 6749 §4.3.2)."""

    grant_type = "password"
    secret_params = frozenset({"password"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        username = params.require("username")
        password = params.require("password")
        scope = parse_scope(params.get("scope") or client.default_scope)
        check_scope(client, scope)
        user = s.users.find(username)
        expected = (user.password if user else None) or ""
        ok = hmac.compare_digest(expected.encode(), password.encode())
        if user is None or not expected or not ok:
            raise InvalidGrant("wrong username or password")
        grant = TokenGrant(
            client=client,
            sub=user.sub,
            scope=scope,
            audience=resolve_audience(client, params),
            grant_id=new_grant_id(),
            auth_time=int(s.clock.now()),
            user_bound=True,
        )
        return issue(s, grant)


register_grant(PasswordGrant())
