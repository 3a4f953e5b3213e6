"""Admin requests that cannot be served: a 4xx with a JSON body naming the bad key."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from ..http import Response
from .views import _reply


class AdminError(Exception):
    """An admin request that cannot be served: a 4xx with a JSON body naming the key."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.key = key
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body = {"error": self.error, "key": self.key, "message": self.message}
        return _reply(body, self.status, self.headers.items())


def bad(key: str | None, message: str) -> AdminError:
    """400 ``invalid_input``: ``key`` is what was wrong."""
    return AdminError(400, "invalid_input", message, key)


def not_found(what: str, key: str | None = None) -> AdminError:
    return AdminError(404, "not_found", what, key)


def conflict(message: str, key: str | None = None) -> AdminError:
    return AdminError(409, "conflict", message, key)


def _from_config_error(exc: ConfigError) -> AdminError:
    return bad(exc.key or None, exc.message)
