"""The resource-server side: checking an access token the way an API (an MCP
server, a resource server under test) should, against this provider.

:func:`validate_access_token` is what ``provider.validate_token()`` runs: the
token must be one this provider issued and still honours (signature, issuer,
expiry, revocation: :meth:`~mockauth.tokens.TokenService.verify_access_token`),
meant for the resource (``aud``, RFC 9068 §4, RFC 8707), carrying the scopes
asked for (RFC 6750 §3.1 ``insufficient_scope``), and, with a request, presented
as its binding wants (a DPoP-bound token only with a proof, RFC 9449 §7).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from . import dpop
from .errors import InsufficientScope, InvalidToken

if TYPE_CHECKING:
    from .http import Request
    from .services import Services

__all__ = ["ValidationOptions", "validate_access_token"]


class ValidationOptions(TypedDict, total=False):
    """What a resource checks besides the token being live and this issuer's
    (the options of ``provider.validate_token()``)."""

    audience: str | Iterable[str] | None
    scopes: Iterable[str]
    request: Request | None
    url: str | None
    require_dpop: bool


def validate_access_token(
    s: Services, token: str, **options: Unpack[ValidationOptions]
) -> dict[str, Any]:
    """The claims of ``token`` once it checks out for this resource; otherwise
    :class:`~mockauth.errors.InvalidToken` (401) or
    :class:`~mockauth.errors.InsufficientScope` (403, its ``challenge`` naming
    the scope), each saying what failed.

    ``audience``: the resource's identifiers, one of which ``aud`` must name.
    ``request`` (with the resource's ``url``): the request that presented the
    token, so a DPoP-bound token is checked against its proof and an unbound
    one refused under the ``DPoP`` scheme. ``require_dpop``: a Bearer token is
    refused too (RFC 9728 §2 ``dpop_bound_access_tokens_required``).
    """
    audience, scopes = options.get("audience"), tuple(options.get("scopes", ()))
    request, url = options.get("request"), options.get("url")
    record = s.tokens.verify_access_token(token)
    wanted = [audience] if isinstance(audience, str) else list(audience or ())
    if wanted and not set(wanted) & set(record.audience):
        shown = ", ".join(record.audience) or "none"
        raise InvalidToken(f"the token is not for this resource (its aud: {shown[:200]})")
    missing = [scope for scope in scopes if scope not in record.scope]
    if missing:
        needed = " ".join(scopes)
        raise InsufficientScope(
            f"the token lacks the scope {' '.join(missing)}", challenge={"scope": needed}
        )
    if request is not None:
        if url is None:
            raise ValueError("validate_access_token(): a request needs the resource's url")
        dpop.check_presentation(s, request, token, record, url)
    elif record.token_type == "DPoP":
        raise InvalidToken("the token is DPoP-bound: check it with the request that carried it")
    if options.get("require_dpop") and record.token_type != "DPoP":
        raise dpop.at_resource(InvalidToken("this resource takes DPoP-bound tokens only"))
    claims = dict(record.claims)
    claims.setdefault("sub", record.sub)
    claims.setdefault("client_id", record.client_id)
    if record.scope:
        claims.setdefault("scope", " ".join(record.scope))
    return claims
