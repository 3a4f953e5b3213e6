"""Who approves an authorization request: the :class:`Authenticator` policy.

:class:`AutoApprove` (the default, and all there is without a login page)
approves at once as the user named by ``login_hint``, else the user of the
current session, else the default user, honouring ``prompt`` and ``max_age``
(OIDC Core §3.1.2.1). A login page is another authenticator: it answers
with a page instead of :class:`Approved` and resumes the same request later.
"""

from __future__ import annotations

import secrets
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import LoginRequired
from ...store import Session

if TYPE_CHECKING:
    from ...http import Request, Response
    from ...services import Services
    from ...users import User
    from .request import AuthorizationRequest

__all__ = ["AUTO_APPROVE", "Approved", "Authenticator", "AutoApprove"]


@dataclass(frozen=True)
class Approved:
    """The user approved the request, in ``session``; ``fresh`` when it is a new
    login. The session's ``claims`` (typed at the login page) go into the tokens.
    """

    user: User
    session: Session
    fresh: bool


class Authenticator(Protocol):
    """Decides who approves an authorization request, or answers with a page."""

    def authenticate(
        self, s: Services, request: Request, areq: AuthorizationRequest
    ) -> Approved | Response: ...


class AutoApprove:
    """Approve at once (no login page): ``login_hint``, the session, or the default user."""

    def authenticate(
        self, s: Services, request: Request, areq: AuthorizationRequest
    ) -> Approved | Response:
        now = s.clock.now()
        current = current_session(s, request)
        user: User | None
        if areq.login_hint is not None:
            user = s.users.find(areq.login_hint)
            if user is None:
                raise LoginRequired(
                    f"login_hint {areq.login_hint[:80]!r} matches no user of this provider"
                )
        elif current is not None:
            user = s.users.find(current.sub, by_sub=True)
        else:
            user = None
        if user is None:
            user = s.users.default()
        if current is not None and reusable(current, user, areq, now):
            return Approved(user, current, fresh=False)
        if "none" in areq.prompt:
            raise LoginRequired("prompt=none, but there is no matching login session")
        return Approved(user, new_session(s, user, now), fresh=True)

    def __repr__(self) -> str:
        return "AutoApprove()"


AUTO_APPROVE = AutoApprove()

_CHOSEN: weakref.WeakKeyDictionary[Services, Authenticator] = weakref.WeakKeyDictionary()


def use_authenticator(s: Services, authenticator: Authenticator | None) -> None:
    """Let ``authenticator`` approve the authorization requests of ``s``'s issuer
    (``None``: back to the default).
    """
    if authenticator is None:
        _CHOSEN.pop(s, None)
    else:
        _CHOSEN[s] = authenticator


def authenticator_for(s: Services) -> Authenticator:
    """Who approves authorization requests at ``s``'s issuer (:class:`AutoApprove` by default)."""
    return _CHOSEN.get(s, AUTO_APPROVE)


def current_session(s: Services, request: Request) -> Session | None:
    """The live login session this browser's cookie names, if any."""
    return s.store.session(request.cookies.get(s.session_cookie) or "", s.clock.now())


def queued_login(s: Services) -> Approved | None:
    """The login a test queued (``provider.next_login``), taken: it completes this
    request at once, as if that user had used the login page; ``None`` if none.
    """
    taken = s.store.take_next_login()
    if taken is None:
        return None
    sub, claims = taken
    user = s.users.find(sub, by_sub=True)
    if user is None:  # removed since it was queued
        raise LoginRequired(f"the queued login's user {sub!r} is no longer registered")
    return Approved(user, new_session(s, user, s.clock.now(), claims), fresh=True)


def reusable(session: Session, user: User, areq: AuthorizationRequest, now: float) -> bool:
    """Whether ``session`` may answer ``areq`` without a new login (OIDC Core §3.1.2.1)."""
    max_age = areq.max_age
    return (
        session.sub == user.sub
        and "login" not in areq.prompt
        # max_age=0 is prompt=login, even within the same second.
        and (max_age is None or (max_age > 0 and now - session.auth_time <= max_age))
    )


def new_session(
    s: Services, user: User, now: float, claims: Mapping[str, Any] | None = None
) -> Session:
    """A fresh login session for ``user``, stored; ``claims`` are the login's own."""
    session = Session(
        sid=secrets.token_urlsafe(16),
        sub=user.sub,
        auth_time=int(now),
        expires_at=now + s.config.tokens.session_ttl,
        claims=dict(claims or {}),
    )
    s.store.put_session(session, now)
    return session
