"""PyJWT's ``PyJWKClient`` meeting key rotation and scripted JWKS faults.

A rotated key is found by one refetch, but only outside the client's cooldown
(30 s after any successful fetch, the first included; INTEROP.md). A JWKS that
is empty, is slow, drops the connection or is a proxy's error page fails with
PyJWT's own exceptions, and the failure is not cached: the next call fetches
again and works. Two gaps of PyJWT's are pinned down here: a key set whose keys
have no ``kid`` is cached and keeps failing until refreshed by hand, and a JWKS
that is not JSON escapes as ``json.JSONDecodeError``, not as a ``PyJWTError``.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
from typing import Any

import httpx
import jwt
import pytest
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

from mockauth import Client, Provider
from mockauth.faults import Fault, HttpFault, JsonPatch, RotateKeys, StripKids, proxy_error
from mockauth.scenarios import Match, Rule


def service_token(provider: Provider, client: Client) -> str:
    """A client_credentials access token from the token endpoint."""
    response = httpx.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret or ""),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def kid(token: str) -> str:
    value: str = jwt.get_unverified_header(token)["kid"]
    return value


def verify(jwks: PyJWKClient, provider: Provider, token: str) -> dict[str, Any]:
    """Verify with the key the JWKS publishes for the token's kid, and that key's algorithm."""
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[key.algorithm_name], audience="api", issuer=provider.issuer
    )
    return claims


def jwks_statuses(provider: Provider) -> list[int | None]:
    return [call.status for call in provider.calls.filter("jwks")]


def on_jwks(provider: Provider, fault: Fault) -> Rule:
    """Answer the next JWKS request with ``fault``."""
    return provider.add_rule(Rule(Match(endpoint="jwks"), fault, times=1))


# --- rotation -------------------------------------------------------------------------


def rotate_now(provider: Provider) -> None:
    provider.rotate_keys()


def rotate_just_before_signing(provider: Provider) -> None:
    # OIDC conformance "signing-key-rotation-just-before-signing": the token
    # endpoint rotates, then signs with a key no client has fetched yet.
    provider.add_rule(Rule(Match(endpoint="token"), RotateKeys(), times=1))


ROTATIONS = [rotate_now, rotate_just_before_signing]


@pytest.mark.parametrize("rotate", ROTATIONS)
def test_rotated_key_is_found_by_one_refetch(
    mockauth: Provider, service_client: Client, rotate: Any
) -> None:
    jwks = PyJWKClient(mockauth.endpoint("jwks"), cooldown_duration=0)
    old = service_token(mockauth, service_client)
    assert verify(jwks, mockauth, old)["sub"] == service_client.client_id

    rotate(mockauth)
    new = service_token(mockauth, service_client)
    assert kid(new) != kid(old)
    assert jwks.get_signing_key_from_jwt(new).key_id == kid(new)
    assert verify(jwks, mockauth, new)["sub"] == service_client.client_id
    # The old key stays published, and the refreshed cache serves both.
    assert verify(jwks, mockauth, old)["sub"] == service_client.client_id
    assert jwks_statuses(mockauth) == [200, 200]


@pytest.mark.parametrize("rotate", ROTATIONS)
def test_default_cooldown_misses_a_key_rotated_after_the_first_fetch(
    mockauth: Provider, service_client: Client, rotate: Any
) -> None:
    jwks = PyJWKClient(mockauth.endpoint("jwks"))  # cooldown_duration=30
    old = service_token(mockauth, service_client)
    verify(jwks, mockauth, old)

    rotate(mockauth)
    new = service_token(mockauth, service_client)
    with pytest.raises(PyJWKClientError) as caught:
        jwks.get_signing_key_from_jwt(new)
    assert type(caught.value) is PyJWKClientError
    assert kid(new) in str(caught.value)
    assert jwks_statuses(mockauth) == [200]  # the cooldown stopped the refetch
    # A client that starts now sees the new key at once.
    assert verify(PyJWKClient(mockauth.endpoint("jwks")), mockauth, new)["sub"]


# --- JWKS faults ----------------------------------------------------------------------


def test_empty_key_set_is_pyjwkseterror_and_not_cached(
    mockauth: Provider, service_client: Client
) -> None:
    rule = on_jwks(mockauth, JsonPatch(set={"keys": []}))
    token = service_token(mockauth, service_client)
    jwks = PyJWKClient(mockauth.endpoint("jwks"), cooldown_duration=0)

    with pytest.raises(PyJWKSetError):
        jwks.get_signing_key_from_jwt(token)
    assert verify(jwks, mockauth, token)["sub"] == service_client.client_id

    first, second = mockauth.calls.filter("jwks")
    assert (first.status, first.rule) == (200, rule)
    assert (second.status, second.rule) == (200, None)


def test_key_set_without_kids_is_cached_until_refreshed(
    mockauth: Provider, service_client: Client
) -> None:
    # PyJWKClient skips keys without "kid" (OIDC conformance kid-absent-*). Unlike
    # an empty set, such a set parses, so it is cached, and the "no signing keys"
    # error comes before the unknown-kid refetch: the client keeps failing for the
    # cache's lifespan after the provider has recovered, cooldown or not.
    on_jwks(mockauth, StripKids())
    token = service_token(mockauth, service_client)
    jwks = PyJWKClient(mockauth.endpoint("jwks"), cooldown_duration=0)

    for _ in range(2):
        with pytest.raises(PyJWKClientError) as caught:
            jwks.get_signing_key_from_jwt(token)
        assert "signing keys" in str(caught.value)
    assert jwks_statuses(mockauth) == [200]

    assert kid(token) in {key.key_id for key in jwks.get_signing_keys(refresh=True)}
    assert verify(jwks, mockauth, token)["sub"] == service_client.client_id
    assert jwks_statuses(mockauth) == [200, 200]


OUTAGES = {
    # fault, client timeout, the cause PyJWT chains, what the journal records
    "slow": ({"delay": 0.3}, 0.05, TimeoutError),
    "dropped": ({"drop": True}, 30, http.client.RemoteDisconnected),
    "proxy_503": (proxy_error(503), 30, urllib.error.HTTPError),
}


@pytest.mark.parametrize(("fault", "timeout", "cause"), OUTAGES.values(), ids=OUTAGES.keys())
def test_jwks_outage_is_a_connection_error(
    mockauth: Provider,
    service_client: Client,
    fault: Fault | dict[str, Any],
    timeout: float,
    cause: type[BaseException],
) -> None:
    rule = (
        on_jwks(mockauth, fault)
        if isinstance(fault, Fault)
        else mockauth.fail("jwks", times=1, **fault)
    )
    token = service_token(mockauth, service_client)

    with pytest.raises(PyJWKClientConnectionError) as caught:
        PyJWKClient(mockauth.endpoint("jwks"), timeout=timeout).get_signing_key_from_jwt(token)
    assert isinstance(caught.value.__cause__, cause)
    # The client may give up (its 50 ms timeout) before the server has even
    # picked the request up on a loaded machine: wait for the server's side.
    deadline = time.monotonic() + 10
    while rule.used == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rule.used == 1

    # The provider is back: a client fetching now gets the keys.
    assert verify(PyJWKClient(mockauth.endpoint("jwks")), mockauth, token)["sub"]


@pytest.mark.parametrize(
    "body", ["<html><body>Maintenance</body></html>", ""], ids=["html", "empty"]
)
def test_jwks_that_is_not_json_escapes_as_jsondecodeerror(
    mockauth: Provider, service_client: Client, body: str
) -> None:
    # PyJWT catches URL, timeout and HTTP errors, but not a body that does not
    # parse: callers must catch ValueError as well as PyJWTError.
    on_jwks(mockauth, HttpFault(200, body, content_type="text/html"))
    token = service_token(mockauth, service_client)

    with pytest.raises(json.JSONDecodeError) as caught:
        PyJWKClient(mockauth.endpoint("jwks")).get_signing_key_from_jwt(token)
    assert not isinstance(caught.value, jwt.PyJWTError)
    assert jwks_statuses(mockauth) == [200]
