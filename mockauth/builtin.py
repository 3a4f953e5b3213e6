"""The built-in capabilities, registered on import: the grants, the client
authentication methods and the endpoints (in the order discovery lists them).
Importing :mod:`mockauth` imports this; every registry reader then sees them.
The fault kinds register when :mod:`mockauth.faults.tables` (where plain data
becomes a fault) is first imported: a plain start does not load them.
"""

from __future__ import annotations

# isort: off
# Registration follows import order: the order discovery lists endpoints and grants in.
from .endpoints import discovery, jwks, authorize, token, userinfo, introspect, revoke
from .endpoints import end_session, device, registration, par, resource, login
from .grants import authorization_code, refresh_token, client_credentials, password
from .grants import device_code, jwt_bearer, token_exchange
from .clientauth import secret, assertion

# isort: on

__all__ = ["ENDPOINT_MODULES", "GRANT_MODULES"]

ENDPOINT_MODULES = (
    discovery, jwks, authorize, token, userinfo, introspect, revoke, end_session, device,
    registration, par, resource, login,
)  # fmt: skip
GRANT_MODULES = (
    authorization_code, refresh_token, client_credentials, password, device_code, jwt_bearer,
    token_exchange,
)  # fmt: skip
_ = (secret, assertion)
