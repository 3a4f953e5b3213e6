"""provider.validate_token(): what a resource server (an MCP server, an API under
test) checks of an access token: issued here and live, for this resource,
with the scopes, and DPoP-bound tokens only with their proof."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import Provider
from mockauth.dpop import access_token_hash, thumbprint
from mockauth.errors import InsufficientScope, InvalidToken
from mockauth.http import Request

API = "https://mcp.example.test/mcp"


def test_a_good_token_gives_its_claims() -> None:
    provider = Provider()
    token = provider.issue_token("alice", audience=API, scope="tools.read tools.call")
    claims = provider.validate_token(token, audience=API, scopes=["tools.call"])
    assert (claims["sub"], claims["aud"], claims["scope"]) == (
        "alice",
        API,
        "tools.read tools.call",
    )


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: p.issue_token("alice", audience="https://other.test/"), InvalidToken,
         "not for this resource"),
        (lambda p: p.issue_token("alice", audience=API, expires_in=-1), InvalidToken, "expired"),
        (lambda p: p.forge(p.issue_token("alice", audience=API), "bad_signature"), InvalidToken,
         "invalid"),
        (lambda p: Provider(issuer_id="elsewhere").issue_token("alice", audience=API),
         InvalidToken, "issuer"),
        (lambda p: p.issue_token("alice", audience=API, scope="tools.read"), InsufficientScope,
         "lacks the scope tools.call"),
    ],
)  # fmt: skip
def test_what_a_resource_refuses(make: object, error: type[Exception], message: str) -> None:
    provider = Provider()
    token = make(provider)  # type: ignore[operator]
    with pytest.raises(error, match=message):
        provider.validate_token(token, audience=API, scopes=["tools.call"])


def test_insufficient_scope_names_the_scope_for_the_challenge() -> None:
    provider = Provider()
    token = provider.issue_token("alice", audience=API, scope="tools.read")
    with pytest.raises(InsufficientScope) as caught:
        provider.validate_token(token, audience=API, scopes=["tools.read", "tools.call"])
    assert caught.value.status_code == 403
    assert caught.value.challenge == {"scope": "tools.read tools.call"}


def test_a_revoked_token_is_refused() -> None:
    provider = Provider()
    token = provider.issue_token("alice", audience=API)
    provider.services.store.revoke_matching(lambda sub, cid: sub == "alice", provider.clock.now())
    with pytest.raises(InvalidToken, match="revoked"):
        provider.validate_token(token, audience=API)


def test_a_dpop_bound_token_needs_its_proof() -> None:
    provider = Provider()
    provider.add_client(client_id="svc", client_secret="svc-secret-0123456789",
                        grant_types=["client_credentials"], audience=[API])  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))

    def proof(method: str, url: str, **claims: object) -> str:
        body = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": time.time(), **claims}
        return jwt.encode(body, key, "ES256", headers={"typ": "dpop+jwt", "jwk": jwk})

    with provider.httpx_client() as http:
        answer = http.post(provider.endpoint("token"), auth=("svc", "svc-secret-0123456789"),
                           data={"grant_type": "client_credentials"},
                           headers={"DPoP": proof("POST", provider.endpoint("token"))})  # fmt: skip
    token = answer.json()["access_token"]
    assert provider.tokens.decode(token)["cnf"]["jkt"] == thumbprint(jwk)
    with pytest.raises(InvalidToken, match="DPoP-bound"):
        provider.validate_token(token, audience=API)  # no request to check the proof against
    request = Request("GET", "/mcp", headers={
        "Authorization": f"DPoP {token}",
        "DPoP": proof("GET", API, ath=access_token_hash(token)),
    })  # fmt: skip
    claims = provider.validate_token(token, audience=API, request=request, url=API)
    assert claims["client_id"] == "svc"
    as_bearer = Request("GET", "/mcp", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(InvalidToken, match="DPoP scheme"):
        provider.validate_token(token, audience=API, request=as_bearer, url=API)
