"""Pushed authorization requests (RFC 9126): the push, authenticated as at the
token endpoint and checked as /authorize checks; the request_uri, bound to its
client, used once and living on the provider clock; required pushes; and
requests-oauth2client's PAR over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests_oauth2client as roc

from mockauth import LiveServer, Provider
from mockauth.endpoints.par import REQUEST_URI_PREFIX

from .helpers import pkce_pair, redirect_params

SECRET = "par-secret-0123456789-abcdefghijkl"
CALLBACK = "http://127.0.0.1:5000/cb"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    p.add_client(client_id="other", client_secret=SECRET, redirect_uris=[CALLBACK])
    p.add_user("alice")
    with LiveServer([p]):
        yield p


def _push(provider: Provider, client: str = "web", **params: Any) -> httpx.Response:
    _, challenge = pkce_pair()
    data = {"response_type": "code", "redirect_uri": CALLBACK, "scope": "openid",
            "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256",
            **params}  # fmt: skip
    return httpx.post(provider.endpoint("par"), data={k: v for k, v in data.items() if v},
                      auth=(client, SECRET))  # fmt: skip


def _authorize(provider: Provider, **params: str) -> httpx.Response:
    return httpx.get(provider.endpoint("authorize"), params=params)


def test_metadata_lists_the_endpoint(provider: Provider) -> None:
    doc = httpx.get(provider.endpoint("discovery")).json()
    assert doc["pushed_authorization_request_endpoint"] == provider.endpoint("par")
    assert doc["require_pushed_authorization_requests"] is False
    assert "private_key_jwt" in doc["pushed_authorization_request_endpoint_auth_methods_supported"]


def test_push_then_authorize_with_the_request_uri(provider: Provider) -> None:
    pushed = _push(provider)
    assert pushed.status_code == 201
    assert pushed.headers["Cache-Control"] == "no-store"
    body = pushed.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 60
    answer = redirect_params(_authorize(provider, client_id="web", request_uri=body["request_uri"]))
    assert answer["state"] == "st-1"  # the pushed parameters are the request
    assert "code" in answer
    again = _authorize(provider, client_id="web", request_uri=body["request_uri"])
    assert again.status_code == 400  # used once
    assert "already used" in again.text


def test_the_request_uri_is_bound_to_its_client_and_expires(provider: Provider) -> None:
    uri = _push(provider).json()["request_uri"]
    stolen = _authorize(provider, client_id="other", request_uri=uri)
    assert stolen.status_code == 400
    assert "pushed by another client" in stolen.text
    later = _push(provider).json()["request_uri"]
    provider.clock.advance(61)
    expired = _authorize(provider, client_id="web", request_uri=later)
    assert (expired.status_code, "expired" in expired.text) == (400, True)
    unknown = _authorize(provider, client_id="web", request_uri=REQUEST_URI_PREFIX + "nope")
    assert (unknown.status_code, "unknown or already used" in unknown.text) == (400, True)
    # a request_uri that is not a pushed one is a request object by reference: not supported
    by_reference = redirect_params(_authorize(provider, client_id="web", request_uri="urn:x:y"))
    assert by_reference["error"] == "request_uri_not_supported"
    missing = _authorize(provider, request_uri=uri)
    assert "client_id is required" in missing.text


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"redirect_uri": "http://127.0.0.1:5000/other"}, "invalid_request", "not registered"),
        ({"response_type": "token"}, "unsupported_response_type", "token"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request",
         "must not be pushed"),
        ({"code_challenge_method": "S512"}, "invalid_request", "code_challenge_method"),
        ({"client_id": "other"}, "invalid_request", "differs"),
    ],
)  # fmt: skip
def test_a_bad_push_is_the_json_error_authorize_would_give(
    provider: Provider, params: dict[str, str], error: str, message: str
) -> None:
    answer = _push(provider, **params)
    assert (answer.status_code, answer.json()["error"]) == (400, error)
    assert message in answer.json()["error_description"]
    assert len(provider.services.store.pushed.items) == 0


def test_the_push_authenticates_the_client(provider: Provider) -> None:
    answer = httpx.post(provider.endpoint("par"), data={"response_type": "code"},
                        auth=("web", "wrong"))  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert httpx.get(provider.endpoint("par")).status_code == 405


def test_required_pushes_per_provider_and_per_client(provider: Provider) -> None:
    provider.add_client(client_id="strict", client_secret=SECRET, redirect_uris=[CALLBACK],
                        require_pushed_authorization_requests=True)  # fmt: skip
    _, challenge = pkce_pair()
    plain = {"response_type": "code", "redirect_uri": CALLBACK, "state": "s",
             "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    refused = redirect_params(_authorize(provider, client_id="strict", **plain))
    assert refused["error"] == "invalid_request"
    assert "must push" in refused["error_description"]
    assert "code" in redirect_params(_authorize(provider, client_id="web", **plain))
    uri = _push(provider, client="strict").json()["request_uri"]
    assert "code" in redirect_params(_authorize(provider, client_id="strict", request_uri=uri))

    everyone = Provider(require_pushed_authorization_requests=True)
    everyone.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    assert everyone.metadata()["require_pushed_authorization_requests"] is True
    with LiveServer([everyone]):
        assert redirect_params(_authorize(everyone, client_id="web", **plain))["error"] == (
            "invalid_request"
        )


def test_requests_oauth2client_pushes_its_request(provider: Provider) -> None:
    client = roc.OAuth2Client.from_discovery_endpoint(
        provider.endpoint("discovery"), redirect_uri=CALLBACK, client_id="web",
        client_secret=SECRET, testing=True,
    )  # fmt: skip
    assert client.pushed_authorization_request_endpoint == provider.endpoint("par")
    request = client.authorization_request(scope="openid")
    par_request = client.pushed_authorization_request(request)
    assert par_request.request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    location = httpx.get(par_request.uri).headers["location"]
    response = request.validate_callback(location)
    token = client.authorization_code(response)
    assert provider.tokens.decode(str(token.access_token))["client_id"] == "web"
