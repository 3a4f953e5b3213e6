"""Mock protected resources (RFC 9728) beside the provider: their metadata at
the path-inserted well-known URL, the challenges MCP clients read
(``resource_metadata``, ``scope``), audience, scope (403 step-up) and DPoP
checks, CORS, scripting, config, the admin API and ``mockauth serve --resource``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockauth import ConfigError, LiveServer, MockauthError, Provider, ProviderConfig
from mockauth.dpop import access_token_hash
from mockauth.errors import UnknownResourceError
from mockauth.scenarios.files import Scenario

from .helpers import DpopKey, pkce_pair, redirect_params

SECRET = "resource-secret-0123456789-abcdefgh"
CALLBACK = "http://127.0.0.1:5000/cb"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_client(client_id="service", client_secret=SECRET, grant_types=["client_credentials"])
    p.add_client(client_id="app", public=True, redirect_uris=[CALLBACK])
    p.add_user("alice")
    with LiveServer([p]):
        yield p


def auth_params(header: str) -> dict[str, str]:
    """The auth-params of one challenge (``Scheme k="v", ...``)."""
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', header))


def token_for(provider: Provider, resource: str, scope: str, proof: str | None = None) -> Any:
    """A client_credentials token for ``resource`` (RFC 8707), DPoP-bound with ``proof``."""
    headers = {"DPoP": proof} if proof else {}
    response = httpx.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials", "resource": resource, "scope": scope},
        auth=("service", SECRET),
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


# --- metadata ---------------------------------------------------------------------------


def test_metadata_names_the_issuer_at_the_path_inserted_url(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools"], resource_name="Demo MCP")
    assert resource.metadata_url == provider.base_url + "/.well-known/oauth-protected-resource/mcp"
    response = httpx.get(resource.metadata_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    doc = response.json()
    assert doc["resource"] == resource.url == provider.base_url + "/mcp"
    assert doc["authorization_servers"] == [provider.issuer]
    assert doc["scopes_supported"] == ["mcp:tools"]
    assert doc["resource_name"] == "Demo MCP"
    assert doc["bearer_methods_supported"] == ["header", "body"]
    assert "ES256" in doc["dpop_signing_alg_values_supported"]
    assert "dpop_bound_access_tokens_required" not in doc
    # RFC 9728 §3.1: the path is inserted; the root form names no resource with a path.
    assert httpx.get(provider.base_url + "/.well-known/oauth-protected-resource").status_code == 404
    assert httpx.get(resource.url + "/.well-known/oauth-protected-resource").status_code == 401


def test_metadata_scopes_supported_and_dpop_required(provider: Provider) -> None:
    resource = provider.add_resource(
        "/api/v1", scopes=["read"], scopes_supported=["read", "write"], dpop_required=True
    )
    doc = httpx.get(resource.metadata_url).json()
    assert doc["resource"].endswith("/api/v1")
    assert doc["scopes_supported"] == ["read", "write"]
    assert doc["dpop_bound_access_tokens_required"] is True
    bare = provider.add_resource("/bare")
    assert "scopes_supported" not in httpx.get(bare.metadata_url).json()


# --- challenges and token checks ----------------------------------------------------------


def test_no_token_is_a_challenge_naming_the_metadata_and_scopes(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools", "mcp:read"])
    response = httpx.post(resource.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize"})
    assert response.status_code == 401
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    params = auth_params(header)
    assert params["resource_metadata"] == resource.metadata_url
    assert params["scope"] == "mcp:tools mcp:read"
    assert "error" not in params  # RFC 6750 §3.1: no credentials, no error code
    assert response.headers["Cache-Control"] == "no-store"


def test_a_token_for_the_resource_gets_its_claims(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools"])
    token = token_for(provider, resource.url, "mcp:tools")
    response = httpx.get(
        resource.url + "/tools/list", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resource"] == resource.url
    assert (body["method"], body["path"]) == ("GET", "/mcp/tools/list")
    assert (body["client_id"], body["scope"]) == ("service", "mcp:tools")
    assert body["claims"]["aud"] == resource.url
    # a form body carries it too (RFC 6750 §2.2)
    form = httpx.post(resource.url, data={"access_token": token["access_token"]})
    assert form.status_code == 200


def test_a_token_for_another_audience_is_invalid_token(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    other = provider.add_resource("/other")
    token = token_for(provider, other.url, "openid")["access_token"]
    response = httpx.get(resource.url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    params = auth_params(response.headers["WWW-Authenticate"])
    assert params["error"] == "invalid_token"
    assert "not for this resource" in params["error_description"]
    assert params["resource_metadata"] == resource.metadata_url
    assert response.json()["error"] == "invalid_token"


def test_the_audience_with_a_trailing_slash_and_configured_audiences(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    slashed = provider.issue_token("alice", audience=resource.url + "/")
    assert _get(resource.url, slashed).status_code == 200  # RFC 8707 clients differ here
    api = provider.add_resource("/api", audience=["https://api.example.test"])
    named = provider.issue_token("alice", audience="https://api.example.test")
    assert _get(api.url, named).status_code == 200
    by_url = provider.issue_token("alice", audience=api.url)
    assert _get(api.url, by_url).status_code == 401  # the configured audience replaces the URL


def test_a_missing_scope_is_403_insufficient_scope_naming_it(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools", "mcp:admin"])
    token = provider.issue_token("alice", audience=resource.url, scope="mcp:tools")
    response = _get(resource.url, token)
    assert response.status_code == 403
    params = auth_params(response.headers["WWW-Authenticate"])
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "mcp:tools mcp:admin"  # what to ask for: the MCP step-up
    assert params["resource_metadata"] == resource.metadata_url
    assert "mcp:admin" in params["error_description"]


def test_expired_revoked_and_foreign_tokens_are_refused(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    token = token_for(provider, resource.url, "openid")["access_token"]
    assert _get(resource.url, token).status_code == 200
    httpx.post(provider.endpoint("revoke"), data={"token": token}, auth=("service", SECRET))
    assert _get(resource.url, token).status_code == 401
    fresh = provider.issue_token("alice", audience=resource.url)
    provider.clock.advance(3601)
    expired = _get(resource.url, fresh)
    assert expired.status_code == 401
    assert "expired" in auth_params(expired.headers["WWW-Authenticate"])["error_description"]
    other = Provider(ProviderConfig(issuer_id="other"))
    with LiveServer([other]):
        foreign = other.issue_token("alice", audience=resource.url)
    assert _get(resource.url, foreign).status_code == 401


def _get(url: str, token: str, scheme: str = "Bearer", **headers: str) -> httpx.Response:
    return httpx.get(url, headers={"Authorization": f"{scheme} {token}", **headers})


# --- DPoP -----------------------------------------------------------------------------


def test_a_dpop_bound_token_needs_its_proof_with_ath(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    key = DpopKey()
    token = token_for(
        provider, resource.url, "openid", key.proof("POST", provider.endpoint("token"))
    )
    assert token["token_type"] == "DPoP"
    access = token["access_token"]
    proof = key.proof("GET", resource.url, ath=access_token_hash(access))
    assert _get(resource.url, access, "DPoP", DPoP=proof).status_code == 200
    as_bearer = _get(resource.url, access)
    assert as_bearer.status_code == 401
    header = as_bearer.headers["WWW-Authenticate"]
    assert header.startswith("DPoP ")
    params = auth_params(header)
    assert params["error"] == "invalid_token"
    assert "ES256" in params["algs"].split()
    assert params["resource_metadata"] == resource.metadata_url
    wrong_url = key.proof("GET", provider.base_url + "/elsewhere", ath=access_token_hash(access))
    refused = _get(resource.url, access, "DPoP", DPoP=wrong_url)
    assert auth_params(refused.headers["WWW-Authenticate"])["error"] == "invalid_dpop_proof"


def test_dpop_required_refuses_bearer_tokens(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", dpop_required=True)
    bare = httpx.get(resource.url)
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"].startswith("DPoP ")
    bearer = token_for(provider, resource.url, "openid")["access_token"]
    refused = _get(resource.url, bearer)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("DPoP ")
    assert "DPoP-bound" in auth_params(refused.headers["WWW-Authenticate"])["error_description"]


def test_the_dpop_nonce_fault_applies_at_a_resource(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    key = DpopKey()
    proof = key.proof("POST", provider.endpoint("token"))
    access = token_for(provider, resource.url, "openid", proof)["access_token"]
    ath = access_token_hash(access)
    rules = {"rules": [{"endpoint": "resource", "dpop_nonce": True}]}
    Scenario.from_mapping(rules).apply(provider)
    first = _get(resource.url, access, "DPoP", DPoP=key.proof("GET", resource.url, ath=ath))
    assert first.status_code == 401
    params = auth_params(first.headers["WWW-Authenticate"])
    assert (params["error"], params["resource_metadata"]) == (
        "use_dpop_nonce",
        resource.metadata_url,
    )
    nonce = first.headers["DPoP-Nonce"]
    again = key.proof("GET", resource.url, ath=ath, nonce=nonce)
    assert _get(resource.url, access, "DPoP", DPoP=again).status_code == 200


# --- the code flow of a client calling the resource ------------------------------------


def test_a_public_client_gets_a_token_for_the_resource_by_the_code_flow(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools"])
    challenge = httpx.get(resource.url)
    metadata_url = auth_params(challenge.headers["WWW-Authenticate"])["resource_metadata"]
    prm = httpx.get(metadata_url).json()
    (issuer,) = prm["authorization_servers"]
    asm = httpx.get(issuer + "/.well-known/oauth-authorization-server").json()
    verifier, code_challenge = pkce_pair()
    authorize = httpx.get(asm["authorization_endpoint"], params={
        "response_type": "code", "client_id": "app", "redirect_uri": CALLBACK,
        "scope": " ".join(prm["scopes_supported"]), "resource": prm["resource"],
        "code_challenge": code_challenge, "code_challenge_method": "S256", "state": "s1",
    })  # fmt: skip
    code = redirect_params(authorize)["code"]
    token = httpx.post(asm["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": "app", "code_verifier": verifier, "resource": prm["resource"],
    }).json()  # fmt: skip
    answer = _get(resource.url, token["access_token"])
    assert answer.status_code == 200
    assert answer.json()["sub"] == provider.default_user().sub
    endpoints = [c.endpoint for c in provider.calls]
    assert endpoints[:2] == ["resource", "resource_metadata"]
    assert endpoints[-1] == "resource"


# --- CORS, scripting, the journal ------------------------------------------------------------


def test_cors_on_answers_errors_and_preflight(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    preflight = httpx.options(resource.url, headers={
        "Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, mcp-protocol-version",
    })  # fmt: skip
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "MCP-Protocol-Version" in preflight.headers["Access-Control-Allow-Headers"]
    refused = httpx.get(resource.url, headers={"Origin": "http://localhost:6274"})
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]
    assert httpx.request("TRACE", resource.url).status_code == 405


def test_scripted_failures_at_the_resource_and_its_metadata(provider: Provider) -> None:
    resource = provider.add_resource("/mcp", scopes=["mcp:tools"])
    provider.fail("resource_metadata", status=404, times=1)
    assert httpx.get(resource.metadata_url).status_code == 404
    assert httpx.get(resource.metadata_url).status_code == 200
    provider.fail("resource", error="insufficient_scope", times=1)
    token = provider.issue_token("alice", audience=resource.url, scope="mcp:tools")
    scripted = _get(resource.url, token)
    assert scripted.status_code == 403
    params = auth_params(scripted.headers["WWW-Authenticate"])
    assert (params["error"], params["scope"]) == ("insufficient_scope", "mcp:tools")
    assert params["resource_metadata"] == resource.metadata_url  # scripted errors too
    assert _get(resource.url, token).status_code == 200
    calls = [c for c in provider.calls if c.endpoint == "resource"]
    assert [c.status for c in calls] == [403, 200]


def test_provider_endpoint_refuses_the_resource_endpoints(provider: Provider) -> None:
    with pytest.raises(MockauthError, match=re.escape("provider.resource(path).url")):
        provider.endpoint("resource")


# --- registering them ---------------------------------------------------------------------


def test_add_remove_and_look_up(provider: Provider) -> None:
    resource = provider.add_resource("/mcp")
    assert provider.resource("/mcp") is resource
    assert provider.resources == [resource]
    with pytest.raises(ConfigError, match="already served at /mcp"):
        provider.add_resource("/mcp")
    replaced = provider.add_resource("/mcp", scopes=["x"], replace=True)
    assert provider.resource("/mcp") is replaced
    provider.remove_resource("/mcp")
    assert httpx.get(resource.url).status_code == 404
    with pytest.raises(UnknownResourceError, match="no resource at '/mcp'"):
        provider.remove_resource("/mcp")
    with pytest.raises(UnknownResourceError):
        provider.resource("/mcp")


@pytest.mark.parametrize(
    ("fields", "key", "message"),
    [
        ({"path": "mcp"}, "path", "from the root"),
        ({"path": "/mcp/"}, "path", "trailing"),
        ({"path": "/a//b"}, "path", "'//'"),
        ({"path": "/mcp?x=1"}, "path", "query"),
        ({"path": "/.well-known/x"}, "path", "reserved"),
        ({"path": "/_mockauth/x"}, "path", "reserved"),
        ({"path": "/mcp", "scopes": ["a b"]}, "scopes[0]", "not a scope"),
        ({"path": "/mcp", "audience": [""]}, "audience[0]", "empty"),
        ({"path": "/mcp", "scopez": ["a"]}, "scopez", "did you mean 'scopes'"),
    ],
)
def test_bad_resource_config_names_the_key(fields: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_mapping({"resources": [fields]})
    assert caught.value.key == f"resources[0].{key}"
    assert message in caught.value.message
    rest = dict(fields)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Provider().add_resource(rest.pop("path"), **rest)


def test_a_resource_at_the_root_is_the_whole_server(provider: Provider) -> None:
    """``/``: every path no issuer serves, its metadata at the root well-known URL
    (RFC 9728 §3.1), identified by the origin alone."""
    root = provider.add_resource("/", scopes=["api"])
    assert root.url == provider.base_url
    assert root.metadata_url == provider.base_url + "/.well-known/oauth-protected-resource"
    assert httpx.get(root.metadata_url).json()["resource"] == provider.base_url
    for path in ("/", "/anything/below", "/default-not"):
        challenge = httpx.get(provider.base_url + path)
        assert challenge.status_code == 401, path
        assert auth_params(challenge.headers["WWW-Authenticate"])["resource_metadata"] == (
            root.metadata_url
        )
    token = provider.issue_token("alice", audience=root.url, scope="api")
    assert _get(provider.base_url + "/v1/items", token).json()["path"] == "/v1/items"
    # The issuer's endpoints and other well-known documents are not the resource's.
    assert httpx.get(provider.endpoint("jwks")).status_code == 200
    probe = httpx.get(provider.base_url + "/.well-known/oauth-authorization-server")
    assert probe.status_code == 404
    inner = provider.add_resource("/mcp")  # a longer path is its own resource
    assert httpx.get(inner.url).headers["WWW-Authenticate"].count(inner.metadata_url) == 1


def test_resources_from_config_and_twice_the_same_path() -> None:
    config = ProviderConfig.from_mapping(
        {"resources": [{"path": "/mcp", "scopes": ["mcp:tools"]}, {"path": "/api"}]}
    )
    provider = Provider(config)
    assert [r.path for r in provider.resources] == ["/mcp", "/api"]
    assert provider.resource("/mcp").config.scopes == ("mcp:tools",)
    with pytest.raises(ConfigError, match="'/mcp' is listed twice"):
        ProviderConfig.from_mapping({"resources": [{"path": "/mcp"}, {"path": "/mcp"}]})


def test_snapshot_and_restore_bring_back_the_resources() -> None:
    provider = Provider()
    provider.add_resource("/mcp")
    state = provider.snapshot()
    provider.add_resource("/later")
    provider.remove_resource("/mcp")
    provider.restore(state)
    assert [r.path for r in provider.resources] == ["/mcp"]


def test_two_issuers_each_guard_their_own_resource() -> None:
    first = Provider(ProviderConfig(issuer_id="first"))
    second = Provider(ProviderConfig(issuer_id="second"))
    a = first.add_resource("/a")
    b = second.add_resource("/b")
    inside = second.add_resource("/second/api")  # below the issuer's path, on no endpoint
    with LiveServer([first, second]):
        assert httpx.get(a.metadata_url).json()["authorization_servers"] == [first.issuer]
        assert httpx.get(b.metadata_url).json()["authorization_servers"] == [second.issuer]
        assert _get(b.url, first.issue_token("alice", audience=b.url)).status_code == 401
        assert _get(b.url, second.issue_token("alice", audience=b.url)).status_code == 200
        assert _get(inside.url, second.issue_token("alice", audience=inside.url)).status_code == 200
        assert httpx.get(second.endpoint("jwks")).status_code == 200


def test_in_process_transport_reaches_the_resource() -> None:
    provider = Provider()
    resource = provider.add_resource("/mcp")
    token = provider.issue_token("alice", audience=resource.url)
    with provider.httpx_client() as http:
        response = http.get(resource.url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


# --- the admin API and mockauth serve ---------------------------------------------------------

ADMIN = "admin-token-0123456789-abcdefgh"


def test_the_admin_api_adds_lists_and_removes_resources() -> None:
    provider = Provider()
    with LiveServer([provider], admin_token=ADMIN) as server:
        assert server.admin_url is not None
        base = server.admin_url + "/issuers/default/resources"
        headers = {"X-Mockauth-Admin-Token": ADMIN}
        created = httpx.post(base, json={"path": "/mcp", "scopes": ["mcp:tools"]}, headers=headers)
        assert created.status_code == 201
        assert created.json()["metadata_url"].endswith("/.well-known/oauth-protected-resource/mcp")
        assert created.headers["Location"].endswith("/resources/%2Fmcp")
        assert httpx.get(created.json()["metadata_url"]).status_code == 200
        again = httpx.post(base, json={"path": "/mcp"}, headers=headers)
        assert (again.status_code, again.json()["key"]) == (409, "path")
        bad = httpx.post(base, json={"path": "/x", "scopez": []}, headers=headers)
        assert (bad.status_code, bad.json()["key"]) == (400, "scopez")
        listed = httpx.get(base, headers=headers).json()["resources"]
        assert [r["path"] for r in listed] == ["/mcp"]
        assert httpx.get(base + "/%2Fmcp", headers=headers).json()["scopes"] == ["mcp:tools"]
        assert httpx.delete(base + "/mcp", headers=headers).status_code == 204
        assert httpx.delete(base + "/mcp", headers=headers).status_code == 404
        assert provider.resources == []


def test_require_nonce_applies_at_a_resource() -> None:
    provider = Provider(ProviderConfig.from_mapping({"dpop": {"require_nonce": True}}))
    provider.add_client(client_id="service", client_secret=SECRET,
                        grant_types=["client_credentials"])  # fmt: skip
    resource = provider.add_resource("/mcp")
    key = DpopKey()
    with LiveServer([provider]):
        token_url = provider.endpoint("token")
        first = httpx.post(token_url, auth=("service", SECRET),
                           data={"grant_type": "client_credentials", "resource": resource.url},
                           headers={"DPoP": key.proof("POST", token_url)})  # fmt: skip
        nonce = first.headers["DPoP-Nonce"]
        proof = key.proof("POST", provider.endpoint("token"), nonce=nonce)
        access = token_for(provider, resource.url, "openid", proof)["access_token"]
        ath = access_token_hash(access)
        refused = _get(resource.url, access, "DPoP", DPoP=key.proof("GET", resource.url, ath=ath))
        assert refused.status_code == 401
        params = auth_params(refused.headers["WWW-Authenticate"])
        assert params["error"] == "use_dpop_nonce"
        assert params["resource_metadata"] == resource.metadata_url
        with_nonce = key.proof("GET", resource.url, ath=ath, nonce=refused.headers["DPoP-Nonce"])
        assert _get(resource.url, access, "DPoP", DPoP=with_nonce).status_code == 200


def test_the_journal_names_the_client_whose_token_came(provider: Provider) -> None:
    """A resource call is journaled under its JWT access token's client_id, so a
    rule (or an assertion) can pick one client's calls."""
    resource = provider.add_resource("/mcp")
    provider.add_client(client_id="other", client_secret=SECRET, grant_types=["client_credentials"])
    provider.fail("resource", client_id="other", status=503)
    mine = token_for(provider, resource.url, "openid")["access_token"]
    data = {"grant_type": "client_credentials", "resource": resource.url}
    answer = httpx.post(provider.endpoint("token"), auth=("other", SECRET), data=data)
    theirs = answer.json()["access_token"]
    assert _get(resource.url, mine).status_code == 200
    assert _get(resource.url, theirs).status_code == 503
    assert _get(resource.url, "not-a-jwt").status_code == 401
    calls = [c for c in provider.calls if c.endpoint == "resource"]
    assert [c.client_id for c in calls] == ["service", "other", None]
    provider.calls.assert_called("resource", client_id="service", times=1)
