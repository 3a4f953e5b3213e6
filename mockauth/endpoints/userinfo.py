"""The UserInfo endpoint (OIDC Core §5.3) as a bearer-protected resource (RFC 6750)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from ..http import Request, Response, form_params, is_form, json_response
from ..users import claims_for_scopes

if TYPE_CHECKING:
    from ..provider import Provider

REALM = 'Bearer realm="mockauth"'


def _challenge(error: OAuthError, extra: str = "") -> OAuthError:
    """RFC 6750 §3: every error carries a ``WWW-Authenticate: Bearer`` challenge."""
    value = f'{REALM}, error="{error.error}"'
    if error.description:
        value += f', error_description="{error.description}"'
    error.headers["WWW-Authenticate"] = value + extra
    return error


def bearer_token(request: Request) -> str | None:
    """The access token from the header or a form body, not both (RFC 6750 §2)."""
    header = request.headers.get("Authorization")
    from_header = None
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _challenge(InvalidRequest("the Authorization header must be 'Bearer <token>'"))
        from_header = value.strip()
    from_body = None
    if request.method == "POST" and is_form(request):
        params = form_params(request)
        if "access_token" in params.duplicates:
            raise _challenge(InvalidRequest("access_token sent more than once"))
        from_body = params.get("access_token")
    if from_header and from_body:
        raise _challenge(InvalidRequest("send the access token in one place only (RFC 6750 §2)"))
    return from_header or from_body


def handle(provider: Provider, request: Request) -> Response:
    """Claims of the token's user for the token's scopes (OIDC Core §5.3.2, §5.4)."""
    token = bearer_token(request)
    if token is None:
        # RFC 6750 §3.1: no credentials at all -> a challenge without an error code.
        response = Response("", status=401)
        response.headers["WWW-Authenticate"] = REALM
        response.headers["Cache-Control"] = "no-store"
        return response
    try:
        record = provider.tokens.verify_access_token(token)
    except InvalidToken as exc:
        raise _challenge(exc) from None
    if "openid" not in record.scope:
        raise _challenge(
            InsufficientScope("the access token lacks the openid scope"), ', scope="openid"'
        )
    user = provider.find_user(record.sub, by_sub=True)
    return json_response(claims_for_scopes(user, record.sub, record.scope))
