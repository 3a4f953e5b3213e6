"""One admin request: its path parameters, its body (JSON or TOML), its query and
the provider it is for.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..http import BodyError, Request
from .access import ADMIN_PREFIX
from .errors import AdminError, bad, not_found
from .inputs import _describe, _no_constant, _no_duplicates, _toml, _unknown

if TYPE_CHECKING:
    from ..provider import Provider
    from ..server import Dispatcher


class RouteInfo(Protocol):
    """What a request's context needs of its route (:class:`~mockauth.admin.route.Route`)."""

    @property
    def query(self) -> tuple[str, ...]: ...


class Admin(Protocol):
    """What a request's context needs of the admin app (:class:`~mockauth.admin.app.Admin`)."""

    def remember(self, provider: Provider) -> None: ...
    def reset(self, provider: Provider) -> None: ...


@dataclass
class Context:
    """One admin request: the path parameters, the body, the provider it is for."""

    admin: Admin
    dispatcher: Dispatcher
    request: Request
    params: dict[str, str]
    route: RouteInfo
    _body: Any = field(default=None, init=False)
    _parsed: bool = field(default=False, init=False)

    @property
    def provider(self) -> Provider:
        issuer_id = self.params["issuer_id"]
        for provider in self.dispatcher.providers:
            if provider.issuer_id == issuer_id:
                self.admin.remember(provider)
                found: Provider = provider
                return found
        raise not_found(f"no issuer {issuer_id!r}", "issuer_id")

    def body(self, *, toml: bool = False) -> dict[str, Any]:
        """The JSON object sent (``{}`` for an empty body); with ``toml``, a TOML
        document is accepted too (``Content-Type: application/toml``).
        """
        if not self._parsed:
            self._body = self._read_body(toml)
            self._parsed = True
        return typing.cast("dict[str, Any]", self._body)

    def _read_body(self, toml: bool) -> dict[str, Any]:
        request = self.request
        try:
            raw = request.get_data()
        except BodyError as exc:
            if exc.status == 413:
                raise AdminError(413, "too_large", exc.message) from None
            raise bad(None, exc.message) from None
        if not raw.strip():
            return {}
        mimetype = request.mimetype
        if toml and mimetype == "application/toml":
            return _toml(raw)
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            also = " or application/toml" if toml else ""
            raise AdminError(
                415,
                "unsupported_media_type",
                f"send JSON with Content-Type: application/json{also}, not "
                f"{mimetype or 'none'} (curl: --json '{{...}}')",
            )
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise bad(None, "the body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise AdminError(
                400, "invalid_json", f"the body is not JSON: {exc.msg} at {exc.pos}"
            ) from None
        except ValueError as exc:  # an integer of more than 4300 digits
            raise AdminError(400, "invalid_json", f"the body is not usable JSON: {exc}") from None
        except RecursionError:
            raise bad(None, "the JSON is nested too deeply") from None
        if not isinstance(data, dict):
            raise bad(None, f"expected a JSON object, got {_describe(data)}")
        return data

    def query(self) -> dict[str, str]:
        """The query parameters, each given at most once and each one the route knows."""
        found: dict[str, str] = {}
        for name, values in self.request.args.lists():
            if name not in self.route.query:
                raise _unknown(name, self.route.query)
            if len(values) > 1:
                raise bad(name, "given more than once")
            found[name] = values[0]
        return found

    def url(self, path: str) -> str:
        return self.request.host_url.rstrip("/") + ADMIN_PREFIX + path
