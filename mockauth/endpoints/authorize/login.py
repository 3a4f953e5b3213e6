"""The login page: the authenticator of ``login_page = true``.

``/authorize`` (the request validated as ever) answers with a server-rendered
sign-in page that works without JavaScript and loads nothing from elsewhere:
**Username** (pre-filled from ``login_hint``), **Password**, the buttons
**Sign in** (the form's first submit button, so Enter presses it) and
**Deny**, and **Sign in as <username>** for each configured user, each with a
``data-testid``. The form posts to ``/login``: a known user with the right
password (or without one), or an unknown name (a new user with that ``sub``,
unless ``known_users_only``), completes the request with its code; a wrong
password shows the form again with a ``role="alert"`` message; **Deny**
redirects with ``access_denied``. An SSO session (the cookie) skips the page
unless ``prompt=login`` or ``max_age`` has passed; ``prompt=none`` without
one is ``login_required`` (OIDC Core §3.1.2.1).

Cross-site request forgery: the form carries a token that must equal the
browser's, in a ``SameSite=Lax`` cookie set with the page, and the pending
request it names is used once. Everything echoed is escaped; the page may not
be framed by another site.
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...config import check_login_claims
from ...errors import (
    AccessDenied,
    ConsentRequired,
    ErrorStyle,
    InvalidRequest,
    LoginRequired,
    MockauthError,
    OAuthError,
    render,
)
from ...http import Response, form_params
from ...http.message import NO_STORE
from ...store import PendingLogin
from .interaction import Approved, current_session, new_session, reusable
from .respond import answer_error, approve

if TYPE_CHECKING:
    from ...http import Request
    from ...services import Services
    from ...users import User
    from .request import AuthorizationRequest

__all__ = [
    "CSRF_COOKIE", "LOGIN_PAGE", "LoginPage", "browser_token", "check_token", "error_redirect",
    "page_shell", "pending_of", "signed_in", "submit", "user_from_form", "with_token",
]  # fmt: skip

#: The cookie holding the form's anti-forgery token.
CSRF_COOKIE = "mockauth_login"
#: Seconds a login page stays usable.
PENDING_TTL = 600
#: What the claims textarea shows while empty.
_CLAIMS_HINT = '{"groups": ["admin"]} (optional, merged over the user\'s claims)'
#: The most one-click buttons a page shows (a directory of fake users may be large).
MAX_USER_BUTTONS = 20


class LoginPage:
    """Approve by the session when it may answer (SSO), else show the sign-in page."""

    def authenticate(
        self, s: Services, request: Request, areq: AuthorizationRequest
    ) -> Approved | Response:
        now = s.clock.now()
        current = current_session(s, request)
        if current is not None:
            user = s.users.find(current.sub, by_sub=True)
            hinted = areq.login_hint is None or (user is not None and user.matches(areq.login_hint))
            if user is not None and hinted and reusable(current, user, areq, now):
                return Approved(user, current, fresh=False)
        if "none" in areq.prompt:
            raise LoginRequired("prompt=none, but there is no matching login session")
        pending = _pending(s, request, areq, None)
        return _with_csrf(s, page(s, pending, username=areq.login_hint or ""), pending)

    def __repr__(self) -> str:
        return "LoginPage()"


LOGIN_PAGE = LoginPage()


def _pending(
    s: Services, request: Request, areq: AuthorizationRequest, approved: Approved | None
) -> PendingLogin:
    """A request waiting at a page, stored."""
    now = s.clock.now()
    # One token per browser (its cookie), so pages open in two tabs both work.
    pending = PendingLogin(
        login_id=secrets.token_urlsafe(16),
        csrf=browser_token(request),
        request=areq,
        expires_at=now + PENDING_TTL,
        approved=approved,
    )
    s.store.put_login(pending, now)
    return pending


def _with_csrf(s: Services, response: Response, pending: PendingLogin) -> Response:
    return with_token(s, response, pending.csrf)


@dataclass(frozen=True)
class _Form:
    action: str
    username: str
    password: str
    one_click: str | None
    claims: str

    @classmethod
    def posted(cls, request: Request) -> _Form:
        params = form_params(request)
        return cls(
            action=params.get("action") or "",
            username=(params.get("username") or "").strip(),
            password=params.get("password") or "",
            one_click=params.get("user"),
            claims=params.get("claims") or "",
        )


def pending_of(s: Services, request: Request) -> PendingLogin:
    """The pending login a posted form is for, with its anti-forgery token checked;
    anything else is a 400 page (nothing to redirect to that can be trusted).
    """
    params = form_params(request)
    login_id = params.get("login") or ""
    pending = s.store.login(login_id, s.clock.now())
    if pending is None:
        raise InvalidRequest(
            "this sign-in page has expired or was used: start again from the application",
            redirect=False,
        )
    token = params.get("csrf") or ""
    check_token(request, token)
    if not secrets.compare_digest(token, pending.csrf):
        raise InvalidRequest("the form's anti-forgery token is not this page's", redirect=False)
    return pending


def submit(s: Services, request: Request) -> Response:
    """The posted sign-in form: the code, the form again with what was wrong, or
    ``access_denied`` back at the client.
    """
    pending = pending_of(s, request)
    form = _Form.posted(request)
    if form.action == "deny":
        raise AccessDenied("the user denied the request")  # redirected by error_redirect
    if pending.approved is not None:  # the consent page: Allow
        if s.store.take_login(pending.login_id) is None:
            raise InvalidRequest("this page was already used", redirect=False)
        areq = pending.request
        s.store.consent(pending.approved.user.sub, areq.client.client_id, areq.scope)
        return approve(s, areq, pending.approved)
    claims, problem = _claims(form.claims)
    user = None
    if claims is not None:
        user, problem = _who(s, form)
    if user is None or claims is None:
        return page(s, pending, username=form.username, claims=form.claims, error=problem)
    if s.store.take_login(pending.login_id) is None:  # another tab used it meanwhile
        raise InvalidRequest("this sign-in page was already used", redirect=False)
    session = new_session(s, user, s.clock.now(), claims)
    approved = Approved(user, session, fresh=True)
    if consent_needed(s, pending.request, approved):
        return ask_consent(s, request, pending.request, approved)
    return approve(s, pending.request, approved)


def consent_needed(s: Services, areq: AuthorizationRequest, approved: Approved) -> bool:
    """Whether the user must allow the client's scopes first: the client's (or the
    provider's) ``require_consent`` and scopes not allowed before, or
    ``prompt=consent`` with the login page on (OIDC Core §3.1.2.1).
    """
    client = areq.client
    required = client.require_consent
    if required is None:
        required = s.config.require_consent
    if "consent" in areq.prompt and (s.config.login_page or required):
        return True
    if not required:
        return False
    allowed = s.store.consented(approved.user.sub, client.client_id)
    return allowed is None or not set(areq.scope) <= allowed


def ask_consent(
    s: Services, request: Request, areq: AuthorizationRequest, approved: Approved
) -> Response:
    """The consent page (``prompt=none``: ``consent_required`` instead)."""
    if "none" in areq.prompt:
        raise ConsentRequired(f"{approved.user.username or approved.user.sub} has not allowed "
                              f"{areq.client.client_id} these scopes")  # fmt: skip
    pending = _pending(s, request, areq, approved)
    return _with_csrf(s, consent_page(s, pending), pending)


def _claims(text: str) -> tuple[dict[str, Any] | None, str]:
    """The claims typed in the textarea (none: ``{}``), or why they are refused."""
    if not text.strip():
        return {}, ""
    try:
        claims = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"Claims are not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except ValueError:  # a number too long to read
        return None, "Claims are not JSON."
    problem = check_login_claims(claims)
    if problem is not None:
        return None, f"Claims: {problem}."
    return dict(claims), ""


def error_redirect(s: Services, request: Request, error: OAuthError) -> Response:
    """``error`` back at the client of the pending request, with ``state`` and
    ``iss``; the pending request is used up. A form for no pending request: a page.
    """
    try:
        pending = pending_of(s, request)
    except OAuthError as bad:
        return render(bad, ErrorStyle.PAGE, title="Sign-in failed")
    s.store.take_login(pending.login_id)
    return answer_error(s, pending.request, error)


def browser_token(request: Request) -> str:
    """This browser's anti-forgery token (its cookie's), or a new one."""
    current = request.cookies.get(CSRF_COOKIE) or ""
    return current if len(current) >= 32 else secrets.token_urlsafe(24)


def check_token(request: Request, token: str) -> None:
    """The posted form's token must be this browser's (the cookie's): else a 400 page."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    if not (token and secrets.compare_digest(token, cookie)):
        raise InvalidRequest(
            "the form's anti-forgery token does not match this browser's (cross-site request?)",
            redirect=False,
        )


def with_token(s: Services, response: Response, token: str) -> Response:
    """``response`` setting the browser's anti-forgery cookie (``SameSite=Lax``)."""
    response.set_cookie(CSRF_COOKIE, token, path=s.cookie_path, httponly=True, samesite="Lax")
    return response


def signed_in(s: Services, request: Request) -> User | None:
    """The user of this browser's login session, if it has a live one."""
    session = current_session(s, request)
    return None if session is None else s.users.find(session.sub, by_sub=True)


def user_from_form(s: Services, request: Request) -> tuple[User | None, str]:
    """The user a posted Username/Password (or one-click ``user``) names, or why not."""
    return _who(s, _Form.posted(request))


def _who(s: Services, form: _Form) -> tuple[User | None, str]:
    """The user the form signs in, or why not."""
    if form.one_click is not None:
        user = s.users.find(form.one_click)
        return (user, "") if user is not None else (None, f"No user {form.one_click!r}.")
    if not form.username:
        return None, "Enter a username."
    user = s.users.find(form.username)
    if user is None:
        if s.config.known_users_only:
            return None, f"No user {form.username!r}."
        try:
            return s.users.add(form.username, sub=form.username), ""
        except MockauthError as exc:  # not a usable name (or taken meanwhile)
            return None, str(exc)
    if user.password is not None and not secrets.compare_digest(
        form.password.encode(), user.password.encode()
    ):
        return None, f"Wrong password for {user.username}."
    return user, ""


_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2026}"
    "main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;"
    "box-shadow:0 1px 4px #0002}h1{margin-top:0;font-size:1.5rem}"
    "h2{font-size:1rem;margin:1.5rem 0 0}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;"
    "border:1px solid #8a8f98;border-radius:4px}"
    "button{margin-top:1.25rem;margin-right:.5rem;padding:.5rem 1rem;font:inherit;"
    "border-radius:4px;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}"
    "button.secondary{background:#fff;color:#1d4ed8}"
    "[role=alert]{background:#fde8e8;border:1px solid #c81e1e;color:#9b1c1c;padding:.5rem;"
    "border-radius:4px}ul.scopes{padding-left:1.25rem}small{color:#555}"
)


def page(
    s: Services,
    pending: PendingLogin,
    *,
    username: str = "",
    claims: str = "",
    error: str | None = None,
) -> Response:
    """The sign-in page for ``pending``; every value it shows is escaped."""
    e = html.escape
    areq: AuthorizationRequest = pending.request
    alert = f'<p role="alert" data-testid="error">{e(error)}</p>' if error else ""
    users = [u for u in s.users.all() if u.username][:MAX_USER_BUTTONS]
    one_click = "".join(
        f'<button type="submit" name="user" value="{e(u.username)}" class="secondary" '
        f'data-testid="sign-in-as-{e(u.username)}">Sign in as {e(u.username)}</button>'
        for u in users
    )
    others = f"<h2>Or sign in as</h2><p>{one_click}</p>" if one_click else ""
    content = (
        f"<h1>Sign in</h1>{_to_client(areq)}{alert}"
        f'<form method="post" action="{e(s.url_for("login"))}">{_hidden(pending)}'
        '<label for="username">Username</label>'
        f'<input id="username" name="username" value="{e(username)}" autocomplete="username" '
        'autocapitalize="none" data-testid="username">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        'data-testid="password">'
        '<label for="claims">Claims (JSON)</label>'
        '<textarea id="claims" name="claims" rows="3" spellcheck="false" data-testid="claims" '
        f'placeholder="{e(_CLAIMS_HINT)}">{e(claims)}</textarea>'
        '<p><button type="submit" name="action" value="sign-in" data-testid="sign-in">'
        "Sign in</button>"
        '<button type="submit" name="action" value="deny" class="secondary" data-testid="deny">'
        f"Deny</button></p>{others}</form>"
    )
    return page_shell(f"Sign in to {_name(areq)}", content)


def consent_page(s: Services, pending: PendingLogin) -> Response:
    """Allow or Deny the client's scopes, for the user who signed in."""
    areq: AuthorizationRequest = pending.request
    user = pending.approved.user
    content = (
        f"<h1>Allow access?</h1>{_to_client(areq)}"
        f'<p>Signed in as <strong data-testid="user">{html.escape(user.username or user.sub)}'
        "</strong>.</p>"
        f'<form method="post" action="{html.escape(s.url_for("login"))}">{_hidden(pending)}'
        '<p><button type="submit" name="action" value="allow" data-testid="allow">Allow</button>'
        '<button type="submit" name="action" value="deny" class="secondary" data-testid="deny">'
        "Deny</button></p></form>"
    )
    return page_shell(f"Allow {_name(areq)}?", content)


def _name(areq: AuthorizationRequest) -> str:
    return areq.client.client_name or areq.client.client_id


def _to_client(areq: AuthorizationRequest) -> str:
    """Who asks (its name and redirect host) and for which scopes, escaped."""
    e = html.escape
    host = urlsplit(areq.redirect_uri).netloc or areq.redirect_uri
    scopes = "".join(f"<li>{e(scope)}</li>" for scope in areq.scope) or "<li>(none)</li>"
    return (
        f'<p>to <strong data-testid="client-name">{e(_name(areq))}</strong> '
        f"<small>({e(host)})</small></p>"
        f'<p>It asks for:</p><ul class="scopes" data-testid="scopes">{scopes}</ul>'
    )


def _hidden(pending: PendingLogin) -> str:
    e = html.escape
    return (
        f'<input type="hidden" name="login" value="{e(pending.login_id)}">'
        f'<input type="hidden" name="csrf" value="{e(pending.csrf)}">'
    )


def page_shell(title: str, content: str) -> Response:
    """A page of mockauth's: escaped ``title``, ``content`` already escaped."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"{content}<p><small>mockauth: a mock OAuth provider for tests only</small></p>"
        "</main></body></html>"
    )
    response = Response(body, status=200, mimetype="text/html")
    for header, value in NO_STORE:
        response.headers[header] = value
    # No framing by other sites (clickjacking), nothing loaded from elsewhere.
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response
