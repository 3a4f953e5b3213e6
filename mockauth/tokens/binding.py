"""Sender constraints: how an access token is bound to whoever presents it.

``Bearer`` (RFC 6750) binds nothing: whoever holds the token may use it.
DPoP (RFC 9449) will bind the token to a key (``cnf.jkt``) and present it
with the ``DPoP`` scheme; it plugs in here without touching the token
response, the resource side or introspection.

:func:`resource_token` reads the access token a resource request presents
(userinfo today; any protected resource of the provider later).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InvalidRequest
from ..http import form_params, is_form

if TYPE_CHECKING:
    from ..http import Request
    from ..store import AccessRecord

__all__ = [
    "BEARER",
    "Bearer",
    "SenderConstraint",
    "current_constraint",
    "presented_with_dpop",
    "resource_token",
    "sending",
]


class SenderConstraint(Protocol):
    """A way of binding tokens to their sender."""

    @property
    def token_type(self) -> str:
        """The ``token_type`` of the token response (RFC 6749 §7.1) and the scheme."""
        ...

    @property
    def jkt(self) -> str | None:
        """The thumbprint of the key tokens are bound to (``cnf.jkt``), if any."""
        ...

    def confirm(self, claims: dict[str, Any]) -> None:
        """Add the confirmation (``cnf``, RFC 7800) to an access token's claims."""

    def verify(self, request: Request, record: AccessRecord) -> None:
        """Raise :class:`~mockauth.errors.InvalidToken` if ``request`` may not use the token."""


class Bearer:
    """RFC 6750: no binding; the token is presented as ``Authorization: Bearer``."""

    token_type = "Bearer"
    jkt = None

    def confirm(self, claims: dict[str, Any]) -> None:
        return None

    def verify(self, request: Request, record: AccessRecord) -> None:
        return None

    def __repr__(self) -> str:
        return "Bearer()"


BEARER = Bearer()


def resource_token(request: Request) -> str | None:
    """The access token from the ``Authorization`` header (``Bearer``, or ``DPoP``
    RFC 9449 §7.1) or a form body, not both (RFC 6750 §2.1, §2.2); ``None``
    when the request carries none.
    Errors render with a ``Bearer`` challenge (RFC 6750 §3).
    """
    header = request.headers.get("Authorization")
    from_header = None
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not value.strip():
            raise InvalidRequest(
                "the Authorization header must be 'Bearer <token>' or 'DPoP <token>'"
            )
        from_header = value.strip()
    from_body = None
    if request.method == "POST" and is_form(request):
        params = form_params(request)
        if "access_token" in params.duplicates:
            raise InvalidRequest("access_token sent more than once")
        from_body = params.get("access_token")
    if from_header and from_body:
        raise InvalidRequest("send the access token in one place only (RFC 6750 §2)")
    return from_header or from_body


def presented_with_dpop(request: Request) -> bool:
    """Whether the token came with the ``DPoP`` scheme (RFC 9449 §7.1)."""
    scheme = (request.headers.get("Authorization") or "").strip().partition(" ")[0]
    return scheme.lower() == "dpop"


_SENDING: ContextVar[SenderConstraint] = ContextVar("mockauth_sender", default=BEARER)


@contextmanager
def sending(constraint: SenderConstraint) -> Iterator[None]:
    """Tokens minted in this block are bound by ``constraint`` (the token request's proof)."""
    token = _SENDING.set(constraint)
    try:
        yield
    finally:
        _SENDING.reset(token)


def current_constraint() -> SenderConstraint:
    """The sender constraint of the token request being answered (``Bearer`` without a proof)."""
    return _SENDING.get()
