"""The UserInfo endpoint (OIDC Core §5.3) as a bearer-protected resource (RFC 6750)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import dpop
from ..errors import ErrorStyle, InsufficientScope, no_credentials
from ..http import Response, json_response
from ..tokens.binding import resource_token
from ..users import claims_for_scopes
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..http import Request
    from ..services import Services


def handle(s: Services, request: Request) -> Response:
    """Claims of the token's user for the token's scopes (OIDC Core §5.3.2, §5.4)."""
    token = resource_token(request)
    if token is None:
        return no_credentials()
    record = s.tokens.verify_access_token(token)
    dpop.check_presentation(s, request, token, record, s.url_for("userinfo"))
    if "openid" not in record.scope:
        raise InsufficientScope(
            "the access token lacks the openid scope", challenge={"scope": "openid"}
        )
    user = s.users.find(record.sub, by_sub=True)
    # What the login added (the login page's claims) goes over the user's own.
    return json_response({**claims_for_scopes(user, record.sub, record.scope),
                          **record.login_claims})  # fmt: skip


ENDPOINT = register_endpoint(
    Endpoint(
        "userinfo",
        "/userinfo",
        ("GET", "POST"),
        handle,
        "userinfo_endpoint",
        errors=ErrorStyle.BEARER,
        # RFC 6750 §3.1, RFC 9449 §12.2.
        error_codes=frozenset(
            {"invalid_token", "insufficient_scope", "invalid_dpop_proof", "use_dpop_nonce"}
        ),
    )
)
