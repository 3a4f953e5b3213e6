"""Pushed authorization requests (RFC 9126).

``POST /par`` takes an authorization request's parameters from an
authenticated client (as the token endpoint authenticates it), checks them as
``/authorize`` would (the same :func:`~.authorize.request.validate`), and
answers 201 with a ``request_uri`` (``urn:ietf:params:oauth:request_uri:...``)
that lives ``tokens.request_uri_ttl`` seconds on the provider clock. At
``/authorize`` that ``request_uri`` (with the same ``client_id``) stands for
the pushed parameters, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from .. import dpop
from ..clientauth import authenticate
from ..errors import ErrorStyle, InvalidDpopProof, InvalidRequest
from ..http import Params, form_params, json_response
from ..store import PushedRequest
from ..tokens.service import new_secret
from . import Endpoint, register_endpoint
from .authorize.pushed import REQUEST_URI_PREFIX
from .authorize.request import client_and_redirect, validate

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..services import Services

__all__ = ["ENDPOINT", "REQUEST_URI_PREFIX"]


def handle(s: Services, request: Request) -> Response:
    """RFC 9126 §2: check and keep the pushed request; 201 with its request_uri."""
    params = form_params(request)
    client, _ = authenticate(s, request, params)
    if params.get("request_uri") is not None:
        raise InvalidRequest("request_uri must not be pushed (RFC 9126 §2.1)")
    if params.get("client_id") not in (None, client.client_id):
        raise InvalidRequest("client_id differs from the authenticated client")
    pairs = [(k, v) for k, v in request.form.items(multi=True)
             if k not in _CREDENTIALS]  # fmt: skip
    pairs.append(("client_id", client.client_id))
    proof = dpop.proof_of(s, request, s.url_for("par"))
    if proof is not None:  # RFC 9449 §10.1: a proof at PAR binds the code to its key
        if params.get("dpop_jkt") not in (None, proof.jkt):
            raise InvalidDpopProof("dpop_jkt is not the thumbprint of the proof's key")
        if params.get("dpop_jkt") is None:
            pairs.append(("dpop_jkt", proof.jkt))
    pushed_params = Params(MultiDict(pairs))
    # The same checks as /authorize; here every error is the JSON answer (§2.3).
    validate(s, pushed_params, client_and_redirect(s, pushed_params))
    now = s.clock.now()
    ttl = s.config.tokens.request_uri_ttl
    pushed = PushedRequest(REQUEST_URI_PREFIX + new_secret(), client.client_id, tuple(pairs),
                           now + ttl)  # fmt: skip
    s.store.put_pushed(pushed, now)
    return json_response({"request_uri": pushed.request_uri, "expires_in": ttl}, 201,
                         [("Cache-Control", "no-store")])  # fmt: skip


#: Client authentication parameters: they authenticate the push, they are not the request.
_CREDENTIALS = frozenset({"client_id", "client_secret", "client_assertion",
                          "client_assertion_type"})  # fmt: skip


ENDPOINT = register_endpoint(
    Endpoint(
        "par",
        "/par",
        ("POST",),
        handle,
        "pushed_authorization_request_endpoint",
        client_auth="required",
        errors=ErrorStyle.BASIC,
        error_codes=frozenset(
            {
                "invalid_client",
                "unauthorized_client",
                "invalid_scope",
                "invalid_target",
                "unsupported_response_type",
                "request_not_supported",
                "request_uri_not_supported",
                # RFC 9449 §10.1: PAR checks a DPoP proof as the token endpoint does.
                "invalid_dpop_proof",
                "use_dpop_nonce",
            }
        ),
    )
)
