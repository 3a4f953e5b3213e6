"""The device code grant: polling the token endpoint (RFC 8628 §3.4 and §3.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..device import GRANT_TYPE
from ..errors import AccessDenied, AuthorizationPending, ExpiredToken, InvalidGrant, SlowDown
from ..tokens.response import TokenGrant, TokenResponse, issue
from . import Grant, register_grant
from .common import new_grant_id

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services

#: What RFC 8628 §3.5 adds to the interval at each ``slow_down``.
SLOW_DOWN_STEP = 5


class DeviceCodeGrant(Grant):
    """Tokens once the user approved the device request; until then the §3.5 errors.

    Judged on the provider clock: polling sooner than ``interval`` after the last
    poll is ``slow_down``, and the interval grows by 5 s for this device code from
    then on. A device code is redeemed once; an unknown one, or another client's,
    is ``invalid_grant``.
    """

    grant_type = GRANT_TYPE
    secret_params = frozenset({"device_code"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        code = params.require("device_code")
        now = s.clock.now()
        with s.store.lock:
            device = s.store.devices.items.get(code)
            if device is None or device.client_id != client.client_id:
                raise InvalidGrant("unknown device_code")
            if device.status == "used":
                raise InvalidGrant("this device_code was redeemed already")
            if now >= device.expires_at:
                raise ExpiredToken("the device_code has expired; start again")
            if device.status == "denied":
                raise AccessDenied("the user denied the request", status_code=400)
            last, device.last_poll = device.last_poll, now
            device.polls += 1
            if last is not None and now - last < device.interval:
                device.interval += SLOW_DOWN_STEP
                raise SlowDown(f"poll at most every {device.interval} s")
            if device.status == "pending" or device.sub is None:
                raise AuthorizationPending("the user has not decided yet")
            device.status = "used"
            sub, auth_time = device.sub, device.auth_time
        grant = TokenGrant(
            client=client,
            sub=sub,
            scope=device.scope,
            audience=device.audience,
            grant_id=new_grant_id(),
            auth_time=auth_time,
            user_bound=True,
        )
        return issue(s, grant)


register_grant(DeviceCodeGrant())
