"""The built-in capabilities, registered on import: the grants, the client
authentication methods, the endpoints (in the order discovery lists them)
and the fault kinds. Importing :mod:`mockauth` imports this; every
registry reader then sees them.
"""

from __future__ import annotations

from .clientauth import secret
from .endpoints import (
    authorize,
    discovery,
    end_session,
    introspect,
    jwks,
    revoke,
    token,
    userinfo,
)
from .faults import documents, http, oauth, tokens
from .grants import authorization_code, client_credentials, password, refresh_token

__all__ = ["ENDPOINT_MODULES", "FAULT_MODULES", "GRANT_MODULES"]

ENDPOINT_MODULES = (discovery, jwks, authorize, token, userinfo, introspect, revoke, end_session)
GRANT_MODULES = (authorization_code, refresh_token, client_credentials, password)
FAULT_MODULES = (http, oauth, documents, tokens)
_ = secret
