"""Errors, and the one place they become responses.

Two trees. :class:`OAuthError` and its subclasses are protocol errors, one
class per error code of the RFC that defines it; :func:`render` turns them
into spec-shaped responses in an endpoint's :class:`ErrorStyle` (JSON, a
``Basic`` or ``Bearer`` challenge, a redirect to the client, an HTML page).
:class:`MockauthError` and its subclasses report misuse of the library itself
(a bad config key, an unknown client id ...).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .http.message import Response

__all__ = [
    "AccessDenied",
    "ConfigError",
    "ConsentRequired",
    "ErrorStyle",
    "InsufficientScope",
    "InteractionRequired",
    "InvalidClient",
    "InvalidClientMetadata",
    "InvalidDpopProof",
    "InvalidGrant",
    "InvalidRedirectUri",
    "InvalidRequest",
    "InvalidRequestUri",
    "InvalidScope",
    "InvalidSoftwareStatement",
    "InvalidTarget",
    "InvalidToken",
    "LoginRequired",
    "MockauthError",
    "NotFound",
    "OAuthError",
    "RequestNotSupported",
    "RequestUriNotSupported",
    "ServerError",
    "ServerThreadError",
    "TemporarilyUnavailable",
    "UnapprovedSoftwareStatement",
    "UnauthorizedClient",
    "UnknownClientError",
    "UnknownResourceError",
    "UnknownUserError",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UnsupportedTokenType",
    "UseDpopNonce",
    "error_class",
    "render",
    "scripted_status",
]

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_NOT_DESCRIPTION_CHARS = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def clean_description(text: str) -> str:
    """Make ``text`` legal as an ``error_description`` (RFC 6749 §5.2)."""
    return _NOT_DESCRIPTION_CHARS.sub("?", text)[:500]


class OAuthError(Exception):
    """A protocol error with the status and code its RFC gives it."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400
    #: The scheme a resource challenges with for this error, unless told otherwise.
    default_scheme: ClassVar[str] = "Bearer"

    def __init__(
        self,
        description: str | None = None,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        redirect: bool = True,
        challenge: Mapping[str, str] | None = None,
        scheme: str | None = None,
    ) -> None:
        super().__init__(description or self.error)
        self.description = clean_description(description) if description else None
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]
        self.headers: dict[str, str] = dict(headers or {})
        #: False for errors that must never go back to the redirect URI: a bad
        #: client or redirect URI (RFC 6749 §4.1.2.1) is shown as a page.
        self.redirect = redirect
        #: Extra auth-params of a ``WWW-Authenticate`` challenge (``scope``, RFC 6750 §3).
        self.challenge: dict[str, str] = dict(challenge or {})
        #: The authentication scheme a resource challenges with (``DPoP``: RFC 9449 §7.1).
        self.scheme = scheme or self.default_scheme

    def to_dict(self) -> dict[str, str]:
        """The JSON body of RFC 6749 §5.2."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(OAuthError):
    """RFC 6749 §4.1.2.1, §5.2: missing, repeated or malformed parameter."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed (401)."""

    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: the grant (code, refresh token, password) is invalid."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: the client may not use this grant or response type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2: unknown ``grant_type``."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2: the scope is unknown, malformed or wider than allowed."""

    error = "invalid_scope"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: the resource owner or server denied the request."""

    error = "access_denied"
    status_code = 403


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not yet approved or denied the device request."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: polled faster than the interval; it grows by 5 s from now on."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code has expired; start again."""

    error = "expired_token"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: unknown ``response_type``."""

    error = "unsupported_response_type"


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1: the server failed unexpectedly."""

    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1: the server is overloaded or in maintenance."""

    error = "temporarily_unavailable"
    status_code = 503


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the ``resource`` parameter is not acceptable."""

    error = "invalid_target"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is expired, revoked or malformed (401)."""

    error = "invalid_token"
    status_code = 401


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token lacks the scope the resource needs (403)."""

    error = "insufficient_scope"
    status_code = 403


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1: the server cannot revoke this type of token."""

    error = "unsupported_token_type"


class LoginRequired(OAuthError):
    """OIDC Core §3.1.2.6: ``prompt=none`` but nobody is logged in."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OIDC Core §3.1.2.6: ``prompt=none``, but the user has not consented."""

    error = "consent_required"


class InteractionRequired(OAuthError):
    """OIDC Core §3.1.2.6: the request needs a user interaction."""

    error = "interaction_required"


class RequestNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: the ``request`` parameter is not supported."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: the ``request_uri`` parameter is not supported."""

    error = "request_uri_not_supported"


class InvalidDpopProof(OAuthError):
    """RFC 9449 §5: the DPoP proof is missing where required, or invalid."""

    error = "invalid_dpop_proof"
    default_scheme = "DPoP"


class UseDpopNonce(OAuthError):
    """RFC 9449 §8, §9: the proof must carry the server's nonce (sent in ``DPoP-Nonce``)."""

    error = "use_dpop_nonce"
    default_scheme = "DPoP"


class InvalidRequestUri(OAuthError):
    """OIDC Core §3.1.2.6, RFC 9126 §4: the ``request_uri`` is unknown, expired or used."""

    error = "invalid_request_uri"


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: a redirect URI of the registration is not acceptable."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a client metadata field is invalid."""

    error = "invalid_client_metadata"


class InvalidSoftwareStatement(OAuthError):
    """RFC 7591 §3.2.2: the software statement is invalid."""

    error = "invalid_software_statement"


class UnapprovedSoftwareStatement(OAuthError):
    """RFC 7591 §3.2.2: the software statement is valid but not approved here."""

    error = "unapproved_software_statement"


class NotFound(OAuthError):
    """No endpoint at this path (mockauth's own code: no RFC defines one)."""

    error = "not_found"
    status_code = 404


_BY_CODE: dict[str, type[OAuthError]] = {}


def _register(cls: type[OAuthError]) -> None:
    _BY_CODE[cls.error] = cls
    for sub in cls.__subclasses__():
        _register(sub)


def error_class(code: str) -> type[OAuthError]:
    """The class for an RFC error code (``"invalid_grant"`` -> :class:`InvalidGrant`).

    Unknown codes get a fresh subclass, so tests can script any error string.
    """
    if not _BY_CODE:
        _register(OAuthError)
    found = _BY_CODE.get(code)
    if found is None:
        found = type(f"OAuthError_{code}", (OAuthError,), {"error": code})
        _BY_CODE[code] = found
    return found


class ErrorStyle(enum.Enum):
    """How an endpoint shows its errors; :func:`render` turns an error into a response."""

    #: RFC 6749 §5.2: a JSON body, ``Cache-Control: no-store``.
    JSON = "json"
    #: JSON, and every 401 challenges for ``Basic`` client credentials (RFC 6749
    #: §5.2, RFC 9110 §15.5.2): the endpoints that authenticate clients.
    BASIC = "basic"
    #: RFC 6750 §3: a ``WWW-Authenticate: Bearer`` challenge with the error code.
    BEARER = "bearer"
    #: Back to the client's redirect URI with ``state`` and ``iss`` (RFC 6749
    #: §4.1.2.1, RFC 9207); a page when the client or redirect URI is not valid.
    REDIRECT = "redirect"
    #: An HTML page (a browser is on the other end).
    PAGE = "page"


# RFC 6749 §5.2: 400 unless specified otherwise; RFC 6750 §3.1 for bearer resources.
_JSON_STATUS = {"invalid_client": 401, "server_error": 500, "temporarily_unavailable": 503}
_BEARER_STATUS = {
    **_JSON_STATUS, "invalid_client": 400, "invalid_token": 401, "insufficient_scope": 403,
    "invalid_dpop_proof": 401, "use_dpop_nonce": 401,  # RFC 9449 §7.1, §9
}  # fmt: skip

REALM = "mockauth"


def scripted_status(code: str, style: ErrorStyle) -> int:
    """The status a scripted ``error=code`` gets at an endpoint of ``style``:
    what that endpoint itself would answer with the code.
    """
    table = _BEARER_STATUS if style is ErrorStyle.BEARER else _JSON_STATUS
    return table.get(code, 400)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def challenge(
    scheme: str, error: OAuthError | None = None, params: Mapping[str, str] | None = None
) -> str:
    """A ``WWW-Authenticate`` value (RFC 9110 §11.6.1) for ``scheme``, with the
    error code, description and extra auth-params of ``error`` (RFC 6750 §3),
    or just ``params`` for a request that carried no credentials (§3.1).
    """
    pairs = [f'realm="{REALM}"']
    extra = dict(params or {})
    if error is not None:
        pairs.append(f'error="{error.error}"')
        if error.description:
            pairs.append(f'error_description="{_quoted(error.description)}"')
        extra.update(error.challenge)
    pairs += [f'{k}="{_quoted(v)}"' for k, v in extra.items()]
    return f"{scheme} " + ", ".join(pairs)


def render(
    error: OAuthError,
    style: ErrorStyle,
    *,
    redirect: Callable[[OAuthError], Response] | None = None,
    title: str = "Request failed",
) -> Response:
    """The one place an :class:`OAuthError` becomes a response, in ``style``.

    ``redirect`` sends an error back to the client (the authorization
    endpoint's); without it, or for an error that must not be redirected,
    :attr:`ErrorStyle.REDIRECT` shows a page. Every 401 carries
    ``WWW-Authenticate`` (RFC 9110 §15.5.2).
    """
    from .http.message import html_page, json_response

    if style is ErrorStyle.REDIRECT:
        if redirect is not None and error.redirect:
            return redirect(error)
        style = ErrorStyle.PAGE
    if style is ErrorStyle.PAGE:
        return html_page(title, error.description or error.error, error.status_code)
    headers = dict(error.headers)
    if "WWW-Authenticate" not in headers:
        if style is ErrorStyle.BEARER:
            headers["WWW-Authenticate"] = challenge(error.scheme, error)
        elif error.status_code == 401:
            headers["WWW-Authenticate"] = challenge("Basic")
    return json_response(error.to_dict(), error.status_code, headers.items())


def no_credentials(scheme: str = "Bearer", params: Mapping[str, str] | None = None) -> Response:
    """The 401 of a protected resource asked without any credentials: a challenge
    with no error code (RFC 6750 §3.1), ``params`` its auth-params.
    """
    from .http.message import Response

    response = Response("", status=401)
    response.headers["WWW-Authenticate"] = challenge(scheme, params=params)
    response.headers["Cache-Control"] = "no-store"
    return response


class MockauthError(Exception):
    """Base class for misuse of the mockauth library itself."""


class ConfigError(MockauthError, ValueError):
    """A config value is wrong; ``key`` names it (``clients[0].redirect_uris``)."""

    def __init__(self, key: str, message: str, *, source: str | None = None) -> None:
        self.key = key
        self.message = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")


class UnknownClientError(MockauthError, KeyError):
    """No client is registered under that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown client"


class UnknownUserError(MockauthError, KeyError):
    """No user matches that subject, username or email."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown user"


class UnknownResourceError(MockauthError, KeyError):
    """No protected resource is served at that path."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown resource"


class ServerThreadError(MockauthError):
    """The live server hit an unexpected error while handling a request."""
