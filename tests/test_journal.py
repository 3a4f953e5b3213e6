"""The request journal: what is recorded, redaction, filters and assertion helpers."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mockauth import Client, ConfigError, MockauthError, Provider
from mockauth.journal import MAX_CALLS, REDACTED, Calls, Journal, JournalAssertionError
from mockauth.scenarios import Match

from .helpers import WEB_REDIRECT, code_flow, get_code, pkce_pair, post_as, secret_auth

#: Parameters whose values must never reach the journal.
SECRETS = (
    "client_secret", "password", "code", "code_verifier", "refresh_token", "token",
    "access_token", "id_token_hint", "assertion", "client_assertion", "subject_token",
    "actor_token", "device_code",
)  # fmt: skip


def path_of(provider: Provider, endpoint: str) -> str:
    return urlsplit(provider.endpoint(endpoint)).path


def client_credentials(http: httpx.Client, provider: Provider, client: Client) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    return http.post(provider.endpoint("token"), data=data, auth=secret_auth(client))


# --- what is recorded ----------------------------------------------------------------


def test_every_request_is_recorded_in_order(
    provider: Provider, http: httpx.Client, web: Client
) -> None:
    http.get(provider.endpoint("discovery"))
    http.get(provider.endpoint("jwks"))
    tokens = code_flow(http, provider, web)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    http.get(provider.endpoint("userinfo"), headers=bearer)
    post_as(http, provider, "introspect", web, {"token": tokens["access_token"]})
    post_as(http, provider, "revoke", web, {"token": tokens["refresh_token"]})
    http.get(provider.endpoint("end_session"), params={"id_token_hint": tokens["id_token"]})
    http.put(provider.endpoint("token"))
    http.get(provider.issuer + "/tokne")  # no endpoint: a 404, recorded
    calls = provider.calls
    expected: list[tuple[str | None, str, int]] = [
        ("discovery", "GET", 200),
        ("jwks", "GET", 200),
        ("authorize", "GET", 302),
        ("token", "POST", 200),
        ("userinfo", "GET", 200),
        ("introspect", "POST", 200),
        ("revoke", "POST", 200),
        ("end_session", "GET", 200),
        ("token", "PUT", 405),
        (None, "GET", 404),
    ]
    assert [(c.endpoint, c.method, c.status) for c in calls] == expected
    paths = [path_of(provider, e) for e, _, _ in expected if e is not None]
    assert [c.path for c in calls] == [*paths, "/default/tokne"]
    assert all(c.rule is None for c in calls)
    assert (calls[-1].error, str(calls[-1])) == ("not_found", "GET /default/tokne -> 404 not_found")


def test_query_and_form_parameters_are_recorded(
    provider: Provider, http: httpx.Client, web: Client
) -> None:
    verifier, challenge = pkce_pair()
    got = get_code(http, provider, web, challenge=challenge, nonce="n-1", state="s-1")
    authorize = provider.calls[-1]
    assert authorize.params == {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": WEB_REDIRECT,
        "scope": "openid profile email",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    data = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": WEB_REDIRECT,
        "code_verifier": verifier,
    }
    http.post(provider.endpoint("token"), data=data, auth=secret_auth(web))
    token = provider.calls[-1]
    assert token.params == {**data, "code": REDACTED, "code_verifier": REDACTED}
    assert (token.grant_type, token.client_id) == ("authorization_code", "web")


def test_the_time_comes_from_the_provider_clock(provider: Provider, http: httpx.Client) -> None:
    provider.clock.freeze(1_000_000)
    http.get(provider.endpoint("jwks"))
    provider.clock.advance(60)
    http.get(provider.endpoint("jwks"))
    assert [c.time for c in provider.calls] == [1_000_000, 1_000_060]


@pytest.mark.parametrize("rules", ["none", "unmatched", "matched"])
def test_secrets_never_reach_the_journal(
    provider: Provider, http: httpx.Client, rules: str
) -> None:
    if rules == "unmatched":
        provider.fail("jwks", status=503)
    elif rules == "matched":
        provider.fail(status=503)
    values = {name: f"SEKRIT-{name}-{i}" for i, name in enumerate(SECRETS)}
    http.post(provider.endpoint("token"), data={"grant_type": "password", **values})
    http.post(provider.endpoint("introspect"), data=values)
    http.get(provider.endpoint("userinfo"), params=values)
    http.post(provider.endpoint("userinfo"), data={"access_token": values["access_token"]})
    http.get(provider.endpoint("end_session"), params={"id_token_hint": values["id_token_hint"]})
    basic = ("web", "SEKRIT-basic")
    http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"}, auth=basic)
    http.get(provider.endpoint("userinfo"), headers={"Authorization": "Bearer SEKRIT-bearer"})
    calls = provider.calls
    assert len(calls) == 7
    assert all(calls[0].params[name] == REDACTED for name in SECRETS)
    assert calls[0].params["grant_type"] == "password"
    assert calls[5].client_id == "web"
    shown = repr(calls) + "".join(str(c) for c in calls)
    shown += calls.near_misses(Match(endpoint="revoke"))
    encoded = base64.b64encode(b"web:SEKRIT-basic").decode()
    assert "SEKRIT" not in shown
    assert encoded not in shown
    with pytest.raises(JournalAssertionError) as info:
        calls.assert_called("revoke")
    assert "SEKRIT" not in str(info.value)
    assert REDACTED in shown


def test_client_id_from_the_body_or_basic_credentials(
    provider: Provider, http: httpx.Client, web: Client
) -> None:
    token = provider.endpoint("token")
    http.post(token, data={"grant_type": "client_credentials", "client_id": "spa"})
    client_credentials(http, provider, web)
    http.post(token, data={"grant_type": "client_credentials"}, auth=("my client", "s"))
    encoded = base64.b64encode(b"my%20client:s").decode()
    http.post(token, data={}, headers={"Authorization": f"Basic {encoded}"})
    for broken in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer x"):
        http.post(token, data={}, headers={"Authorization": broken})
    http.post(token, data={})
    assert [c.client_id for c in provider.calls] == [
        "spa",
        "web",
        "my client",
        "my client",
        None,
        None,
        None,
        None,
    ]


def test_status_and_error(provider: Provider, http: httpx.Client, web: Client) -> None:
    client_credentials(http, provider, web)
    http.post(provider.endpoint("token"), data={"grant_type": "authorization_code"})
    http.post(
        provider.endpoint("token"),
        data={"grant_type": "refresh_token", "refresh_token": "nope"},
        auth=secret_auth(web),
    )
    params = {"response_type": "code", "client_id": "web", "redirect_uri": WEB_REDIRECT}
    http.get(provider.endpoint("authorize"), params={**params, "response_type": "bogus"})
    pkce = {"code_challenge_method": "S512", "code_challenge": "x" * 43}
    http.get(provider.endpoint("authorize"), params={**params, **pkce, "response_mode": "fragment"})
    http.get(provider.endpoint("authorize"), params={**params, "redirect_uri": "http://x/cb"})
    http.get(provider.endpoint("userinfo"), headers={"Authorization": "Bearer x"})
    got = [(c.status, c.error) for c in provider.calls]
    assert got == [
        (200, None),
        (401, "invalid_client"),
        (400, "invalid_grant"),
        (302, "unsupported_response_type"),
        (302, "invalid_request"),  # in the fragment
        (400, "invalid_request"),  # an error page, not a redirect: recorded as raised
        (401, "invalid_token"),
    ]


def test_scripted_calls_name_their_rule(provider: Provider, http: httpx.Client) -> None:
    error = provider.fail("token", error="invalid_grant", times=1)
    status = provider.fail("jwks", status=503, times=1)
    drop = provider.fail("discovery", drop=True)
    redirect = provider.fail("authorize", error="access_denied")
    http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    http.get(provider.endpoint("jwks"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(provider.endpoint("discovery"))
    params = {"response_type": "code", "client_id": "web", "redirect_uri": WEB_REDIRECT}
    http.get(provider.endpoint("authorize"), params=params)
    calls = provider.calls
    assert [(c.rule, c.status, c.error) for c in calls] == [
        (error, 400, "invalid_grant"),
        (None, 401, "invalid_client"),
        (status, 503, None),
        (drop, None, None),
        (redirect, 302, "access_denied"),
    ]
    assert str(calls[0]) == (
        "POST token grant_type=client_credentials -> 400 invalid_grant [scripted by rule 1]"
    )
    assert str(calls[3]) == "GET discovery -> (no response) [scripted by rule 3]"
    assert "rule=" not in repr(calls[0])


# --- filters and assertions -------------------------------------------------------------


@pytest.fixture
def traffic(provider: Provider, http: httpx.Client, web: Client, service: Client) -> Calls:
    """discovery; token client_credentials (service); token authorization_code (web)."""
    http.get(provider.endpoint("discovery"))
    client_credentials(http, provider, service)
    code_flow(http, provider, web)
    return provider.calls


def test_filter(traffic: Calls) -> None:
    assert [c.endpoint for c in traffic] == ["discovery", "token", "authorize", "token"]
    assert len(traffic.filter("token")) == 2
    assert [c.client_id for c in traffic.filter("token", client_id="web")] == ["web"]
    assert [c.grant_type for c in traffic.filter(grant_type="client_credentials")] == [
        "client_credentials"
    ]
    assert [c.endpoint for c in traffic.filter(method="get")] == ["discovery", "authorize"]
    assert [c.endpoint for c in traffic.filter(params={"response_type": "code"})] == ["authorize"]
    assert len(traffic.filter("token", client_id="service", grant_type="password")) == 0
    assert len(traffic.filter()) == 4
    filtered = traffic.filter("token")
    assert isinstance(filtered, Calls)
    assert isinstance(traffic[1:], Calls)
    assert traffic[-1] is traffic._calls[-1]
    with pytest.raises(ConfigError, match="did you mean 'token'"):
        traffic.filter("tokens")


def test_calls_is_a_snapshot(provider: Provider, http: httpx.Client, traffic: Calls) -> None:
    http.get(provider.endpoint("jwks"))
    assert len(traffic) == 4
    assert len(provider.calls) == 5


def test_assert_called(traffic: Calls) -> None:
    found = traffic.assert_called("token", client_id="web")
    assert [c.grant_type for c in found] == ["authorization_code"]
    assert len(traffic.assert_called("token", times=2)) == 2
    traffic.assert_called("jwks", times=0)
    traffic.assert_not_called("jwks")
    traffic.assert_not_called("token", grant_type="refresh_token")


def test_assert_called_failure_shows_near_misses_closest_first(traffic: Calls) -> None:
    with pytest.raises(JournalAssertionError) as info:
        traffic.assert_called("token", grant_type="refresh_token", client_id="web")
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == (
        "expected at least one call matching (endpoint='token', grant_type='refresh_token', "
        "client_id='web'), found 0."
    )
    assert lines[1] == "Calls received (closest first):"
    assert lines[2:] == [
        "  POST token grant_type=authorization_code client_id=web -> 200",
        "      grant_type is 'authorization_code', not 'refresh_token'",
        "  POST token grant_type=client_credentials client_id=service -> 200",
        "      grant_type is 'client_credentials', not 'refresh_token'; "
        "client_id is 'service', not 'web'",
        "  GET authorize client_id=web -> 302",  # as close: the earlier call comes first
        "      endpoint is 'authorize', not 'token'; grant_type is None, not 'refresh_token'",
        "  GET discovery -> 200",
        "      endpoint is 'discovery', not 'token'; grant_type is None, not 'refresh_token'; "
        "client_id is None, not 'web'",
    ]
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value, MockauthError)


def test_assert_called_times_failure_marks_the_matching_calls(traffic: Calls) -> None:
    with pytest.raises(JournalAssertionError) as info:
        traffic.assert_called("token", times=1)
    message = str(info.value)
    assert message.startswith("expected exactly 1 call matching (endpoint='token'), found 2.")
    assert message.count("\n      matches") == 2
    with pytest.raises(JournalAssertionError, match="expected exactly 3 call"):
        traffic.assert_called("token", times=3)


def test_assert_not_called_failure_lists_the_calls(traffic: Calls) -> None:
    with pytest.raises(JournalAssertionError) as info:
        traffic.assert_not_called("token", client_id="service")
    assert str(info.value) == (
        "expected no call matching (endpoint='token', client_id='service'), found:\n"
        "  POST token grant_type=client_credentials client_id=service -> 200"
    )


def test_assert_called_with_no_requests(provider: Provider) -> None:
    with pytest.raises(JournalAssertionError) as info:
        provider.calls.assert_called("token")
    assert str(info.value).endswith("found 0.\nThe provider received no requests.")


def test_near_misses_are_limited(provider: Provider, http: httpx.Client) -> None:
    for _ in range(13):
        http.get(provider.endpoint("jwks"))
    text = provider.calls.near_misses(Match(endpoint="token"), limit=10)
    assert text.count("GET jwks -> 200") == 10
    assert text.endswith("  ... and 3 more")


# --- size and clearing ---------------------------------------------------------------------


def test_the_journal_is_bounded(provider: Provider, http: httpx.Client) -> None:
    assert Journal().max_calls == MAX_CALLS
    provider.journal = Journal(max_calls=3)
    for name in ("discovery", "jwks", "authorize", "userinfo", "end_session"):
        http.get(provider.endpoint(name))
    assert [c.endpoint for c in provider.calls] == ["authorize", "userinfo", "end_session"]


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_journal_size_must_be_positive(size: Any) -> None:
    with pytest.raises(MockauthError, match="max_calls"):
        Journal(max_calls=size)


def test_clear_calls(provider: Provider, http: httpx.Client) -> None:
    http.get(provider.endpoint("jwks"))
    provider.clear_calls()
    assert len(provider.calls) == 0
    http.get(provider.endpoint("discovery"))
    assert [c.endpoint for c in provider.calls] == ["discovery"]


def test_filter_and_assert_on_status_and_error(provider: Provider, http: httpx.Client) -> None:
    auth = ("service", "service-secret-0123456789-abcdefgh")
    provider.fail("token", error="invalid_grant", times=1)
    for _ in range(2):
        http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"}, auth=auth)
    calls = provider.calls
    assert len(calls.filter("token", status=400, error="invalid_grant")) == 1
    assert len(calls.filter("token", status=200)) == 1
    calls.assert_called("token", times=1, error="invalid_grant", client_id="service")
    calls.assert_not_called("token", status=500)
    with pytest.raises(AssertionError) as info:
        calls.assert_called("token", error="invalid_client")
    message = str(info.value)
    assert "error='invalid_client'" in message
    assert "error is 'invalid_grant', not 'invalid_client'" in message
