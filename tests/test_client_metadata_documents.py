"""Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document):
a URL client id resolved from a document registered in Python or over the
admin API, or fetched from a loopback host (no redirects, 200 only, limits),
with exact redirect URI matching; every failure is invalid_client."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockauth import ConfigError, LiveServer, Provider

from .helpers import DocumentServer, pkce_pair, redirect_params

CALLBACK = "http://127.0.0.1:33418/callback"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_user("alice")
    with LiveServer([p]):
        yield p


def _document(url: str, **changes: Any) -> dict[str, Any]:
    doc = {"client_id": url, "client_name": "Doc Client", "redirect_uris": [CALLBACK],
           "grant_types": ["authorization_code", "refresh_token"],
           "token_endpoint_auth_method": "none"}  # fmt: skip
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def _authorize(provider: Provider, client_id: str, redirect_uri: str = CALLBACK) -> httpx.Response:
    _, challenge = pkce_pair()
    return httpx.get(provider.endpoint("authorize"), params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "s",
    })  # fmt: skip


def _sign_in(provider: Provider, client_id: str) -> httpx.Response:
    verifier, challenge = pkce_pair()
    with httpx.Client() as http:
        code = redirect_params(http.get(provider.endpoint("authorize"), params={
            "response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
            "code_challenge": challenge, "code_challenge_method": "S256",
            "scope": "openid offline_access",
        }))["code"]  # fmt: skip
        return http.post(provider.endpoint("token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": client_id, "code_verifier": verifier,
        })  # fmt: skip


def test_metadata_says_documents_are_supported(provider: Provider) -> None:
    assert (
        httpx.get(provider.endpoint("discovery")).json()["client_id_metadata_document_supported"]
        is True
    )
    off = Provider(registration={"metadata_documents": False})
    assert off.metadata()["client_id_metadata_document_supported"] is False


def test_a_fetched_document_signs_in_and_is_cached(provider: Provider) -> None:
    with DocumentServer() as docs:
        url = docs.url("/oauth/client.json")
        docs.docs["/oauth/client.json"] = (200, _document(url))
        tokens = _sign_in(provider, url)
        assert tokens.status_code == 200, tokens.text
        claims = provider.tokens.decode(tokens.json()["access_token"])
        assert claims["client_id"] == url
        assert "refresh_token" in tokens.json()
        assert docs.hits["/oauth/client.json"] == 1  # authorize and token: one fetch
        assert url not in [c.client_id for c in provider.clients]  # resolved, not registered
        events = [e for c in provider.calls for e in c.events]
        assert events == [{"event": "client_metadata_document_read", "client_id": url}]


def test_a_fetched_document_is_reused_as_its_cache_control_says(provider: Provider) -> None:
    with DocumentServer() as docs:
        short, fresh = "/short.json", "/fresh.json"
        for path, header in ((short, "public, max-age=10"), (fresh, "no-store")):
            docs.docs[path] = (200, _document(docs.url(path)))
            docs.headers[path] = {"Cache-Control": header}
        assert _sign_in(provider, docs.url(short)).status_code == 200
        assert _sign_in(provider, docs.url(short)).status_code == 200
        assert docs.hits[short] == 1  # reused within its max-age
        provider.clock.advance(11)
        assert _sign_in(provider, docs.url(short)).status_code == 200
        assert docs.hits[short] == 2  # stale: fetched again
        assert _sign_in(provider, docs.url(fresh)).status_code == 200
        assert docs.hits[fresh] == 2  # no-store: fetched at /authorize and at /token


def test_a_registered_document_needs_no_network(provider: Provider) -> None:
    url = "https://mcp-client.example.test/oauth/metadata.json"
    client = provider.add_client_metadata_document(_document(url))
    assert (client.client_id, client.public, client.client_name) == (url, True, "Doc Client")
    assert _sign_in(provider, url).status_code == 200
    assert list(provider.client_metadata_documents) == [url]
    provider.remove_client_metadata_document(url)
    refused = _authorize(provider, url)
    assert refused.status_code == 400  # shown as a page: not fetched from a host not allowed
    assert "metadata_document_hosts" in refused.text


def test_the_redirect_uri_must_match_the_document_exactly(provider: Provider) -> None:
    url = "https://mcp-client.example.test/oauth/metadata.json"
    provider.add_client_metadata_document(_document(url))
    answer = _authorize(provider, url, "http://127.0.0.1:33418/callback/extra")
    assert answer.status_code == 400
    assert "is not registered for this client" in answer.text


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, {}, "answered 404"),
        (302, {}, "redirects are not followed"),
        (200, b"<html>", "did not answer JSON"),
        (200, {"client_id": "https://other.test/c", "redirect_uris": [CALLBACK]},
         "client_id: must be the document's URL"),
        (200, "no-redirects", "redirect_uris: a non-empty list is required"),
        (200, "secret", "client_secret: a metadata document holds no shared secret"),
        (200, "basic", "token_endpoint_auth_method: must be one of none, private_key_jwt"),
    ],
)  # fmt: skip
def test_a_bad_document_is_invalid_client_saying_why(
    provider: Provider, status: int, body: Any, message: str
) -> None:
    with DocumentServer() as docs:
        url = docs.url("/client.json")
        if body == "no-redirects":
            body = _document(url, redirect_uris=None)
        elif body == "secret":
            body = _document(url, client_secret="s3cret")
        elif body == "basic":
            body = _document(url, token_endpoint_auth_method="client_secret_basic")
        docs.docs["/client.json"] = (status, body)
        page = _authorize(provider, url)
        assert page.status_code == 400
        assert message in html.unescape(page.text)
        token = httpx.post(provider.endpoint("token"), data={
            "grant_type": "authorization_code", "code": "x", "client_id": url,
        })  # fmt: skip
        assert (token.status_code, token.json()["error"]) == (401, "invalid_client")
        assert message in token.json()["error_description"]


@pytest.mark.parametrize(
    ("client_id", "message"),
    [
        ("http://mcp.example.test/client.json", "must be an https URL"),
        ("https://mcp.example.test", "must have a path"),
        ("https://mcp.example.test/", "must have a path"),
        ("https://mcp.example.test/a/../client.json", ". or .. path segments"),
        ("https://user:pw@mcp.example.test/client.json", "user name or password"),
        ("https://mcp.example.test/client.json#x", "fragment"),
    ],
)
def test_a_url_that_cannot_be_a_client_id(provider: Provider, client_id: str, message: str) -> None:
    answer = httpx.post(provider.endpoint("token"), data={
        "grant_type": "authorization_code", "code": "x", "client_id": client_id,
    })  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert message in answer.json()["error_description"]
    with pytest.raises(ConfigError, match="client_id"):
        provider.add_client_metadata_document(_document(client_id))


def test_configured_hosts_are_fetched_and_others_not() -> None:
    p = Provider(registration={"metadata_document_hosts": ["localhost"]})
    with LiveServer([p]), DocumentServer() as docs:
        url = docs.url("/client.json").replace("127.0.0.1", "localhost")
        docs.docs["/client.json"] = (200, _document(url))
        assert _sign_in(p, url).status_code == 200


def test_documents_switched_off_leave_url_ids_unknown() -> None:
    p = Provider(registration={"metadata_documents": False})
    with LiveServer([p]), DocumentServer() as docs:
        url = docs.url("/client.json")
        docs.docs["/client.json"] = (200, _document(url))
        page = _authorize(p, url)
        assert page.status_code == 400
        assert "unknown client_id" in page.text
        assert docs.hits == {}


def test_documents_over_the_admin_api_and_reset() -> None:
    import secrets

    admin_token = secrets.token_urlsafe(16)
    p = Provider()
    with LiveServer([p], admin_token=admin_token) as server:
        assert server.admin_url is not None
        admin = httpx.Client(base_url=server.admin_url,
                             headers={"X-Mockauth-Admin-Token": admin_token})  # fmt: skip
        url = "https://mcp-client.example.test/oauth/metadata.json"
        path = "/issuers/default/client_metadata_documents"
        assert admin.post(path, json=_document(url)).status_code == 201
        assert admin.get(path).json()["documents"][0]["client_id"] == url
        assert _authorize(p, url).status_code == 302
        bad = admin.post(path, json=_document(url, token_endpoint_auth_method="client_secret_post"))
        assert (bad.status_code, bad.json()["key"]) == (400, "token_endpoint_auth_method")
        admin.post("/issuers/default/reset", json={})
        assert admin.get(path).json()["documents"] == []
        admin.post(path, json=_document(url))
        encoded = "https%3A%2F%2Fmcp-client.example.test%2Foauth%2Fmetadata.json"
        assert admin.delete(f"{path}/{encoded}").status_code == 204
        assert admin.delete(f"{path}/{encoded}").status_code == 404
        admin.close()
