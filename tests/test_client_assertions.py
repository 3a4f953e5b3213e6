"""Client authentication by a signed JWT: private_key_jwt and client_secret_jwt
(RFC 7523 §2.2 and §3, OIDC Core §9), with requests-oauth2client over loopback and
hand-made assertions for every check."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import requests_oauth2client as roc
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mockauth import ConfigError, LiveServer, Provider
from mockauth.clientauth.assertion import ASSERTION_TYPE

from .helpers import DocumentServer

SECRET = "jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())), "kid": "k1"}
PRIVATE_JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY)), "kid": "k1", "alg": "ES256"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_client(
        client_id="signer",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [PUBLIC_JWK]},
        grant_types=["client_credentials"],
    )
    p.add_client(
        client_id="hmac",
        client_secret=SECRET,
        token_endpoint_auth_method="client_secret_jwt",
        grant_types=["client_credentials"],
    )
    with LiveServer([p]):
        yield p


def test_metadata_lists_the_methods_and_algorithms(provider: Provider) -> None:
    doc = httpx.get(provider.endpoint("discovery")).json()
    assert {"private_key_jwt", "client_secret_jwt"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    algs = doc["token_endpoint_auth_signing_alg_values_supported"]
    assert "ES256" in algs
    assert "HS256" in algs
    assert "none" not in algs


def test_requests_oauth2client_private_key_jwt(provider: Provider) -> None:
    auth = roc.PrivateKeyJwt("signer", PRIVATE_JWK)
    client = roc.OAuth2Client(provider.endpoint("token"), auth=auth, testing=True)
    token = client.client_credentials(scope="read")
    assert provider.tokens.decode(str(token.access_token))["client_id"] == "signer"


def test_requests_oauth2client_client_secret_jwt(provider: Provider) -> None:
    auth = roc.ClientSecretJwt("hmac", SECRET)
    client = roc.OAuth2Client(provider.endpoint("token"), auth=auth, testing=True)
    assert client.client_credentials().access_token


def _assertion(provider: Provider, key: Any = KEY, alg: str = "ES256", **changes: Any) -> str:
    now = time.time()
    claims = {
        "iss": "signer", "sub": "signer", "aud": provider.endpoint("token"),
        "iat": now, "exp": now + 60, "jti": str(uuid.uuid4()),
    }  # fmt: skip
    headers = changes.pop("headers", {"kid": "k1"})
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _token(provider: Provider, assertion: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    return httpx.post(provider.endpoint("token"), data=data)


@pytest.mark.parametrize("aud", ["issuer", "issuer/", "token", ["token", "https://elsewhere.test"]])
def test_every_audience_real_clients_send(provider: Provider, aud: Any) -> None:
    names = {
        "issuer": provider.issuer,
        "issuer/": provider.issuer + "/",
        "token": provider.endpoint("token"),
    }
    value = [names.get(a, a) for a in aud] if isinstance(aud, list) else names[aud]
    assert _token(provider, _assertion(provider, aud=value)).status_code == 200


@pytest.mark.parametrize("typ", [None, "JWT", "client-authentication+jwt"])
def test_the_typ_values_real_clients_send(provider: Provider, typ: str | None) -> None:
    headers = {"kid": "k1", **({"typ": typ} if typ else {})}
    assert _token(provider, _assertion(provider, headers=headers)).status_code == 200


def test_the_same_assertion_twice_is_accepted_and_journaled(provider: Provider) -> None:
    """MSAL reuses one assertion for minutes: a repeated jti is not refused, but noted."""
    assertion = _assertion(provider)
    assert _token(provider, assertion).status_code == 200
    assert provider.calls[-1].events == []
    assert _token(provider, assertion).status_code == 200
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    assert provider.calls[-1].events == [
        {"event": "assertion_replayed", "client_id": "signer", "jti": jti, "refused": False}
    ]


def test_replay_is_refused_when_the_provider_asks(provider: Provider) -> None:
    strict = Provider(reject_replayed_assertions=True)
    strict.add_client(
        client_id="signer", token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [PUBLIC_JWK]}, grant_types=["client_credentials"],
    )  # fmt: skip
    with LiveServer([strict]):
        assertion = _assertion(strict)
        assert _token(strict, assertion).status_code == 200
        answer = _token(strict, assertion)
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        assert "replay" in answer.json()["error_description"]
        assert strict.calls[-1].events[0]["refused"] is True
        # a fresh jti from the same client is fine
        assert _token(strict, _assertion(strict)).status_code == 200


def test_replay_is_refused_when_the_client_asks(provider: Provider) -> None:
    provider.add_client(
        client_id="careful", token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [PUBLIC_JWK]}, grant_types=["client_credentials"],
        reject_replayed_assertions=True,
    )  # fmt: skip
    assertion = _assertion(provider, iss="careful", sub="careful")
    assert _token(provider, assertion).status_code == 200
    assert _token(provider, assertion).status_code == 401
    # the provider's other clients keep the lenient default
    reused = _assertion(provider)
    assert [_token(provider, reused).status_code for _ in range(2)] == [200, 200]


def test_the_registered_signing_alg_is_the_only_one(provider: Provider) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "r"}
    client = provider.add_client(
        client_id="ps", token_endpoint_auth_method="private_key_jwt",
        token_endpoint_auth_signing_alg="PS256", jwks={"keys": [rsa_jwk]},
        grant_types=["client_credentials"],
    )  # fmt: skip
    assert client.to_metadata()["token_endpoint_auth_signing_alg"] == "PS256"
    ok = _assertion(provider, key=rsa_key, alg="PS256", headers={"kid": "r"}, iss="ps", sub="ps")
    assert _token(provider, ok).status_code == 200
    rs = _assertion(provider, key=rsa_key, alg="RS256", headers={"kid": "r"}, iss="ps", sub="ps")
    answer = _token(provider, rs)
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert "'RS256' is not accepted" in answer.json()["error_description"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"token_endpoint_auth_signing_alg": "RS256"}, "applies to token_endpoint_auth_method"),
        (
            {"token_endpoint_auth_method": "private_key_jwt",
             "token_endpoint_auth_signing_alg": "HS256"},
            "'HS256' is not one of RS256",
        ),
        (
            {"token_endpoint_auth_method": "client_secret_jwt",
             "token_endpoint_auth_signing_alg": "HS257"},
            "did you mean 'HS256'",
        ),
    ],
)  # fmt: skip
def test_a_bad_signing_alg_names_the_key(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="token_endpoint_auth_signing_alg") as caught:
        Provider().add_client(**fields)
    assert message in str(caught.value)


def _keyed_by_uri(provider: Provider, url: str) -> None:
    provider.add_client(
        client_id="remote", token_endpoint_auth_method="private_key_jwt", jwks_uri=url,
        grant_types=["client_credentials"],
    )  # fmt: skip


def test_keys_from_a_jwks_uri_are_fetched_cached_and_refetched_on_rotation(
    provider: Provider,
) -> None:
    with DocumentServer() as docs:
        docs.docs["/jwks"] = (200, {"keys": [PUBLIC_JWK]})
        _keyed_by_uri(provider, docs.url("/jwks"))
        for _ in range(3):
            assert (
                _token(provider, _assertion(provider, iss="remote", sub="remote")).status_code
                == 200
            )
        assert docs.hits["/jwks"] == 1  # cached
        # the client rotates to a new key: an unknown kid fetches the set again
        new = ec.generate_private_key(ec.SECP256R1())
        new_jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(new.public_key())), "kid": "k2"}
        docs.docs["/jwks"] = (200, {"keys": [new_jwk]})
        rotated = _assertion(provider, key=new, headers={"kid": "k2"}, iss="remote", sub="remote")
        assert _token(provider, rotated).status_code == 200
        assert docs.hits["/jwks"] == 2
        # the cache lives on the provider clock
        provider.clock.advance(301)
        now = provider.clock.now()
        later = _assertion(
            provider, key=new, headers={"kid": "k2"}, iss="remote", sub="remote",
            iat=now, exp=now + 60,
        )  # fmt: skip
        assert _token(provider, later).status_code == 200
        assert docs.hits["/jwks"] == 3


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "boom"}, "answered 500"),
        (302, {}, "answered 302 (redirects are not followed)"),
        (200, b"not json", "did not answer JSON"),
        (200, {"no": "keys"}, "did not answer a JWK Set"),
        (200, b"[" * 300_000, "more than 262144 bytes"),
    ],
)
def test_a_broken_jwks_uri_is_invalid_client_saying_what_went_wrong(
    provider: Provider, status: int, body: Any, message: str
) -> None:
    with DocumentServer() as docs:
        docs.docs["/jwks"] = (status, body)
        _keyed_by_uri(provider, docs.url("/jwks"))
        answer = _token(provider, _assertion(provider, iss="remote", sub="remote"))
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        assert message in answer.json()["error_description"]
        assert "jwks_uri" in answer.json()["error_description"]


def test_a_jwks_uri_that_never_answers_times_out(provider: Provider) -> None:
    provider.services.fetcher.timeout = 0.2
    with DocumentServer() as docs:
        docs.hold.add("/jwks")
        _keyed_by_uri(provider, docs.url("/jwks"))
        answer = _token(provider, _assertion(provider, iss="remote", sub="remote"))
        assert answer.status_code == 401
        assert "did not answer within 0.2 s" in answer.json()["error_description"]


def test_a_jwks_uri_nobody_serves(provider: Provider) -> None:
    with DocumentServer() as docs:
        url = docs.url("/jwks")
    _keyed_by_uri(provider, url)
    answer = _token(provider, _assertion(provider, iss="remote", sub="remote"))
    assert answer.status_code == 401
    assert "could not be fetched" in answer.json()["error_description"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": "https://elsewhere.test/token"}, "invalid"),
        ({"iss": "other"}, "iss and sub"),
        ({"sub": None}, "iss and sub"),
        ({"exp": time.time() - 10}, "expired"),
        ({"exp": None}, "exp"),
        ({"exp": time.time() + 7200}, "3600 s at most"),
        ({"headers": {"kid": "k1", "typ": "at+jwt"}}, "typ"),
        ({"headers": {"kid": "nope"}}, "no key of the client has kid"),
    ],
)
def test_a_bad_assertion_is_invalid_client_naming_the_check(
    provider: Provider, changes: dict[str, Any], message: str
) -> None:
    answer = _token(provider, _assertion(provider, **changes))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert message in answer.json()["error_description"]


def test_alg_none_and_the_wrong_kind_of_algorithm_are_refused(provider: Provider) -> None:
    unsigned = jwt.encode(
        {"iss": "signer", "sub": "signer", "aud": provider.issuer, "exp": time.time() + 60},
        None, algorithm="none",
    )  # fmt: skip
    assert _token(provider, unsigned).json()["error"] == "invalid_client"
    # an HMAC assertion for the private_key_jwt client: client_secret_jwt is not its method
    hmac = _assertion(provider, key=SECRET, alg="HS256", headers={})
    answer = _token(provider, hmac)
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_a_wrong_assertion_type_or_a_missing_assertion(provider: Provider) -> None:
    answer = httpx.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials", "client_assertion_type": "x",
              "client_assertion": _assertion(provider)},
    )  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    answer = httpx.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE},
    )
    assert answer.json()["error"] in ("invalid_request", "invalid_client")


def test_a_secret_client_cannot_use_an_assertion_it_is_not_registered_for(
    provider: Provider,
) -> None:
    provider.add_client(client_id="plain", client_secret=SECRET, grant_types=["client_credentials"])
    assertion = _assertion(provider, key=SECRET, alg="HS256", headers={}, iss="plain", sub="plain")
    answer = _token(provider, assertion)
    assert answer.status_code == 401
    assert "registered for client_secret_basic" in answer.json()["error_description"]


def test_assertions_work_at_introspection_too(provider: Provider) -> None:
    token = provider.issue_token("alice", client_id="signer")
    assertion = _assertion(provider, aud=provider.endpoint("introspect"))
    data = {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    answer = httpx.post(provider.endpoint("introspect"), data=data)
    assert answer.status_code == 200
    assert answer.json()["active"] is True


def test_the_assertion_is_redacted_in_the_journal(provider: Provider) -> None:
    assertion = _assertion(provider)
    _token(provider, assertion)
    call = provider.calls.filter("token")[-1]
    assert call.params["client_assertion"] == "[redacted]"
    assert assertion not in repr(call)


@pytest.mark.parametrize("member", ["x5t", "x5t#S256"])
def test_a_key_named_by_its_certificate_thumbprint(provider: Provider, member: str) -> None:
    """MSAL names the key by x5t: the registered JWK carries the same thumbprint."""
    other = ec.generate_private_key(ec.SECP256R1())
    other_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(other.public_key()))
    provider.add_client(
        client_id="cert",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [{**PUBLIC_JWK, member: "thumb-1"}, {**other_jwk, member: "thumb-2"}]},
        grant_types=["client_credentials"],
    )
    signed = _assertion(provider, key=other, headers={member: "thumb-2"}, iss="cert", sub="cert")
    assert _token(provider, signed).status_code == 200
    wrong = _assertion(provider, key=other, headers={member: "thumb-1"}, iss="cert", sub="cert")
    assert _token(provider, wrong).json()["error"] == "invalid_client"  # thumb-1 is another key
    unknown = _assertion(provider, key=other, headers={member: "nope"}, iss="cert", sub="cert")
    answer = _token(provider, unknown).json()
    assert f"no key of the client has {member}" in answer["error_description"]


def test_a_replay_event_is_in_the_json_request_log(provider: Provider) -> None:
    from mockauth.log import RequestLog

    assertion = _assertion(provider)
    _token(provider, assertion)
    _token(provider, assertion)
    first, second = (json.loads(RequestLog(format="json").json_line(c)) for c in provider.calls)
    assert "events" not in first
    assert second["events"][0]["event"] == "assertion_replayed"


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        (None, 300.0),
        ("", 300.0),
        ("max-age=60", 60.0),
        ("public, max-age=120, must-revalidate", 120.0),
        ('max-age="30"', 30.0),
        ("MAX-AGE=5", 5.0),
        ("max-age=99999999", 86400.0),  # capped at a day
        ("no-store", 0.0),
        ("max-age=600, no-cache", 0.0),
        ('no-cache="Set-Cookie"', 0.0),
        ("private", 300.0),
        ("max-age=abc", 300.0),
        ("s-maxage=10", 300.0),
    ],
)
def test_cache_control_decides_how_long_a_fetched_document_lives(
    header: str | None, ttl: float
) -> None:
    from mockauth.fetch import cache_ttl

    assert cache_ttl(header, 300.0) == ttl
