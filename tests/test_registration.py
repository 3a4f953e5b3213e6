"""Dynamic client registration (RFC 7591) and its management (RFC 7592): what
registers, what is refused and how (§3.2.2, naming the field), the
registration access token, and the options (initial access token, redirect
URI allow-list, secret lifetime, switched off)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import LiveServer, Provider

from .helpers import pkce_pair, redirect_params

REDIRECT = "http://127.0.0.1:33418/callback"
MCP_CLIENT = {  # what the MCP SDKs register
    "redirect_uris": [REDIRECT],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "client_name": "Example MCP Client",
}


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_user("alice")
    with LiveServer([p]):
        yield p


def _register(provider: Provider, body: Any, **kw: Any) -> httpx.Response:
    return httpx.post(provider.endpoint("registration"), json=body, **kw)


def _auth(registered: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {registered['registration_access_token']}"}


def test_an_mcp_client_registers_and_signs_in(provider: Provider) -> None:
    answer = _register(provider, MCP_CLIENT)
    assert answer.status_code == 201
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    for name in ("redirect_uris", "token_endpoint_auth_method", "grant_types", "client_name"):
        assert body[name] == MCP_CLIENT[name], name
    assert "client_secret" not in body  # a public client
    assert isinstance(body["client_id_issued_at"], int)
    assert (
        body["registration_client_uri"]
        == f"{provider.endpoint('registration')}/{body['client_id']}"
    )
    client = provider.client(body["client_id"])
    assert client.public
    assert client in provider.clients
    # the code flow works with the new client, PKCE and all
    verifier, challenge = pkce_pair()
    with httpx.Client() as http:
        code = redirect_params(http.get(provider.endpoint("authorize"), params={
            "response_type": "code", "client_id": body["client_id"], "redirect_uri": REDIRECT,
            "code_challenge": challenge, "code_challenge_method": "S256", "scope": "openid",
        }))["code"]  # fmt: skip
        tokens = http.post(provider.endpoint("token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": body["client_id"], "code_verifier": verifier,
        })  # fmt: skip
    assert tokens.status_code == 200, tokens.text
    assert provider.calls.filter("registration")[0].events == [
        {"event": "client_registered", "client_id": body["client_id"]}
    ]


def test_a_confidential_client_gets_a_secret_that_works(provider: Provider) -> None:
    body = _register(provider, {"grant_types": ["client_credentials"], "scope": "read"}).json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2 default
    assert body["client_secret_expires_at"] == 0
    token = httpx.post(provider.endpoint("token"), data={"grant_type": "client_credentials"},
                       auth=(body["client_id"], body["client_secret"]))  # fmt: skip
    assert token.status_code == 200
    assert provider.tokens.decode(token.json()["access_token"])["scope"] == "read"


def test_defaults_unknown_members_and_server_assigned_values(provider: Provider) -> None:
    body = _register(provider, {
        "redirect_uris": [REDIRECT], "client_id": "chosen", "client_secret": "mine",
        "x_vendor_extension": {"a": 1}, "client_name#ja-Jpan-JP": "クライアント",
    }).json()  # fmt: skip
    assert body["client_id"] != "chosen"
    assert body["client_secret"] != "mine"
    assert "x_vendor_extension" not in body
    assert (body["grant_types"], body["response_types"]) == (["authorization_code"], ["code"])


@pytest.mark.parametrize(
    ("metadata", "error", "names"),
    [
        ({"redirect_uris": ["not a uri"]}, "invalid_redirect_uri", "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.test/cb#frag"]}, "invalid_redirect_uri",
         "redirect_uris[0]"),
        ({"grant_types": ["authorization_code"]}, "invalid_redirect_uri", "redirect_uris"),
        ({"redirect_uris": "https://app.test/cb"}, "invalid_redirect_uri", "redirect_uris"),
        ({"redirect_uris": [REDIRECT], "grant_types": ["magic"]}, "invalid_client_metadata",
         "grant_types[0]"),
        ({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth"},
         "invalid_client_metadata", "token_endpoint_auth_method"),
        ({"redirect_uris": [REDIRECT], "contacts": "ops@example.test"},
         "invalid_client_metadata", "contacts"),
        ({"redirect_uris": [REDIRECT], "client_name": 7}, "invalid_client_metadata",
         "client_name"),
        ({"redirect_uris": [REDIRECT], "application_type": "tv"}, "invalid_client_metadata",
         "application_type"),
        ({"redirect_uris": [REDIRECT], "jwks": {"keys": []}}, "invalid_client_metadata",
         "jwks.keys"),
        ({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
         "invalid_client_metadata", "grant_types"),
    ],
)  # fmt: skip
def test_bad_metadata_is_refused_naming_the_field(
    provider: Provider, metadata: dict[str, Any], error: str, names: str
) -> None:
    answer = _register(provider, metadata)
    assert (answer.status_code, answer.json()["error"]) == (400, error)
    assert answer.json()["error_description"].startswith(names), answer.json()
    assert len(provider.clients) == 0  # nothing half-registered


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"redirect_uris=x", "application/x-www-form-urlencoded", "application/json"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object(
    provider: Provider, content: bytes, content_type: str, message: str
) -> None:
    answer = httpx.post(provider.endpoint("registration"), content=content,
                        headers={"Content-Type": content_type})  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client_metadata")
    assert message in answer.json()["error_description"]


def test_read_replace_and_delete_with_the_registration_access_token(provider: Provider) -> None:
    registered = _register(provider, {**MCP_CLIENT, "scope": "openid tools"}).json()
    uri = registered["registration_client_uri"]
    read = httpx.get(uri, headers=_auth(registered))
    assert (read.status_code, read.json()) == (200, registered)

    update = {"client_id": registered["client_id"], "redirect_uris": ["http://127.0.0.1:9/cb"],
              "token_endpoint_auth_method": "none", "client_name": "Renamed"}  # fmt: skip
    replaced = httpx.put(uri, json=update, headers=_auth(registered))
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["client_name"], body["redirect_uris"]) == ("Renamed", ["http://127.0.0.1:9/cb"])
    assert "scope" not in body  # a full replace: what was left out is gone
    assert body["grant_types"] == ["authorization_code"]
    assert body["client_id_issued_at"] == registered["client_id_issued_at"]
    assert provider.client(registered["client_id"]).client_name == "Renamed"

    token = provider.issue_token("alice", client_id=registered["client_id"])
    deleted = httpx.delete(uri, headers=_auth(registered))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert httpx.get(uri, headers=_auth(registered)).status_code == 401
    assert provider.get_client(registered["client_id"]) is None
    with pytest.raises(Exception, match="revoked"):  # RFC 7592 §2.3: its tokens go with it
        provider.tokens.verify_access_token(token)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": None}, "own client_id"),
        ({"client_id": "someone-else"}, "own client_id"),
        ({"registration_access_token": "x"}, "must not carry registration_access_token"),
        ({"client_id_issued_at": 1}, "must not carry client_id_issued_at"),
        ({"client_secret": "not-it"}, "client_secret does not match"),
        ({"redirect_uris": ["nope"]}, "redirect_uris[0]"),
    ],
)
def test_a_bad_update_is_refused_and_changes_nothing(
    provider: Provider, change: dict[str, Any], message: str
) -> None:
    registered = _register(provider, {"redirect_uris": [REDIRECT], "client_name": "Kept"}).json()
    update = {"client_id": registered["client_id"], "redirect_uris": [REDIRECT], **change}
    update = {k: v for k, v in update.items() if v is not None}
    answer = httpx.put(
        registered["registration_client_uri"], json=update, headers=_auth(registered)
    )
    assert answer.status_code == 400
    assert message in answer.json()["error_description"]
    assert provider.client(registered["client_id"]).client_name == "Kept"
    # repeating the right secret is allowed
    same = {**update, "client_secret": registered["client_secret"]}
    same.pop("registration_access_token", None)
    same.pop("client_id_issued_at", None)
    same["client_id"], same["redirect_uris"] = registered["client_id"], [REDIRECT]
    ok = httpx.put(registered["registration_client_uri"], json=same, headers=_auth(registered))
    assert ok.status_code == 200, ok.text
    assert ok.json()["client_secret"] == registered["client_secret"]


def test_a_wrong_or_missing_token_and_an_unknown_client_are_all_401(provider: Provider) -> None:
    one = _register(provider, MCP_CLIENT).json()
    two = _register(provider, MCP_CLIENT).json()
    base = provider.endpoint("registration")
    answers = [
        httpx.get(one["registration_client_uri"]),
        httpx.get(one["registration_client_uri"], headers={"Authorization": "Bearer wrong"}),
        httpx.get(one["registration_client_uri"], headers=_auth(two)),  # another client's token
        httpx.get(f"{base}/no-such-client", headers=_auth(one)),
        httpx.delete(f"{base}/no-such-client", headers=_auth(one)),
    ]
    assert {a.status_code for a in answers} == {401}
    assert {a.json()["error"] for a in answers} == {"invalid_token"}
    assert all(a.headers["WWW-Authenticate"].startswith("Bearer ") for a in answers)
    # the same answer whether the client exists or not: no enumeration
    assert answers[2].json() == answers[3].json()
    assert httpx.post(one["registration_client_uri"], headers=_auth(one)).status_code == 405


def test_an_initial_access_token_protects_registration() -> None:
    p = Provider(registration={"initial_access_token": "iat-0123456789"})
    with LiveServer([p]):
        refused = _register(p, MCP_CLIENT)
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
        assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
        wrong = _register(p, MCP_CLIENT, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = _register(p, MCP_CLIENT, headers={"Authorization": "Bearer iat-0123456789"})
        assert ok.status_code == 201


def test_a_redirect_uri_allow_list() -> None:
    p = Provider(registration={"redirect_uris": ["http://127.0.0.1:33418/callback",
                                                 "https://app.example.test/*"]})  # fmt: skip
    with LiveServer([p]):
        assert _register(p, MCP_CLIENT).status_code == 201
        prefixed = {**MCP_CLIENT, "redirect_uris": ["https://app.example.test/oauth/cb"]}
        assert _register(p, prefixed).status_code == 201
        elsewhere = {**MCP_CLIENT, "redirect_uris": [REDIRECT, "https://evil.test/cb"]}
        refused = _register(p, elsewhere).json()
        assert refused["error"] == "invalid_redirect_uri"
        assert refused["error_description"].startswith("redirect_uris[1]: not one this server")


def test_a_secret_that_expires() -> None:
    p = Provider(registration={"client_secret_ttl": 60})
    with LiveServer([p]):
        body = _register(p, {"grant_types": ["client_credentials"]}).json()
        assert body["client_secret_expires_at"] == body["client_id_issued_at"] + 60
        creds = (body["client_id"], body["client_secret"])
        data = {"grant_type": "client_credentials"}
        assert httpx.post(p.endpoint("token"), data=data, auth=creds).status_code == 200
        p.clock.advance(61)
        late = httpx.post(p.endpoint("token"), data=data, auth=creds)
        assert (late.status_code, late.json()["error"]) == (401, "invalid_client")
        assert "expired" in late.json()["error_description"]


def test_registration_switched_off_is_not_found_and_not_advertised() -> None:
    p = Provider(registration={"enabled": False})
    with LiveServer([p]):
        assert "registration_endpoint" not in p.metadata()
        assert _register(p, MCP_CLIENT).status_code == 404
        assert httpx.get(p.endpoint("registration") + "/x").status_code == 404
    assert "registration_endpoint" in Provider().metadata()


def test_a_software_statement_of_a_trusted_issuer() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "ss"}
    p = Provider(trusted_issuers=[{"issuer": "https://publisher.test", "jwks": {"keys": [jwk]}}])
    with LiveServer([p]):
        now = p.clock.now()
        statement = jwt.encode(
            {"iss": "https://publisher.test", "iat": now, "exp": now + 60,
             "client_name": "Published App", "software_id": "app-1",
             "redirect_uris": ["https://published.test/cb"]},
            key, "ES256", headers={"kid": "ss"},
        )  # fmt: skip
        body = _register(p, {"client_name": "Self-named", "software_statement": statement,
                             "redirect_uris": [REDIRECT]}).json()  # fmt: skip
        # §2.3: the statement's values win over the same fields sent in the clear
        assert (body["client_name"], body["software_id"]) == ("Published App", "app-1")
        assert body["redirect_uris"] == ["https://published.test/cb"]
        forged = jwt.encode({"iss": "https://publisher.test", "exp": now + 60},
                            ec.generate_private_key(ec.SECP256R1()), "ES256",
                            headers={"kid": "ss"})  # fmt: skip
        for bad in (forged, "not-a-jwt", 42):
            refused = _register(p, {"software_statement": bad, "redirect_uris": [REDIRECT]})
            assert refused.json()["error"] == "invalid_software_statement", bad
        stranger = jwt.encode({"iss": "https://stranger.test"}, key, "ES256")
        answer = _register(p, {"software_statement": stranger, "redirect_uris": [REDIRECT]})
        assert "is not trusted" in answer.json()["error_description"]


def test_a_registered_jwks_uri_must_be_on_a_host_the_server_may_fetch(provider: Provider) -> None:
    base = {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}
    far = _register(provider, {**base, "jwks_uri": "https://keys.example.test/jwks"}).json()
    assert far["error"] == "invalid_client_metadata"
    assert far["error_description"].startswith("jwks_uri: keys are fetched from loopback")
    near = _register(provider, {**base, "jwks_uri": "http://127.0.0.1:9/jwks"})
    assert near.status_code == 201
    assert "client_secret" not in near.json()  # private_key_jwt: no shared secret
    allowed = Provider(registration={"metadata_document_hosts": ["keys.example.test"]})
    with LiveServer([allowed]):
        ok = _register(allowed, {**base, "jwks_uri": "https://keys.example.test/jwks"})
        assert ok.status_code == 201


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"registration": {"initial_access_token": ""}}, "registration.initial_access_token"),
        ({"registration": {"client_secret_ttl": -1}}, "registration.client_secret_ttl"),
        ({"registration": {"redirect_uris": ["not a uri"]}}, "registration.redirect_uris[0]"),
        (
            {"registration": {"metadata_document_host": ["x"]}},
            "registration.metadata_document_host",
        ),
        ({"dpop": {"iat_window": 0}}, "dpop.iat_window"),
        ({"dpop": {"require_nonce": "yes"}}, "dpop.require_nonce"),
    ],
)
def test_bad_registration_and_dpop_config_names_the_key(table: dict[str, Any], key: str) -> None:
    from mockauth import ConfigError, ProviderConfig

    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_mapping(table)
    assert caught.value.key == key
