"""Scenario rules for the grants and client authentication of RFC 7523 and RFC
8693: scripted assertion rejections, a flaky exchange, matched by grant type and
by the client an assertion names (the journal reads it from the assertion's sub)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import LiveServer, Provider
from mockauth.clientauth.assertion import ASSERTION_TYPE
from mockauth.grants.jwt_bearer import GRANT_TYPE as JWT_BEARER
from mockauth.grants.token_exchange import ACCESS_TOKEN
from mockauth.grants.token_exchange import GRANT_TYPE as EXCHANGE

KEY = ec.generate_private_key(ec.SECP256R1())
JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())), "kid": "k"}
SECRET = "scenario-secret-0123456789abcdef"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(trusted_issuers=[{"issuer": "https://idp.test", "jwks": {"keys": [JWK]}}])
    p.add_client(client_id="signer", token_endpoint_auth_method="private_key_jwt",
                 jwks={"keys": [JWK]}, grant_types=["client_credentials"])  # fmt: skip
    p.add_client(client_id="gateway", client_secret=SECRET, grant_types=[EXCHANGE, JWT_BEARER])
    with LiveServer([p]):
        yield p


def _jwt(provider: Provider, iss: str, sub: str) -> str:
    now = time.time()
    claims = {"iss": iss, "sub": sub, "aud": provider.issuer, "iat": now, "exp": now + 60,
              "jti": str(uuid.uuid4())}  # fmt: skip
    return jwt.encode(claims, KEY, "ES256", headers={"kid": "k"})


def _signed_in(provider: Provider) -> httpx.Response:
    return httpx.post(provider.endpoint("token"), data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _jwt(provider, "signer", "signer"),
    })  # fmt: skip


def _post(provider: Provider, **data: Any) -> httpx.Response:
    return httpx.post(provider.endpoint("token"), data=data, auth=("gateway", SECRET))


def test_an_assertion_rejection_is_scripted_by_the_client_it_names(provider: Provider) -> None:
    rule = provider.fail("token", error="invalid_client", client_id="signer",
                         description="the key was revoked", times=1)  # fmt: skip
    refused = _signed_in(provider)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert refused.json()["error_description"] == "the key was revoked"
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert _signed_in(provider).status_code == 200  # once only
    assert rule.used == 1
    provider.calls.assert_called("token", client_id="signer", status=200, times=1)


def test_a_jwt_bearer_grant_fails_then_works(provider: Provider) -> None:
    provider.fail("token", grant_type=JWT_BEARER, sequence=["invalid_grant", 503, "real"])
    answers = [
        _post(provider, grant_type=JWT_BEARER, assertion=_jwt(provider, "https://idp.test", "a"))
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [400, 503, 200]
    assert answers[0].json()["error"] == "invalid_grant"


def test_an_exchange_refused_for_its_target(provider: Provider) -> None:
    provider.fail("token", grant_type=EXCHANGE, error="invalid_target",
                  params={"audience": "payroll"})  # fmt: skip
    subject = {"subject_token": provider.issue_token("alice"), "subject_token_type": ACCESS_TOKEN}
    refused = _post(provider, grant_type=EXCHANGE, audience="payroll", **subject)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_target")
    allowed = _post(provider, grant_type=EXCHANGE, audience="orders", **subject)
    assert allowed.status_code == 200
