"""What several grants check the same way: scope, audience, grant ids."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import InvalidScope, InvalidTarget
from ..ids import unique_hex

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params

__all__ = [
    "check_scope",
    "narrow_audience",
    "new_grant_id",
    "parse_scope",
    "requested_targets",
    "resolve_audience",
]

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse_scope(value: str | None) -> tuple[str, ...]:
    """Split a ``scope`` parameter into tokens, in order, without repeats (RFC 6749 §3.3)."""
    if not value:
        return ()
    tokens: list[str] = []
    for token in value.split(" "):
        if not token:
            continue
        if not _SCOPE_TOKEN.match(token):
            raise InvalidScope("scope contains characters RFC 6749 §3.3 does not allow")
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def check_scope(client: Client, scope: tuple[str, ...]) -> None:
    """``invalid_scope`` when ``scope`` asks for more than the client's registered
    ``scope`` (RFC 7591 §2) allows.
    """
    if not client.scopes_allowed(scope):
        extra = sorted(set(scope) - (client.allowed_scopes or set()))
        raise InvalidScope(f"scope not allowed for this client: {' '.join(extra)}")


def requested_targets(params: Params) -> tuple[str, ...]:
    """The targets a request names, in order and without repeats: each
    ``resource`` (RFC 8707 §2: an absolute URI without a fragment), then each
    ``audience`` (RFC 8693 §2.1: a logical name; space-separated names allowed).
    """
    resources = params.getlist("resource")
    for resource in resources:
        try:
            parts = urlsplit(resource)
        except ValueError:  # "http://[x"
            raise InvalidTarget("resource is not a URI (RFC 8707 §2)") from None
        if not parts.scheme or parts.fragment or "#" in resource:
            raise InvalidTarget("resource must be an absolute URI without a fragment (RFC 8707 §2)")
    audiences = [name for value in params.getlist("audience") for name in value.split()]
    return tuple(dict.fromkeys([*resources, *audiences]))


def resolve_audience(client: Client, params: Params) -> tuple[str, ...]:
    """The access token audience: the targets the request names (``resource``,
    ``audience``), else the client's registered audience, else the client id.
    ``invalid_target`` for a target outside the client's registered ``audience``.
    """
    requested = requested_targets(params)
    if requested:
        if client.audience and not set(requested) <= set(client.audience):
            refused = ", ".join(t for t in requested if t not in client.audience)
            raise InvalidTarget(f"not a registered audience of this client: {refused[:200]}")
        return requested
    return client.audience or (client.client_id,)


def narrow_audience(
    client: Client, params: Params, audience: tuple[str, ...], resources: tuple[str, ...]
) -> tuple[str, ...]:
    """The audience of an access token from a grant (a code, a refresh token)
    whose authorization named ``resources`` and earned ``audience``.

    RFC 8707 §2.2: targets named at the token request narrow what was granted,
    never widen it (``invalid_target``); naming none gets the whole grant. When
    the authorization named no target, the token request may name any the
    client may use.
    """
    requested = requested_targets(params)
    if not requested:
        return audience
    if not resources:
        return resolve_audience(client, params)
    wider = [t for t in requested if t not in resources]
    if wider:
        raise InvalidTarget(f"not granted by the authorization: {', '.join(wider)[:200]}")
    return requested


def new_grant_id() -> str:
    """A fresh id for a grant: the family of tokens one authorization produced."""
    return unique_hex()
