"""The token endpoint (RFC 6749 §3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import dpop
from ..clientauth import authenticate
from ..errors import ErrorStyle, InvalidDpopProof, UnauthorizedClient, UnsupportedGrantType
from ..grants import grant_for
from ..http import form_params, json_response
from ..tokens.binding import BEARER, sending
from . import Endpoint, register_endpoint

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..services import Services


def handle(s: Services, request: Request) -> Response:
    """Authenticate the client, then run its grant (RFC 6749 §4, §5)."""
    params = form_params(request)
    params.reject_duplicates()
    proof = dpop.proof_of(s, request, s.url_for("token"))
    client, _ = authenticate(s, request, params)
    if proof is None and client.dpop_bound_access_tokens:
        raise InvalidDpopProof("this client registered dpop_bound_access_tokens: send a proof")
    grant_type = params.require("grant_type")
    grant = grant_for(grant_type)
    if grant is None:
        # Shown whole: extension grant types are URNs (RFC 6749 §4.5) longer than 40 characters.
        shown = grant_type if len(grant_type) <= 200 else grant_type[:200] + "..."
        raise UnsupportedGrantType(f"grant_type {shown!r} is not supported")
    if not client.allows_grant(grant_type):
        raise UnauthorizedClient(f"this client may not use the {grant_type} grant")
    constraint = dpop.DPoPBinding(proof.jkt) if proof is not None else BEARER
    with sending(constraint):
        answer = json_response(grant.redeem(s, client, params).to_dict())
    if proof is not None and s.config.dpop.require_nonce:  # §8: the next nonce to use
        answer.headers["DPoP-Nonce"] = s.store.dpop_nonces.current(
            s.clock.now(), s.config.dpop.nonce_ttl
        )
    return answer


ENDPOINT = register_endpoint(
    Endpoint(
        "token",
        "/token",
        ("POST",),
        handle,
        "token_endpoint",
        client_auth="required",
        errors=ErrorStyle.BASIC,
        # RFC 6749 §5.2, RFC 8707 §2, RFC 8628 §3.5, RFC 9449 §12.2.
        error_codes=frozenset(
            {
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
                "invalid_target",
                "access_denied",
                "authorization_pending",
                "slow_down",
                "expired_token",
                "invalid_dpop_proof",
                "use_dpop_nonce",
            }
        ),
    )
)
