"""The admin HTTP API of the standalone server, under ``/_mockauth/``.

Everything a Python test does to a :class:`~mockauth.Provider` (clients,
users, scenario rules, the clock, keys, minted tokens, the journal), a test
suite in any language can do over plain JSON requests.

Security: the API answers only requests from a loopback address
(``REMOTE_ADDR``; nothing else, no forwarding headers) and only with the
per-run token in the ``X-Mockauth-Admin-Token`` header (401 without it, 403
when it is wrong). The OpenAPI description at ``/_mockauth/openapi.json``
needs no token: it holds no secrets, and clients can generate code from it.

Bad input gets a 4xx JSON answer ``{"error": ..., "key": ..., "message": ...}``
where ``key`` names the offending field (``redirect_uris[0]``,
``sequence[1].status``, ``seconds``), never a 500. Bodies are JSON
(``Content-Type: application/json``) of at most 64 KiB, like every request.
"""

from __future__ import annotations

from ..server import ROOT_APPS
from .access import ADMIN_PREFIX, TOKEN_HEADER, new_token
from .access import check_token as check_token
from .access import is_loopback as is_loopback
from .app import Admin
from .context import Context as Context
from .errors import AdminError as AdminError
from .errors import bad as bad
from .errors import conflict as conflict
from .errors import not_found as not_found
from .inputs import Check as Check
from .route import Route as Route
from .routes import ROUTES as ROUTES
from .routes import openapi
from .views import call_json as call_json
from .views import client_json as client_json
from .views import clock_json as clock_json
from .views import issuer_json as issuer_json
from .views import key_json as key_json
from .views import user_json as user_json

# The server mounts the admin API by name: it imports nothing of this package.
ROOT_APPS["admin"] = Admin

__all__ = ["ADMIN_PREFIX", "TOKEN_HEADER", "Admin", "new_token", "openapi"]
