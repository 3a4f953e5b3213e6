"""OpenID Provider Configuration (OIDC Discovery §4) and RFC 8414 metadata, the
same document at every URL a client tries: ``{issuer}/.well-known/openid-configuration``,
``{issuer}/.well-known/oauth-authorization-server`` and, at the server root,
``/.well-known/oauth-authorization-server{issuer path}`` and
``/.well-known/openid-configuration{issuer path}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..http import json_response
from ..metadata import build_metadata
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..services import Services


def handle(s: Services, request: Request) -> Response:
    """The same document serves every well-known form (RFC 8414 §3)."""
    return json_response(build_metadata(s), cache=True)


ENDPOINT = register_endpoint(
    Endpoint(
        "discovery",
        "/.well-known/openid-configuration",
        ("GET", "HEAD"),
        handle,
        aliases=("/.well-known/oauth-authorization-server",),
        # RFC 8414 §3.1 path insertion, and OIDC's form of it: MCP clients try both
        # before the OIDC Discovery §4 form under the issuer.
        root_well_known=("oauth-authorization-server", "openid-configuration"),
    )
)
