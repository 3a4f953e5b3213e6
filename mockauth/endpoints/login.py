"""Where the login page's form posts (``login_page = true``): signing in, or
denying, for one pending authorization request (:mod:`.authorize.login`).
"""

from __future__ import annotations

from ..errors import ErrorStyle
from . import Endpoint, register_endpoint
from .authorize.login import error_redirect, submit

ENDPOINT = register_endpoint(
    Endpoint(
        "login",
        "/login",
        ("POST",),
        submit,
        errors=ErrorStyle.REDIRECT,
        cors=False,  # a browser posts its form here
        redirect=error_redirect,
        page_title="Sign-in failed",
        enabled=lambda s: s.config.login_page,
        secret_params=frozenset({"password", "csrf"}),
        # RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6: what a login may end in.
        error_codes=frozenset(
            {"access_denied", "login_required", "interaction_required", "consent_required"}
        ),
    )
)
