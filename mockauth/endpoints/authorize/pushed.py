"""The authorization endpoint's side of pushed requests (RFC 9126 §4, §5): a
``request_uri`` stands for the parameters pushed to ``/par``, once, and a
provider or client may insist on pushed requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from ...errors import InvalidRequest, InvalidRequestUri
from ...http import Params

if TYPE_CHECKING:
    from ...clients import Client
    from ...services import Services

__all__ = ["REQUEST_URI_PREFIX", "pushed_params", "requires_par"]

#: RFC 9126 §2.2.
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def pushed_params(s: Services, params: Params) -> Params:
    """The parameters a ``request_uri`` stands for (RFC 9126 §4), taken once; an
    unknown, used, expired or another client's ``request_uri`` is
    ``invalid_request_uri``, shown as a page (there is no redirect URI to trust).
    """
    request_uri = params.require("request_uri")
    client_id = params.get("client_id")
    if client_id is None:
        raise InvalidRequest("client_id is required with request_uri (RFC 9126 §4)",
                             redirect=False)  # fmt: skip
    pushed = s.store.take_pushed(request_uri)
    if pushed is None:
        raise InvalidRequestUri("unknown or already used request_uri", redirect=False)
    if pushed.expires_at <= s.clock.now():
        raise InvalidRequestUri("the request_uri has expired", redirect=False)
    if pushed.client_id != client_id:
        raise InvalidRequestUri("the request_uri was pushed by another client", redirect=False)
    return Params(MultiDict(pushed.params))


def requires_par(s: Services, client: Client) -> bool:
    """RFC 9126 §5-6: the provider, or the client's registration, asks for pushed requests."""
    return (
        s.config.require_pushed_authorization_requests
        or client.require_pushed_authorization_requests
    )
