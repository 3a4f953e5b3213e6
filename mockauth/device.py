"""The device authorization grant (RFC 8628): codes, and the user's decision.

The device authorization endpoint (:mod:`mockauth.endpoints.device`) starts a
request; the user approves or denies it at the verification URI, from Python
(:meth:`mockauth.Provider.approve_device`) or over the admin API; the client
polls the token endpoint (:mod:`mockauth.grants.device_code`) until then.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .errors import MockauthError
from .store import DeviceAuthorization

if TYPE_CHECKING:
    from .clients import Client
    from .services import Services
    from .users import User

__all__ = [
    "GRANT_TYPE",
    "USER_CODE_ALPHABET",
    "UnknownDeviceError",
    "decide",
    "decide_record",
    "format_user_code",
    "normalise",
    "start",
]

#: The grant type of polling requests (RFC 8628 §3.4).
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
#: Base-20 consonants: no vowels (no words), nothing that reads as a digit (RFC 8628 §6.1).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_USER_CODE_LENGTH = 8


class UnknownDeviceError(MockauthError, KeyError):
    """No device authorization has that user code (or it is long forgotten)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown user code"


def normalise(user_code: str) -> str:
    """A user code as typed, matched case-insensitively with separators ignored (§6.1)."""
    return "".join(c for c in user_code.upper() if c.isalnum())


def format_user_code(user_code: str) -> str:
    """``BCDFGHJK`` shown as ``BCDF-GHJK``."""
    return f"{user_code[:4]}-{user_code[4:]}"


def _new_user_code(s: Services) -> str:
    while True:
        code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(_USER_CODE_LENGTH))
        if s.store.device_by_user_code(code) is None:
            return code


def start(
    s: Services, client: Client, scope: tuple[str, ...], audience: tuple[str, ...]
) -> DeviceAuthorization:
    """A new pending device authorization for ``client`` (RFC 8628 §3.2)."""
    now = s.clock.now()
    settings = s.config.tokens
    device = DeviceAuthorization(
        device_code=secrets.token_urlsafe(32),
        user_code=_new_user_code(s),
        client_id=client.client_id,
        scope=scope,
        audience=audience,
        expires_at=now + settings.device_code_ttl,
        interval=settings.device_interval,
    )
    s.store.put_device(device, now)
    return device


def decide(s: Services, user_code: str, user: User | None, *, approve: bool) -> DeviceAuthorization:
    """Approve (as ``user``) or deny the pending request ``user_code`` names.

    :class:`~mockauth.errors.MockauthError` for a code that names no request, one
    that expired, or one already decided.
    """
    device = s.store.device_by_user_code(normalise(user_code))
    if device is None:
        raise UnknownDeviceError(f"no device authorization has the user code {user_code!r}")
    decide_record(s, device, user, approve=approve)
    return device


def decide_record(
    s: Services, device: DeviceAuthorization, user: User | None, *, approve: bool
) -> None:
    """:func:`decide` for a device authorization already in hand."""
    user_code = format_user_code(device.user_code)
    if s.clock.now() >= device.expires_at:
        raise MockauthError(f"the device authorization {user_code!r} has expired")
    if device.status != "pending":
        done = {"used": "approved already, and its tokens issued"}.get(device.status)
        raise MockauthError(
            f"the device authorization {user_code!r} was {done or device.status + ' already'}"
        )
    with s.store.lock:
        if approve:
            chosen = user or s.users.default()
            device.sub, device.auth_time = chosen.sub, int(s.clock.now())
            device.status = "approved"
        else:
            device.status = "denied"
