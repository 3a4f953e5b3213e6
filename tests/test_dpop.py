"""DPoP (RFC 9449): proofs checked as §4.3 lists, DPoP-bound tokens (cnf.jkt,
token_type DPoP) at the token endpoint, bound refresh tokens of public
clients, dpop_jkt at /authorize and PAR, userinfo and introspection with DPoP
tokens, server nonces; requests-oauth2client's DPoP over loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import requests
import requests_oauth2client as roc

from mockauth import LiveServer, Provider
from mockauth.dpop import access_token_hash

from .helpers import DpopKey as Key
from .helpers import pkce_pair, redirect_params

SECRET = "dpop-secret-0123456789-abcdefghij"
CALLBACK = "http://127.0.0.1:5000/cb"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_client(client_id="service", client_secret=SECRET, grant_types=["client_credentials"])
    p.add_client(client_id="spa", public=True, redirect_uris=[CALLBACK])
    p.add_user("alice")
    with LiveServer([p]):
        yield p


def _token(provider: Provider, proof: str | None, **data: str) -> httpx.Response:
    headers = {"DPoP": proof} if proof else {}
    body = {"grant_type": "client_credentials", **data}
    return httpx.post(provider.endpoint("token"), data=body, auth=("service", SECRET),
                      headers=headers)  # fmt: skip


def test_metadata_lists_the_algorithms(provider: Provider) -> None:
    algs = httpx.get(provider.endpoint("discovery")).json()["dpop_signing_alg_values_supported"]
    assert "ES256" in algs
    assert "none" not in algs
    assert not [a for a in algs if a.startswith("HS")]


def test_a_proof_binds_the_token_and_no_proof_is_bearer(provider: Provider) -> None:
    key = Key()
    bound = _token(provider, key.proof("POST", provider.endpoint("token"))).json()
    assert bound["token_type"] == "DPoP"
    assert provider.tokens.decode(bound["access_token"])["cnf"] == {"jkt": key.jkt}
    plain = _token(provider, None).json()
    assert plain["token_type"] == "Bearer"  # never DPoP without a proof (the MCP SDK's quirk)
    assert "cnf" not in provider.tokens.decode(plain["access_token"])
    info = httpx.post(provider.endpoint("introspect"), data={"token": bound["access_token"]},
                      auth=("service", SECRET)).json()  # fmt: skip
    assert (info["token_type"], info["cnf"]) == ("DPoP", {"jkt": key.jkt})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda k, u: k.proof("POST", u, header={"typ": "JWT"}), "typ must be dpop+jwt"),
        (lambda k, u: k.proof("GET", u), "htm"),
        (lambda k, u: k.proof("POST", u + "/other"), "htu"),
        (lambda k, u: k.proof("POST", u + "?x=1"), "without query"),
        (lambda k, u: k.proof("POST", u, iat=time.time() - 301), "iat"),
        (lambda k, u: k.proof("POST", u, jti=None), "jti"),
        (lambda k, u: k.proof("POST", u, header={"jwk": {**k.jwk, "d": "AAAA"}}), "private"),
        (lambda k, u: k.proof("POST", u, header={"jwk": Key().jwk}), "invalid"),
        (lambda k, u: jwt.encode({"htm": "POST", "htu": u, "iat": time.time(), "jti": "1"},
                                 "secret-secret-secret-secret-32b!", "HS256",
                                 headers={"typ": "dpop+jwt", "jwk": k.jwk}), "not accepted"),
        (lambda k, u: "not.a.jwt", "well-formed"),
    ],
)  # fmt: skip
def test_a_bad_proof_is_invalid_dpop_proof_naming_the_check(
    provider: Provider, make: Any, message: str
) -> None:
    answer = _token(provider, make(Key(), provider.endpoint("token")))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_dpop_proof")
    assert message in answer.json()["error_description"]


def test_htu_is_compared_after_normalisation(provider: Provider) -> None:
    url = provider.endpoint("token")
    loud = url.replace("http://127.0.0.1", "HTTP://127.0.0.1") + "/"
    assert _token(provider, Key().proof("POST", loud)).status_code == 200
    doubled = _token(provider, Key().proof("POST", url + "//"))
    assert doubled.json()["error"] == "invalid_dpop_proof"


def test_a_replayed_proof_and_two_headers_are_refused(provider: Provider) -> None:
    key = Key()
    proof = key.proof("POST", provider.endpoint("token"))
    assert _token(provider, proof).status_code == 200
    replay = _token(provider, proof).json()
    assert "replay" in replay["error_description"]
    two = httpx.post(provider.endpoint("token"), data={"grant_type": "client_credentials"},
                     auth=("service", SECRET),
                     headers=[("DPoP", key.proof("POST", provider.endpoint("token"))),
                              ("DPoP", key.proof("POST", provider.endpoint("token")))])  # fmt: skip
    assert "one DPoP header" in two.json()["error_description"]


def test_a_client_registered_for_dpop_must_send_a_proof(provider: Provider) -> None:
    provider.add_client(
        client_id="strict",
        client_secret=SECRET,
        grant_types=["client_credentials"],
        dpop_bound_access_tokens=True,
    )
    answer = httpx.post(provider.endpoint("token"), data={"grant_type": "client_credentials"},
                        auth=("strict", SECRET))  # fmt: skip
    assert answer.json()["error"] == "invalid_dpop_proof"


def _userinfo(provider: Provider, scheme: str, token: str, proof: str | None) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof:
        headers["DPoP"] = proof
    return httpx.get(provider.endpoint("userinfo"), headers=headers)


def _code_flow(provider: Provider, key: Key, **authorize: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = redirect_params(httpx.get(provider.endpoint("authorize"), params={
        "response_type": "code", "client_id": "spa", "redirect_uri": CALLBACK,
        "scope": "openid offline_access", "code_challenge": challenge,
        "code_challenge_method": "S256", **authorize,
    }))["code"]  # fmt: skip
    answer = httpx.post(provider.endpoint("token"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": "spa", "code_verifier": verifier,
    }, headers={"DPoP": key.proof("POST", provider.endpoint("token"))})  # fmt: skip
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_userinfo_wants_the_dpop_scheme_and_a_proof_with_ath(provider: Provider) -> None:
    key = Key()
    tokens = _code_flow(provider, key)
    token, url = tokens["access_token"], provider.endpoint("userinfo")
    ok = _userinfo(provider, "DPoP", token, key.proof("GET", url, ath=access_token_hash(token)))
    assert ok.status_code == 200, ok.text
    as_bearer = _userinfo(provider, "Bearer", token, None)
    assert as_bearer.status_code == 401
    assert as_bearer.headers["WWW-Authenticate"].startswith("DPoP ")
    assert "algs=" in as_bearer.headers["WWW-Authenticate"]
    no_ath = _userinfo(provider, "DPoP", token, key.proof("GET", url))
    assert (no_ath.status_code, no_ath.json()["error"]) == (401, "invalid_dpop_proof")
    other_key = _userinfo(provider, "DPoP", token,
                          Key().proof("GET", url, ath=access_token_hash(token)))  # fmt: skip
    assert other_key.json()["error"] == "invalid_token"
    assert "another DPoP key" in other_key.json()["error_description"]
    plain = provider.issue_token("alice", scope="openid")
    unbound = _userinfo(
        provider, "DPoP", plain, key.proof("GET", url, ath=access_token_hash(plain))
    )
    assert "not DPoP-bound" in unbound.json()["error_description"]


def test_a_public_clients_refresh_token_is_bound(provider: Provider) -> None:
    key = Key()
    tokens = _code_flow(provider, key)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": "spa"}  # fmt: skip
    stolen = httpx.post(
        provider.endpoint("token"),
        data=data,
        headers={"DPoP": Key().proof("POST", provider.endpoint("token"))},
    )
    assert stolen.json()["error"] == "invalid_grant"
    no_proof = httpx.post(provider.endpoint("token"), data=data)
    assert "bound to a DPoP key" in no_proof.json()["error_description"]
    mine = httpx.post(
        provider.endpoint("token"),
        data=data,
        headers={"DPoP": key.proof("POST", provider.endpoint("token"))},
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["token_type"] == "DPoP"


def test_dpop_jkt_binds_the_code_at_authorize_and_par(provider: Provider) -> None:
    key = Key()
    assert _code_flow(provider, key, dpop_jkt=key.jkt)["token_type"] == "DPoP"
    with pytest.raises(AssertionError, match="invalid_grant"):
        _code_flow(provider, Key(), dpop_jkt=key.jkt)  # another key redeems the code
    provider.add_client(client_id="pusher", client_secret=SECRET, redirect_uris=[CALLBACK])
    _, challenge = pkce_pair()
    pushed = httpx.post(provider.endpoint("par"), auth=("pusher", SECRET), data={
        "response_type": "code", "redirect_uri": CALLBACK, "code_challenge": challenge,
        "code_challenge_method": "S256",
    }, headers={"DPoP": key.proof("POST", provider.endpoint("par"))})  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    (stored,) = list(provider.services.store.pushed.items.values())
    assert ("dpop_jkt", key.jkt) in stored.params
    assert request_uri == stored.request_uri


def test_server_nonces_at_the_token_endpoint_and_userinfo() -> None:
    p = Provider(dpop={"require_nonce": True, "nonce_ttl": 60})
    p.add_client(client_id="service", client_secret=SECRET, grant_types=["client_credentials"])
    with LiveServer([p]):
        key, url = Key(), p.endpoint("token")
        first = _token(p, key.proof("POST", url))
        assert (first.status_code, first.json()["error"]) == (400, "use_dpop_nonce")
        nonce = first.headers["DPoP-Nonce"]
        assert first.headers["Access-Control-Expose-Headers"].count("DPoP-Nonce") == 1
        ok = _token(p, key.proof("POST", url, nonce=nonce))
        assert ok.status_code == 200, ok.text
        assert ok.headers["DPoP-Nonce"] == nonce
        p.clock.advance(61)  # a new nonce; the previous one is still accepted
        assert _token(p, key.proof("POST", url, nonce=nonce, iat=p.clock.now())).status_code == 200
        p.clock.advance(61)
        stale = _token(p, key.proof("POST", url, nonce=nonce, iat=p.clock.now()))
        assert stale.json()["error"] == "use_dpop_nonce"
        assert stale.headers["DPoP-Nonce"] != nonce


def test_requests_oauth2client_dpop_end_to_end(provider: Provider) -> None:
    """requests-oauth2client binds the token, then presents it with proofs and ath."""
    client = roc.OAuth2Client(provider.endpoint("token"), auth=("service", SECRET),
                              testing=True, dpop_bound_access_tokens=True)  # fmt: skip
    token = client.client_credentials(scope="openid")
    assert isinstance(token, roc.DPoPToken)
    assert token.token_type == "DPoP"
    provider.add_user("service", sub="service")
    answer = requests.get(provider.endpoint("userinfo"), auth=token, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == "service"


def test_requests_oauth2client_follows_a_nonce_challenge() -> None:
    p = Provider(dpop={"require_nonce": True})
    p.add_client(client_id="service", client_secret=SECRET, grant_types=["client_credentials"])
    with LiveServer([p]):
        client = roc.OAuth2Client(p.endpoint("token"), auth=("service", SECRET), testing=True,
                                  dpop_bound_access_tokens=True)  # fmt: skip
        token = client.client_credentials()
        assert token.token_type == "DPoP"
    assert [c.error for c in p.calls] == ["use_dpop_nonce", None]


def test_a_rule_asks_for_the_providers_nonce_at_userinfo(provider: Provider) -> None:
    """``dpop_nonce = true``: the proof must carry the provider's own nonce, else a
    401 ``use_dpop_nonce`` with it; requests without DPoP are not affected."""
    from mockauth.scenarios.files import Scenario

    key = Key()
    tokens = _code_flow(provider, key)
    Scenario.from_mapping({"rules": [{"endpoint": "userinfo", "dpop_nonce": True}]}).apply(provider)
    token, url = tokens["access_token"], provider.endpoint("userinfo")
    first = _userinfo(provider, "DPoP", token, key.proof("GET", url, ath=access_token_hash(token)))
    assert (first.status_code, first.json()["error"]) == (401, "use_dpop_nonce")
    assert first.headers["WWW-Authenticate"].startswith(
        'DPoP realm="mockauth", error="use_dpop_nonce"'
    )
    nonce = first.headers["DPoP-Nonce"]
    again = _userinfo(provider, "DPoP", token,
                      key.proof("GET", url, ath=access_token_hash(token), nonce=nonce))  # fmt: skip
    assert again.status_code == 200, again.text
    made_up = key.proof("GET", url, ath=access_token_hash(token), nonce="made-up")
    wrong = _userinfo(provider, "DPoP", token, made_up)
    assert wrong.json()["error"] == "use_dpop_nonce"
    plain = provider.issue_token("alice", scope="openid")
    assert _userinfo(provider, "Bearer", plain, None).status_code == 200


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"endpoint": "jwks", "dpop_nonce": True}, "asks for DPoP nonces at token"),
        ({"endpoint": "token", "dpop_nonce": False}, "dpop_nonce"),
    ],
)
def test_bad_nonce_rules_are_clear_errors(rule: dict[str, Any], message: str) -> None:
    from mockauth.errors import ConfigError
    from mockauth.scenarios.files import Scenario

    with pytest.raises(ConfigError, match=message):
        Scenario.from_mapping({"rules": [rule]})


def test_a_scripted_rejected_proof_looks_like_a_real_one(provider: Provider) -> None:
    """``error = "invalid_dpop_proof"``: 400 where tokens are issued (token, PAR),
    401 with a ``DPoP`` challenge where they are used (userinfo, a resource)."""
    resource = provider.add_resource("/mcp")
    for endpoint in ("token", "par", "userinfo", "resource"):
        provider.fail(endpoint, error="invalid_dpop_proof", times=1)
    token = _token(provider, None)
    assert (token.status_code, token.json()["error"]) == (400, "invalid_dpop_proof")
    par = httpx.post(provider.endpoint("par"), auth=("service", SECRET), data={
        "response_type": "code", "redirect_uri": CALLBACK})  # fmt: skip
    assert (par.status_code, par.json()["error"]) == (400, "invalid_dpop_proof")
    for url in (provider.endpoint("userinfo"), resource.url):
        used = httpx.get(url, headers={"Authorization": "DPoP x"})
        assert used.status_code == 401, url
        expected = 'DPoP realm="mockauth", error="invalid_dpop_proof"'
        assert used.headers["WWW-Authenticate"].startswith(expected)
    assert "resource_metadata=" in used.headers["WWW-Authenticate"]
