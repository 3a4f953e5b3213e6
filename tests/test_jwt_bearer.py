"""The JWT bearer grant (RFC 7523 §2.1 and §3): assertions from trusted issuers,
with requests-oauth2client and authlib's assertion session over loopback, and
hand-made assertions for every check §3 names."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import requests_oauth2client as roc
from authlib.integrations.requests_client import AssertionSession
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mockauth import ConfigError, LiveServer, Provider, load_config
from mockauth.grants.jwt_bearer import GRANT_TYPE

from .helpers import DocumentServer

IDP = "https://idp.example.test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "idp-1"}
PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
SECRET = "workload-secret-0123456789abcdef"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(trusted_issuers=[{"issuer": IDP, "jwks": {"keys": [PUBLIC_JWK]}}])
    p.add_client(client_id="workload", client_secret=SECRET, grant_types=[GRANT_TYPE])
    p.add_client(client_id="cli", public=True, grant_types=[GRANT_TYPE])
    with LiveServer([p]):
        yield p


def _assertion(provider: Provider, key: Any = KEY, alg: str = "RS256", **changes: Any) -> str:
    now = provider.clock.now()
    claims = {
        "iss": IDP, "sub": "alice", "aud": provider.endpoint("token"),
        "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()),
    }  # fmt: skip
    headers = changes.pop("headers", {"kid": "idp-1"})
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, alg, headers)


def _grant(provider: Provider, assertion: str | None, **extra: str) -> httpx.Response:
    data = {"grant_type": GRANT_TYPE, **extra}
    if assertion is not None:
        data["assertion"] = assertion
    return httpx.post(provider.endpoint("token"), data=data, auth=("workload", SECRET))


def test_requests_oauth2client_jwt_bearer(provider: Provider) -> None:
    client = roc.OAuth2Client(provider.endpoint("token"), auth=("workload", SECRET), testing=True)
    token = client.jwt_bearer(_assertion(provider), scope="read")
    claims = provider.tokens.decode(str(token.access_token))
    assert (claims["sub"], claims["client_id"], claims["scope"]) == ("alice", "workload", "read")
    assert token.refresh_token is None  # the client signs another assertion instead


def test_authlib_assertion_session(provider: Provider) -> None:
    """authlib signs the assertion itself and names the client by client_id alone."""
    session = AssertionSession(
        token_endpoint=provider.endpoint("token"),
        issuer=IDP,
        subject="bob",
        audience=provider.issuer,
        grant_type=GRANT_TYPE,
        key=PRIVATE_PEM,
        header={"alg": "RS256", "kid": "idp-1"},
        client_id="cli",
    )
    token = session.refresh_token()
    assert provider.tokens.decode(token["access_token"])["sub"] == "bob"


def test_another_provider_as_the_trusted_issuer_by_its_jwks_url(provider: Provider) -> None:
    other = Provider(issuer_id="upstream")
    with LiveServer([other]):
        provider.trust_issuer(other)
        assert [t.issuer for t in provider.trusted_issuers] == [IDP, other.issuer]
        assertion = other.issue_token("carol", audience=provider.issuer)
        answer = _grant(provider, assertion)
        assert answer.status_code == 200, answer.text
        assert provider.tokens.decode(answer.json()["access_token"])["sub"] == "carol"
        # its keys rotate: the next assertion names a new kid and the set is fetched again
        other.rotate_keys()
        assert (
            _grant(provider, other.issue_token("carol", audience=provider.issuer)).status_code
            == 200
        )
        provider.untrust_issuer(other.issuer)
        refused = _grant(provider, other.issue_token("carol", audience=provider.issuer))
        assert "is not trusted" in refused.json()["error_description"]


@pytest.mark.parametrize("aud", ["issuer", "issuer/", "token", ["https://elsewhere.test", "token"]])
def test_the_audiences_that_name_this_provider(provider: Provider, aud: Any) -> None:
    names = {"issuer": provider.issuer, "issuer/": provider.issuer + "/",
             "token": provider.endpoint("token")}  # fmt: skip
    value = [names.get(a, a) for a in aud] if isinstance(aud, list) else names[aud]
    assert _grant(provider, _assertion(provider, aud=value)).status_code == 200


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"iss": None}, "issuer '(none)' is not trusted"),
        ({"iss": "https://stranger.test"}, "'https://stranger.test' is not trusted"),
        ({"sub": None}, "sub"),
        ({"aud": None}, "aud"),
        ({"aud": "https://elsewhere.test/token"}, "audience"),
        ({"exp": None}, "exp"),
        ({"exp": "soon"}, "exp"),
        ({"exp": 1000}, "expired"),
        ({"nbf": 2**40}, "not valid yet"),
        ({"exp": 2**40}, "more than 3600 s ahead"),
        ({"key": OTHER_KEY}, "invalid"),
        ({"headers": {"kid": "rotated-away"}}, "no key of trusted issuer"),
        ({"alg": "HS256", "key": SECRET}, "'HS256' is not accepted"),
        ({"alg": "none", "key": None}, "'none' is not accepted"),
    ],
)
def test_a_bad_assertion_is_invalid_grant_naming_the_check(
    provider: Provider, changes: dict[str, Any], message: str
) -> None:
    key = changes.pop("key", KEY)
    alg = changes.pop("alg", "RS256")
    answer = _grant(provider, _assertion(provider, key=key, alg=alg, **changes))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert message in answer.json()["error_description"]


def test_no_assertion_or_not_a_jwt(provider: Provider) -> None:
    missing = _grant(provider, None)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    garbage = _grant(provider, "not-a-jwt")
    assert (garbage.status_code, garbage.json()["error"]) == (400, "invalid_grant")
    assert "not a well-formed JWT" in garbage.json()["error_description"]


def test_subjects_and_audiences_of_the_trusted_issuer(provider: Provider) -> None:
    strict = Provider(
        trusted_issuers=[{"issuer": IDP, "jwks": {"keys": [PUBLIC_JWK]}, "subjects": ["svc"],
                          "audiences": ["urn:mockauth:token"], "max_lifetime": 60}],
    )  # fmt: skip
    strict.add_client(client_id="workload", client_secret=SECRET, grant_types=[GRANT_TYPE])
    with LiveServer([strict]):
        now = strict.clock.now()
        ok = _assertion(strict, sub="svc", aud="urn:mockauth:token", exp=now + 60)
        assert _grant(strict, ok).status_code == 200
        who = _grant(strict, _assertion(strict, sub="alice", exp=now + 60)).json()
        assert "subject 'alice' is not allowed" in who["error_description"]
        long = _grant(strict, _assertion(strict, sub="svc", exp=now + 61)).json()
        assert "more than 60 s ahead" in long["error_description"]


def test_a_repeated_jti_is_journaled_and_refused_when_the_issuer_asks(provider: Provider) -> None:
    assertion = _assertion(provider)
    assert [_grant(provider, assertion).status_code for _ in range(2)] == [200, 200]
    assert provider.calls[-1].events[0]["event"] == "assertion_replayed"
    assert provider.calls[-1].events[0]["refused"] is False
    provider.untrust_issuer(IDP)
    provider.trust_issuer(IDP, jwks={"keys": [PUBLIC_JWK]}, reject_replay=True)
    once = _assertion(provider)
    assert _grant(provider, once).status_code == 200
    again = _grant(provider, once)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert "replay" in again.json()["error_description"]


def test_the_grant_is_opt_in_for_clients(provider: Provider) -> None:
    provider.add_client(client_id="plain", client_secret=SECRET)
    answer = httpx.post(
        provider.endpoint("token"),
        data={"grant_type": GRANT_TYPE, "assertion": _assertion(provider)},
        auth=("plain", SECRET),
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "unauthorized_client")
    doc = httpx.get(provider.endpoint("discovery")).json()
    assert GRANT_TYPE in doc["grant_types_supported"]


def test_scope_is_bounded_by_the_client_and_openid_brings_an_id_token(provider: Provider) -> None:
    provider.add_client(
        client_id="narrow", client_secret=SECRET, grant_types=[GRANT_TYPE], scope="openid read"
    )

    def call(scope: str) -> httpx.Response:
        return httpx.post(
            provider.endpoint("token"),
            data={"grant_type": GRANT_TYPE, "assertion": _assertion(provider), "scope": scope},
            auth=("narrow", SECRET),
        )

    assert call("write").json()["error"] == "invalid_scope"
    body = call("openid read").json()
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["sub"] == "alice"
    assert "refresh_token" not in body


def test_the_assertion_is_redacted_in_the_journal(provider: Provider) -> None:
    assertion = _assertion(provider)
    _grant(provider, assertion)
    call = provider.calls.filter("token")[-1]
    assert call.params["assertion"] == "[redacted]"
    assert assertion not in repr(call)


def test_a_jwks_uri_for_the_trusted_issuer(provider: Provider) -> None:
    with DocumentServer() as docs:
        docs.docs["/idp/jwks"] = (200, {"keys": [PUBLIC_JWK]})
        provider.untrust_issuer(IDP)
        provider.trust_issuer(IDP, jwks_uri=docs.url("/idp/jwks"))
        assert _grant(provider, _assertion(provider)).status_code == 200
        assert _grant(provider, _assertion(provider)).status_code == 200
        assert docs.hits["/idp/jwks"] == 1
        docs.docs["/idp/jwks"] = (503, {})
        provider.services.fetcher.forget()
        down = _grant(provider, _assertion(provider)).json()
        assert down["error"] == "invalid_grant"
        assert "jwks_uri" in down["error_description"]
        assert "answered 503" in down["error_description"]


def test_trusted_issuers_from_a_config_file(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[[trusted_issuers]]\nissuer = "https://idp.example.test"\n'
        'jwks_uri = "http://127.0.0.1:9/jwks"\nsubjects = ["svc"]\n'
    )
    trusted = load_config(good).issuers[0].trusted_issuers[0]
    assert (trusted.issuer, trusted.subjects) == (IDP, ("svc",))
    for body, key in [
        ('[[trusted_issuers]]\nissuer = "x"\n', "trusted_issuers[0].jwks"),
        ('[[trusted_issuers]]\nissuer = "x"\njwks_uri = "ftp://h/j"\n',
         "trusted_issuers[0].jwks_uri"),
        ('[[trusted_issuers]]\nissuer = "x"\njwks_uri = "http://h/j"\nalgorithms = ["HS256"]\n',
         "trusted_issuers[0].algorithms[0]"),
        ('[[trusted_issuers]]\nissuer = "x"\njwks_uri = "http://h/j"\nsubject = ["a"]\n',
         "trusted_issuers[0].subject"),
    ]:  # fmt: skip
        bad = tmp_path / "bad.toml"
        bad.write_text(body)
        with pytest.raises(ConfigError) as caught:
            load_config(bad)
        assert key in str(caught.value), str(caught.value)


def test_ec_keyed_issuer_and_float_times(provider: Provider) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "e"}
    provider.trust_issuer("https://ec.example.test", jwks={"keys": [ec_jwk]})
    now = time.time()
    provider.clock.freeze(now)
    assertion = _assertion(
        provider, key=ec_key, alg="ES256", headers={"kid": "e"}, iss="https://ec.example.test",
        iat=now, exp=now + 30.5,
    )  # fmt: skip
    assert _grant(provider, assertion).status_code == 200
