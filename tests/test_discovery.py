"""Discovery (OIDC Discovery §3-4, RFC 8414) and the JWK Set (RFC 7517, OIDC Core §10.1.1)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import jwt
import pytest

from mockauth import Client, Provider
from mockauth.server import Dispatcher
from mockauth.transports import HttpxTransport

from .helpers import (
    WEB_REDIRECT,
    code_data,
    code_flow,
    get_code,
    pkce_pair,
    post_as,
    redirect_params,
)

OIDC_REQUIRED = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


def oidc_url(provider: Provider) -> str:
    return provider.issuer + "/.well-known/openid-configuration"


def rfc8414_root_url(provider: Provider) -> str:
    """RFC 8414 §3: the well-known segment goes between host and issuer path."""
    return f"{provider.base_url}/.well-known/oauth-authorization-server/{provider.issuer_id}"


def rfc8414_appended_url(provider: Provider) -> str:
    return provider.issuer + "/.well-known/oauth-authorization-server"


def fetch(http: httpx.Client, url: str) -> dict[str, Any]:
    r = http.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert "location" not in r.headers
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def metadata(http: httpx.Client, provider: Provider) -> dict[str, Any]:
    return fetch(http, oidc_url(provider))


def _all_arrays(value: Any) -> list[list[Any]]:
    found: list[list[Any]] = []
    if isinstance(value, list):
        found.append(value)
        for item in value:
            found += _all_arrays(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += _all_arrays(item)
    return found


# --- the document -----------------------------------------------------------


def test_issuer_is_exact(metadata: dict[str, Any], provider: Provider) -> None:
    assert metadata["issuer"] == provider.issuer == "http://mockauth.test/default"
    assert not metadata["issuer"].endswith("/")


def test_all_three_well_known_forms_are_equal(http: httpx.Client, provider: Provider) -> None:
    oidc = fetch(http, oidc_url(provider))
    root = fetch(http, rfc8414_root_url(provider))
    appended = fetch(http, rfc8414_appended_url(provider))
    assert root == appended == oidc
    assert root["issuer"] == provider.issuer


def test_the_oidc_path_insertion_form_mcp_clients_try(provider: Provider) -> None:
    """MCP clients try RFC 8414 path insertion, then OIDC path insertion
    (``/.well-known/openid-configuration{path}``), then the OIDC form under the issuer."""
    a, b = Provider(issuer_id="a"), Provider(issuer_id="realms/b")
    a.base_url = b.base_url = "http://127.0.0.1:8080"
    with httpx.Client(transport=HttpxTransport(Dispatcher([a, b]))) as http:
        for p in (a, b):
            inserted = fetch(http, f"{p.base_url}/.well-known/openid-configuration/{p.issuer_id}")
            assert inserted == fetch(http, oidc_url(p))
            assert inserted["issuer"] == p.issuer
        missing = http.get("http://127.0.0.1:8080/.well-known/openid-configuration/nobody")
        assert missing.status_code == 404  # never 3xx or 5xx


def test_well_known_forms_with_another_issuer_id() -> None:
    provider = Provider(issuer_id="tenant-a")
    with provider.httpx_client() as http:
        root = fetch(http, rfc8414_root_url(provider))
        appended = fetch(http, rfc8414_appended_url(provider))
        assert root == appended
        assert root["issuer"] == provider.issuer == "http://mockauth.test/tenant-a"
        # Another issuer's id at the root is not this provider's metadata.
        assert (
            http.get(
                f"{provider.base_url}/.well-known/oauth-authorization-server/default"
            ).status_code
            == 404
        )


def test_well_known_forms_through_the_dispatcher() -> None:
    """The server's router serves the RFC 8414 root form for each mounted issuer."""
    a, b = Provider(issuer_id="a"), Provider(issuer_id="b")
    a.base_url = b.base_url = "http://127.0.0.1:8080"
    transport = HttpxTransport(Dispatcher([a, b]))
    with httpx.Client(transport=transport) as http:
        for provider in (a, b):
            root = fetch(http, rfc8414_root_url(provider))
            assert (
                root
                == fetch(http, rfc8414_appended_url(provider))
                == fetch(http, oidc_url(provider))
            )
            assert (
                root["issuer"] == provider.issuer == f"http://127.0.0.1:8080/{provider.issuer_id}"
            )


def test_configured_issuer_is_used_verbatim() -> None:
    provider = Provider(issuer="https://idp.example.com/realms/test")
    with provider.httpx_client() as h:
        doc = fetch(h, f"{provider.base_url}/default/.well-known/openid-configuration")
    assert doc["issuer"] == "https://idp.example.com/realms/test"
    assert doc["token_endpoint"] == "https://idp.example.com/realms/test/token"


def test_required_fields_are_present(metadata: dict[str, Any]) -> None:
    for name in OIDC_REQUIRED:
        assert metadata.get(name), name
    assert "code" in metadata["response_types_supported"]
    assert "public" in metadata["subject_types_supported"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert "openid" in metadata["scopes_supported"]
    assert "refresh_token" in metadata["grant_types_supported"]


@pytest.mark.parametrize(
    "overrides", [{}, {"scopes_supported": []}, {"tokens": {"signing_alg": "HS256"}}]
)
def test_no_empty_arrays_or_nulls(overrides: dict[str, Any]) -> None:
    provider = Provider(**overrides)
    with provider.httpx_client() as http:
        doc = fetch(http, oidc_url(provider))
    assert [a for a in _all_arrays(doc) if not a] == []
    assert [k for k, v in doc.items() if v is None or v == ""] == []


def test_endpoint_urls_belong_to_the_issuer_and_answer(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any]
) -> None:
    endpoints = {k: v for k, v in metadata.items() if k.endswith(("_endpoint", "_uri"))}
    assert set(endpoints) >= {
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "introspection_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
    }
    for name, url in endpoints.items():
        assert url.startswith(provider.issuer + "/"), name
        r = http.request("GET" if name != "token_endpoint" else "POST", url)
        assert r.status_code != 404, name
        assert r.status_code < 500, name


def test_head_works(http: httpx.Client, provider: Provider) -> None:
    assert http.head(oidc_url(provider)).status_code == 200
    assert http.head(provider.endpoint("jwks")).status_code == 200


def test_post_to_discovery_is_405(http: httpx.Client, provider: Provider) -> None:
    r = http.post(oidc_url(provider))
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]


def test_served_issuer_is_the_served_url() -> None:
    """DESIGN: once served, the issuer is the served URL plus the issuer path."""
    provider = Provider()
    before = provider.issuer
    with provider.serve() as server:
        assert provider.issuer == server.url + "/default"
        assert provider.metadata()["issuer"] == provider.issuer != before


# --- metadata matches behaviour ---------------------------------------------


def test_every_advertised_grant_type_works(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], web: Client, service: Client
) -> None:
    token_url = metadata["token_endpoint"]
    web_auth = (web.client_id, web.client_secret or "")
    works: dict[str, bool] = {}
    for grant in metadata["grant_types_supported"]:
        if grant == "authorization_code":
            works[grant] = "access_token" in code_flow(http, provider, web)
        elif grant == "refresh_token":
            rt = code_flow(http, provider, web)["refresh_token"]
            r = http.post(token_url, data={"grant_type": grant, "refresh_token": rt}, auth=web_auth)
            works[grant] = r.status_code == 200
        elif grant == "client_credentials":
            r = http.post(
                token_url,
                data={"grant_type": grant},
                auth=(service.client_id, service.client_secret or ""),
            )
            works[grant] = r.status_code == 200
        elif grant == "password":
            data = {"grant_type": grant, "username": "alice", "password": "alice-pw"}
            works[grant] = http.post(token_url, data=data, auth=web_auth).status_code == 200
        elif grant == "urn:ietf:params:oauth:grant-type:device_code":
            started = http.post(metadata["device_authorization_endpoint"], auth=web_auth).json()
            provider.approve_device(started["user_code"])
            data = {"grant_type": grant, "device_code": started["device_code"]}
            works[grant] = http.post(token_url, data=data, auth=web_auth).status_code == 200
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            idp = Provider(issuer_id="idp")
            provider.trust_issuer(idp)
            bearer = provider.add_client(client_id="bearer", grant_types=[grant])
            assertion = idp.issue_token("alice", audience=provider.issuer)
            data = {"grant_type": grant, "assertion": assertion}
            answer = http.post(
                token_url, data=data, auth=(bearer.client_id, bearer.client_secret or "")
            )
            works[grant] = answer.status_code == 200
        elif grant == "urn:ietf:params:oauth:grant-type:token-exchange":
            exchanger = provider.add_client(client_id="exchanger", grant_types=[grant])
            data = {
                "grant_type": grant,
                "subject_token": provider.issue_token("alice"),
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }
            creds = (exchanger.client_id, exchanger.client_secret or "")
            works[grant] = http.post(token_url, data=data, auth=creds).status_code == 200
        else:
            works[grant] = False  # advertised but untested: extend this test
    assert works
    assert all(works.values()), works


def _auth_kwargs(method: str, client: Client) -> dict[str, Any]:
    if method == "client_secret_basic":
        return {"auth": (client.client_id, client.client_secret or ""), "data": {}}
    if method == "client_secret_post":
        return {"data": {"client_id": client.client_id, "client_secret": client.client_secret}}
    if method == "none":
        return {"data": {"client_id": client.client_id}}
    raise AssertionError(f"advertised auth method {method!r} is not covered by this test")


DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
#: A pushed authorization request's parameters (RFC 9126), PKCE included.
PUSHED = {"response_type": "code", "redirect_uri": WEB_REDIRECT,
          "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
          "code_challenge_method": "S256"}  # fmt: skip
JWT_METHODS = {"private_key_jwt": "ES256", "client_secret_jwt": "HS256"}


def _assertion_works(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], method: str, endpoint: str
) -> None:
    """An assertion-authenticated client (RFC 7523 §2.2) at ``endpoint``."""
    import json
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from mockauth.clientauth.assertion import ASSERTION_TYPE

    secret = "assertion-secret-0123456789-abcdefghijklmnop"
    key: Any = secret
    fields: dict[str, Any] = {"client_secret": secret}
    if method == "private_key_jwt":
        key = ec.generate_private_key(ec.SECP256R1())
        fields = {
            "jwks": {"keys": [json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))]}
        }
    client_id = f"by-{method}-{endpoint}"
    provider.add_client(
        client_id=client_id, token_endpoint_auth_method=method,
        grant_types=["client_credentials", DEVICE_CODE, "authorization_code"],
        redirect_uris=[WEB_REDIRECT], **fields,
    )  # fmt: skip
    url = metadata[f"{endpoint}_endpoint"]
    now = time.time()
    claims = {"iss": client_id, "sub": client_id, "aud": url, "iat": now, "exp": now + 60,
              "jti": f"{method}-{endpoint}-{now}"}  # fmt: skip
    data = {"client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jwt.encode(claims, key, algorithm=JWT_METHODS[method])}  # fmt: skip
    if endpoint == "token":
        data["grant_type"] = "client_credentials"
    elif endpoint == "pushed_authorization_request":
        data.update(PUSHED)
    elif endpoint != "device_authorization":
        data["token"] = provider.issue_token("alice", client_id=client_id)
    r = http.post(url, data=data)
    assert r.status_code in (200, 201), (endpoint, method, r.text)
    if endpoint == "introspection":
        assert r.json()["active"] is True, method
    if endpoint == "device_authorization":
        assert "device_code" in r.json(), method
    if endpoint == "pushed_authorization_request":
        assert r.status_code == 201, (method, r.text)


@pytest.mark.parametrize(
    "endpoint",
    [
        "token",
        "introspection",
        "revocation",
        "device_authorization",
        "pushed_authorization_request",
    ],
)
def test_every_advertised_auth_method_works(
    http: httpx.Client,
    provider: Provider,
    metadata: dict[str, Any],
    web: Client,
    spa: Client,
    endpoint: str,
) -> None:
    methods = metadata[f"{endpoint}_endpoint_auth_methods_supported"]
    assert methods
    for method in methods:
        if method in JWT_METHODS:
            _assertion_works(http, provider, metadata, method, endpoint)
            continue
        client = spa if method == "none" else web
        kwargs = _auth_kwargs(method, client)
        if endpoint == "device_authorization":
            r = http.post(metadata[f"{endpoint}_endpoint"], **kwargs)
            assert "device_code" in r.json(), (method, r.text)
            continue
        if endpoint == "pushed_authorization_request":
            kwargs["data"].update(PUSHED, redirect_uri=client.redirect_uris[0])
            r = http.post(metadata[f"{endpoint}_endpoint"], **kwargs)
            assert r.status_code == 201, (method, r.text)
            continue
        tokens = code_flow(http, provider, client)
        if endpoint == "token":
            kwargs["data"].update(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        else:
            kwargs["data"]["token"] = tokens["access_token"]
        r = http.post(metadata[f"{endpoint}_endpoint"], **kwargs)
        assert r.status_code == 200, (endpoint, method, r.text)
        if endpoint == "introspection":
            assert r.json()["active"] is True, method


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post"])
def test_every_advertised_response_mode_works(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], web: Client, mode: str
) -> None:
    assert mode in metadata["response_modes_supported"]
    r = http.get(
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": web.client_id,
            "redirect_uri": WEB_REDIRECT,
            "response_mode": mode,
            "state": "s",
        },
    )
    if mode == "form_post":
        assert r.status_code == 200
        assert 'name="code"' in r.text
        assert f'action="{WEB_REDIRECT}"' in r.text
    else:
        assert r.status_code == 302
        location = r.headers["location"]
        separator = "#" if mode == "fragment" else "?"
        assert location.startswith(WEB_REDIRECT + separator)
        assert "code=" in location
        assert "iss=" in location  # authorization_response_iss_parameter_supported


def test_advertised_response_modes_are_exactly_the_working_ones(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], web: Client
) -> None:
    for mode in ("query.jwt", "web_message", "fragment.jwt"):
        params = {
            "response_type": "code",
            "client_id": web.client_id,
            "redirect_uri": WEB_REDIRECT,
            "response_mode": mode,
        }
        got = redirect_params(http.get(metadata["authorization_endpoint"], params=params))
        assert got["error"] == "invalid_request"
        assert mode not in metadata["response_modes_supported"]


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_every_advertised_code_challenge_method_works(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], web: Client, method: str
) -> None:
    """Both methods work for a confidential client; a public one must use S256."""
    assert method in metadata["code_challenge_methods_supported"]
    verifier, s256 = pkce_pair()
    challenge = s256 if method == "S256" else verifier
    code = get_code(http, provider, web, code_challenge=challenge, code_challenge_method=method)[
        "code"
    ]
    r = post_as(http, provider, "token", web, code_data(web, code, verifier))
    assert r.status_code == 200, r.text


def test_a_public_client_must_use_s256(http: httpx.Client, provider: Provider, spa: Client) -> None:
    """RFC 9700 §2.1.1 and the MCP authorization spec: plain is for confidential clients."""
    verifier, _ = pkce_pair()
    refused = get_code(http, provider, spa, code_challenge=verifier, code_challenge_method="plain")
    assert refused["error"] == "invalid_request"
    assert "S256" in refused["error_description"]
    assert "iss" in refused  # the error goes back with iss (RFC 9207)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA", "HS256"])
def test_advertised_signing_alg_is_the_one_used(alg: str) -> None:
    provider = Provider(tokens={"signing_alg": alg})
    web = provider.add_client(
        client_id="web",
        client_secret="web-secret-0123456789-abcdefghijkl",
        redirect_uris=[WEB_REDIRECT],
    )
    with provider.httpx_client() as http:
        doc = fetch(http, oidc_url(provider))
        tokens = code_flow(http, provider, web)
    assert (
        jwt.get_unverified_header(tokens["id_token"])["alg"]
        in doc["id_token_signing_alg_values_supported"]
    )


def test_claims_in_tokens_are_advertised(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], web: Client
) -> None:
    tokens = code_flow(http, provider, web, scope="openid profile email", nonce="n")
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    info = http.get(
        metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert set(id_claims) | set(info) <= set(metadata["claims_supported"])


def test_request_objects_are_not_supported_as_advertised(
    http: httpx.Client, metadata: dict[str, Any], web: Client
) -> None:
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False
    for name, error in (
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ):
        params = {
            "response_type": "code",
            "client_id": web.client_id,
            "redirect_uri": WEB_REDIRECT,
            name: "x",
        }
        got = redirect_params(http.get(metadata["authorization_endpoint"], params=params))
        assert got["error"] == error


# --- JWKS -------------------------------------------------------------------


@pytest.fixture
def jwks(http: httpx.Client, metadata: dict[str, Any]) -> dict[str, Any]:
    return fetch(http, metadata["jwks_uri"])


def _check_jwks(doc: dict[str, Any]) -> None:
    keys = doc["keys"]
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids))
    for key in keys:
        assert key["kid"].startswith("mockauth-")
        assert key["use"] == "sig"
        assert key["alg"] in ("RS256", "PS256", "ES256", "EdDSA")
        assert "key_ops" not in key
        assert [m for m in PRIVATE_MEMBERS if m in key] == []
        assert key["kty"] in ("RSA", "EC", "OKP")
        if key["kty"] == "RSA":
            n = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
            assert len(n) * 8 >= 2048
        jwt.PyJWK.from_dict(key)  # a usable public key


def test_jwks_has_public_parts_only(jwks: dict[str, Any]) -> None:
    assert jwks["keys"]
    _check_jwks(jwks)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA", "HS256"])
def test_jwks_for_every_algorithm(alg: str) -> None:
    provider = Provider(tokens={"signing_alg": alg})
    provider.issue_token(subject="x")  # make sure the key exists
    with provider.httpx_client() as http:
        doc = fetch(http, provider.endpoint("jwks"))
    _check_jwks(doc)
    # A shared secret is never published; RS256 always is (OIDC Discovery §3).
    expected = ["RS256"] if alg == "HS256" else list(dict.fromkeys([alg, "RS256"]))
    assert [k["alg"] for k in doc["keys"]] == expected
    assert provider.metadata()["id_token_signing_alg_values_supported"] == list(
        dict.fromkeys([alg, "RS256"])
    )


def test_tokens_verify_against_the_jwks(
    http: httpx.Client, provider: Provider, jwks: dict[str, Any], web: Client
) -> None:
    tokens = code_flow(http, provider, web)
    keyset = jwt.PyJWKSet.from_dict(jwks)
    for name in ("access_token", "id_token"):
        kid = jwt.get_unverified_header(tokens[name])["kid"]
        key = keyset[kid]
        jwt.decode(
            tokens[name],
            key.key,
            algorithms=[key.algorithm_name],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )


def test_rotation_keeps_the_old_key(
    http: httpx.Client, provider: Provider, metadata: dict[str, Any], web: Client
) -> None:
    old_token = code_flow(http, provider, web)["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    provider.rotate_keys()
    provider.rotate_keys()
    doc = fetch(http, metadata["jwks_uri"])
    _check_jwks(doc)
    kids = [k["kid"] for k in doc["keys"]]
    assert old_kid in kids
    assert len(kids) == 3
    new_token = code_flow(http, provider, web)["access_token"]
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    assert new_kid in kids
    keyset = jwt.PyJWKSet.from_dict(doc)
    for token in (old_token, new_token):
        kid = jwt.get_unverified_header(token)["kid"]
        jwt.decode(
            token,
            keyset[kid].key,
            algorithms=[keyset[kid].algorithm_name],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
        r = http.get(metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


def test_rotation_to_another_algorithm(http: httpx.Client, provider: Provider) -> None:
    provider.issue_token(subject="x")
    provider.rotate_keys("ES256")
    doc = fetch(http, provider.endpoint("jwks"))
    _check_jwks(doc)
    assert {k["alg"] for k in doc["keys"]} == {"RS256", "ES256"}


def test_a_browser_client_probing_discovery_urls_can_read_every_404() -> None:
    """MCP clients in a browser try URL after URL; each probe is preflighted (it
    sends MCP-Protocol-Version) and a 404 without CORS looks like a network error."""
    a = Provider(issuer_id="a")
    a.base_url = "http://127.0.0.1:8080"
    probe = {"Origin": "http://localhost:6274", "MCP-Protocol-Version": "2025-11-25"}
    with httpx.Client(transport=HttpxTransport(Dispatcher([a]))) as http:
        for path in (
            "/.well-known/oauth-authorization-server",  # the root form: no issuer there
            "/.well-known/oauth-protected-resource/mcp",  # no such resource
            "/a/.well-known/nothing",  # under the issuer, no endpoint
            "/nobody/.well-known/openid-configuration",
        ):
            url = a.base_url + path
            preflight = http.options(url, headers={
                **probe, "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "mcp-protocol-version",
            })  # fmt: skip
            assert preflight.status_code == 204, path
            assert "MCP-Protocol-Version" in preflight.headers["Access-Control-Allow-Headers"]
            missing = http.get(url, headers=probe)
            assert missing.status_code == 404, path
            assert missing.headers["Access-Control-Allow-Origin"] == "*", path
        listing = http.get(a.base_url + "/", headers=probe)
        assert listing.headers["Access-Control-Allow-Origin"] == "*"
    switched_off = Provider(issuer_id="b", registration={"enabled": False})
    with switched_off.httpx_client() as http:
        url = switched_off.issuer + "/register"
        assert http.options(url, headers=probe).status_code == 204
        answer = http.post(url, json={"redirect_uris": ["http://127.0.0.1/cb"]}, headers=probe)
        assert (answer.status_code, answer.headers["Access-Control-Allow-Origin"]) == (404, "*")
    empty = Dispatcher([])
    with httpx.Client(transport=HttpxTransport(empty)) as http:
        nobody = http.get("http://127.0.0.1:8080/x", headers=probe)
        assert (nobody.status_code, nobody.headers["Access-Control-Allow-Origin"]) == (404, "*")
