"""The client credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UnauthorizedClient
from ..tokens.response import TokenGrant, TokenResponse, issue
from . import Grant, register_grant
from .common import check_scope, new_grant_id, parse_scope, resolve_audience

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services


class ClientCredentialsGrant(Grant):
    """Tokens for the client itself: ``sub`` is the client id (RFC 9068 §2.2),
    no refresh token (RFC 6749 §4.4.3), confidential clients only.
    """

    grant_type = "client_credentials"
    public_clients = False

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        if client.public:
            raise UnauthorizedClient(
                "a public client cannot use client_credentials (RFC 6749 §4.4)"
            )
        scope = parse_scope(params.get("scope") or client.default_scope)
        check_scope(client, scope)
        grant = TokenGrant(
            client=client,
            sub=client.client_id,
            scope=scope,
            audience=resolve_audience(client, params),
            grant_id=new_grant_id(),
            auth_time=None,
            user_bound=False,
        )
        return issue(s, grant)


register_grant(ClientCredentialsGrant())
