"""The mock protected resources (:mod:`mockauth.resources`) on the wire: each
one's metadata (RFC 9728 §3) and the resource itself, a bearer-protected API
(RFC 6750) that answers with what the token it was called with says.

What MCP clients need of a resource server: a 401 without a token whose
challenge names the metadata (``resource_metadata``, RFC 9728 §5.1) and the
scopes to ask for; 401 ``invalid_token`` for a token not issued for it
(its ``aud``, RFC 8707) and 403 ``insufficient_scope`` naming the scopes (step
up); DPoP-bound tokens checked against their proof (RFC 9449 §7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ErrorStyle, NotFound, no_credentials
from ..http import Response, json_response
from ..resource import validate_access_token
from ..tokens.binding import resource_token
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..http import Request
    from ..resources import ProtectedResource
    from ..services import Services

#: The methods a resource answers: an API's, whatever the client does with it.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _served(s: Services, request: Request) -> ProtectedResource | None:
    return s.resources.get(request.route_params.get("resource", ""))


def _resource(s: Services, request: Request) -> ProtectedResource:
    found = _served(s, request)
    if found is None:  # removed while the request was on its way
        raise NotFound(f"no resource at {request.path[:200]}")
    return found


def metadata(s: Services, request: Request) -> Response:
    """Protected resource metadata (RFC 9728 §3.2) naming this issuer."""
    return json_response(_resource(s, request).metadata(s.issuer), cache=True)


def challenge_params(s: Services, request: Request) -> Mapping[str, str]:
    """Where the resource's metadata is (RFC 9728 §5.1), and the scopes it
    wants (RFC 6750 §3; the MCP authorization spec's scope selection).
    """
    found = _served(s, request)
    if found is None:
        return {}
    params = {"resource_metadata": found.metadata_url}
    if found.config.scopes:
        params["scope"] = " ".join(found.config.scopes)
    return params


def handle(s: Services, request: Request) -> Response:
    """The token's claims, once it checks out for this resource."""
    resource = _resource(s, request)
    token = resource_token(request)
    if token is None:
        scheme = "DPoP" if resource.config.dpop_required else "Bearer"
        return no_credentials(scheme, challenge_params(s, request))
    claims = validate_access_token(
        s,
        token,
        audience=resource.audiences,
        scopes=resource.config.scopes,
        request=request,
        url=s.request_base + request.path,
        require_dpop=resource.config.dpop_required,
    )
    return json_response(
        {
            "resource": resource.url,
            "method": request.method,
            "path": request.path,
            "sub": claims.get("sub"),
            "client_id": claims.get("client_id"),
            "scope": claims.get("scope", ""),
            "claims": claims,
        }
    )


RESOURCE = register_endpoint(
    Endpoint(
        "resource",
        "/{resource}",
        _METHODS,
        handle,
        errors=ErrorStyle.BEARER,
        mount="resource",
        challenge=challenge_params,
        error_codes=frozenset(
            {"invalid_token", "insufficient_scope", "invalid_dpop_proof", "use_dpop_nonce"}
        ),
    )
)
METADATA = register_endpoint(
    Endpoint(
        "resource_metadata",
        "/.well-known/oauth-protected-resource/{resource}",
        ("GET", "HEAD"),
        metadata,
        mount="resource",
    )
)
