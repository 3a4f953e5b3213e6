"""Discovery metadata (OIDC Discovery §3, RFC 8414 §2) read off the registries.

Endpoint URLs come from the endpoint registry, ``grant_types_supported``
from the grants, the ``*_endpoint_auth_methods_supported`` lists (and their
signing algorithms) from the client authentication methods of every endpoint
that authenticates clients, response types and modes from the authorization
endpoint, PKCE methods from :mod:`mockauth.pkce`. Metadata matches behaviour
because it is made from the code that behaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import dpop, pkce
from .config import SCOPE_CLAIMS
from .endpoints import endpoints
from .registry import AUTH_METHODS, GRANTS

if TYPE_CHECKING:
    from .services import Services

__all__ = ["ID_TOKEN_CLAIMS", "build_metadata"]

#: Claims every ID token may carry (OIDC Core §2, §3.3.2.11), before the scoped ones.
ID_TOKEN_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash",
                   "c_hash", "sid")  # fmt: skip


def _auth_key(metadata_key: str) -> str:
    # "token_endpoint" -> "token_endpoint_auth_methods_supported" (RFC 8414 §2)
    return metadata_key + "_auth_methods_supported"


def build_metadata(s: Services) -> dict[str, Any]:
    """The discovery document of ``s``'s issuer; empty lists are left out
    (OIDC Discovery §3, RFC 8414 §2: omit rather than publish an empty list).
    """
    # Here, not at the top: discovery imports this module before the authorization
    # endpoint registers, and registration order is the order endpoints are listed in.
    from .endpoints.authorize.request import RESPONSE_MODES, RESPONSE_TYPES

    base = s.issuer
    doc: dict[str, Any] = {"issuer": base}
    auth_endpoints = []
    for ep in endpoints():
        if ep.metadata_key and ep.served_by(s):
            doc[ep.metadata_key] = base + ep.route
            if ep.client_auth != "none":
                auth_endpoints.append(ep.metadata_key)
    methods = AUTH_METHODS.names()
    algs = list(dict.fromkeys(a for m in AUTH_METHODS for a in m.signing_algs))
    claims = [*ID_TOKEN_CLAIMS, *(c for scoped in SCOPE_CLAIMS.values() for c in scoped)]
    doc.update(
        scopes_supported=list(s.config.scopes_supported),
        response_types_supported=list(RESPONSE_TYPES),
        response_modes_supported=list(RESPONSE_MODES),
        grant_types_supported=list(GRANTS.names()),
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=s.id_token_algs(),
    )
    for key in auth_endpoints:
        doc[_auth_key(key)] = list(methods)
        if algs:
            doc[key + "_auth_signing_alg_values_supported"] = algs
    doc.update(
        code_challenge_methods_supported=list(pkce.METHODS),
        claims_supported=claims,
        claim_types_supported=["normal"],
        request_parameter_supported=False,
        request_uri_parameter_supported=False,
        authorization_response_iss_parameter_supported=True,
        client_id_metadata_document_supported=s.config.registration.metadata_documents,
        require_pushed_authorization_requests=s.config.require_pushed_authorization_requests,
        dpop_signing_alg_values_supported=list(dpop.ALGS),
    )
    return {k: v for k, v in doc.items() if v != []}
