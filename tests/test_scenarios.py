"""Scenario rules: matchers, lifetimes, every kind of fault, validation, concurrency."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import requests

from mockauth import Client, ConfigError, MockauthError, Provider
from mockauth import journal as journal_module
from mockauth import pipeline as provider_module
from mockauth.faults import (
    Delay,
    Drop,
    Exchange,
    Fault,
    HttpFault,
    JsonPatch,
    OAuthErrorFault,
    Real,
    RotateKeys,
    StripKids,
    TokenFault,
    Truncated,
    proxy_error,
    rate_limited,
)
from mockauth.faults import http as faults_http
from mockauth.http import Response
from mockauth.scenarios import Match, Rule, rule_from_mapping

from .helpers import SPA_REDIRECT, WEB_REDIRECT, code_flow, pkce_pair, redirect_params, secret_auth


def client_credentials(http: httpx.Client, provider: Provider, client: Client) -> httpx.Response:
    """A client_credentials token request, authenticated with HTTP Basic."""
    return http.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=secret_auth(client),
    )


def authorize(http: httpx.Client, provider: Provider, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": WEB_REDIRECT,
        "scope": "openid",
        "state": "st-1",
        **extra,
    }
    return http.get(provider.endpoint("authorize"), params=params)


def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


# --- matchers --------------------------------------------------------------


def test_endpoint_matcher_scripts_only_that_endpoint(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("jwks", status=503)
    assert http.get(provider.endpoint("discovery")).status_code == 200
    assert http.get(provider.endpoint("jwks")).status_code == 503


def test_a_rule_without_endpoint_matches_every_endpoint(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail(status=503)
    assert http.get(provider.endpoint("discovery")).status_code == 503
    assert http.get(provider.endpoint("jwks")).status_code == 503


def test_the_rfc8414_metadata_path_is_the_discovery_endpoint(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("discovery", status=503)
    url = f"{provider.base_url}/.well-known/oauth-authorization-server/{provider.issuer_id}"
    assert http.get(url).status_code == 503


def test_grant_type_matcher(provider: Provider, http: httpx.Client, web: Client) -> None:
    provider.fail("token", grant_type="password", error="invalid_grant")
    assert client_credentials(http, provider, web).status_code == 200
    r = http.post(
        provider.endpoint("token"),
        data={"grant_type": "password", "username": "alice", "password": "alice-pw"},
        auth=secret_auth(web),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("via", ["basic", "body"])
def test_client_id_matcher_reads_basic_credentials_and_the_body(
    provider: Provider, http: httpx.Client, web: Client, service: Client, via: str
) -> None:
    provider.fail("token", client_id="web", status=503)
    assert client_credentials(http, provider, service).status_code == 200
    if via == "basic":
        r = client_credentials(http, provider, web)
    else:
        data = {"grant_type": "client_credentials", "client_id": "web"}
        r = http.post(provider.endpoint("token"), data={**data, "client_secret": "s"})
    assert r.status_code == 503


def test_method_matcher_is_case_insensitive(provider: Provider, http: httpx.Client) -> None:
    rule = provider.fail("userinfo", method="post", status=503)
    assert rule.match.method == "POST"
    assert http.get(provider.endpoint("userinfo")).status_code == 401  # the real answer
    assert http.post(provider.endpoint("userinfo")).status_code == 503


def test_params_matcher_on_the_query(provider: Provider, http: httpx.Client) -> None:
    provider.fail("authorize", params={"prompt": "none"}, error="login_required")
    assert "code" in redirect_params(authorize(http, provider))
    got = redirect_params(authorize(http, provider, prompt="none"))
    assert got["error"] == "login_required"


def test_params_matcher_on_the_form(provider: Provider, http: httpx.Client, web: Client) -> None:
    provider.fail("token", params={"scope": "openid email"}, status=503)
    assert client_credentials(http, provider, web).status_code == 200
    r = http.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials", "scope": "openid email"},
        auth=secret_auth(web),
    )
    assert r.status_code == 503


def test_params_matcher_sees_secrets_before_redaction(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("token", params={"client_secret": "the-old-secret"}, error="unauthorized_client")
    data = {"grant_type": "client_credentials", "client_id": "web"}
    r = http.post(provider.endpoint("token"), data={**data, "client_secret": "the-old-secret"})
    assert r.json()["error"] == "unauthorized_client"
    r = http.post(provider.endpoint("token"), data={**data, "client_secret": "another"})
    assert r.json()["error"] == "invalid_client"  # the real answer


COMBINED = {
    "method": "POST",
    "grant_type": "client_credentials",
    "client_id": "web",
    "params": {"scope": "openid"},
}


@pytest.mark.parametrize(
    ("change", "scripted"),
    [
        ({}, True),
        ({"endpoint": "introspect"}, False),
        ({"grant_type": "password"}, False),
        ({"client_id": "service"}, False),
        ({"scope": "email"}, False),
        ({"method": "GET"}, False),
    ],
)
def test_combined_criteria_must_all_hold(
    provider: Provider, http: httpx.Client, change: dict[str, str], scripted: bool
) -> None:
    provider.fail("token", error="slow_down", **COMBINED)  # type: ignore[arg-type]
    endpoint = change.get("endpoint", "token")
    method = change.get("method", "POST")
    client_id = change.get("client_id", "web")
    form = {
        "grant_type": change.get("grant_type", "client_credentials"),
        "client_id": client_id,
        "scope": change.get("scope", "openid"),
    }
    if method == "GET":
        r = http.get(provider.endpoint(endpoint), params=form)
    else:
        r = http.post(provider.endpoint(endpoint), data=form)
    error = r.json().get("error")
    assert (error == "slow_down") is scripted, r.text
    assert (provider.calls[-1].rule is not None) is scripted


def test_match_validates_its_criteria() -> None:
    with pytest.raises(ConfigError, match="did you mean 'token'") as info:
        Match(endpoint="tokn")
    assert info.value.key == "endpoint"
    with pytest.raises(ConfigError) as info:
        Match(endpoint="token", params={"scope": 1})  # type: ignore[dict-item]
    assert info.value.key == "params"
    with pytest.raises(ConfigError) as info:
        Match(method=2)  # type: ignore[arg-type]
    assert info.value.key == "method"


def test_match_describes_itself() -> None:
    assert str(Match()) == "(any request)"
    text = str(Match(endpoint="token", grant_type="refresh_token", params={"scope": "a"}))
    assert text == "(endpoint='token', grant_type='refresh_token', scope='a')"


# --- lifetimes -------------------------------------------------------------


def test_always_answers_every_match_and_is_not_strict(
    provider: Provider, http: httpx.Client
) -> None:
    rule = provider.fail("jwks", status=503)
    assert statuses([http.get(provider.endpoint("jwks")) for _ in range(4)]) == [503] * 4
    assert (rule.seen, rule.used, rule.strict) == (4, 4, False)
    provider.check_rules()


def test_times_then_the_real_answer(provider: Provider, http: httpx.Client) -> None:
    rule = provider.fail("jwks", status=503, times=2)
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(4)])
    assert got == [503, 503, 200, 200]
    assert (rule.seen, rule.used, rule.strict, rule.exhausted) == (4, 2, True, True)


def test_once(provider: Provider, http: httpx.Client, web: Client) -> None:
    provider.fail("token", error="invalid_grant", times=1)
    first, second = (client_credentials(http, provider, web) for _ in range(2))
    assert (first.status_code, first.json()["error"]) == (400, "invalid_grant")
    assert second.status_code == 200


def test_after_lets_the_first_matches_through(provider: Provider, http: httpx.Client) -> None:
    rule = provider.fail("jwks", status=503, after=2)
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(5)])
    assert got == [200, 200, 503, 503, 503]
    assert rule.strict is False


def test_after_with_times(provider: Provider, http: httpx.Client) -> None:
    provider.fail("jwks", status=503, after=1, times=2)
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(5)])
    assert got == [200, 503, 503, 200, 200]


def test_sequence_of_statuses_then_real(provider: Provider, http: httpx.Client) -> None:
    rule = provider.fail("jwks", sequence=[503, 503, "real"])
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(5)])
    assert got == [503, 503, 200, 200, 200]
    assert (rule.used, rule.expected, rule.strict) == (3, 3, True)
    provider.check_rules()


def test_sequence_of_error_codes(provider: Provider, http: httpx.Client, web: Client) -> None:
    provider.fail("token", sequence=["invalid_grant", "temporarily_unavailable", "real"])
    responses = [client_credentials(http, provider, web) for _ in range(3)]
    assert [r.status_code for r in responses] == [400, 503, 200]
    assert [r.json().get("error") for r in responses] == [
        "invalid_grant",
        "temporarily_unavailable",
        None,
    ]


def test_sequence_of_fault_tables_and_objects(
    provider: Provider, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(faults_http.time, "sleep", slept.append)
    provider.fail(
        "discovery",
        sequence=[
            {"status": 429, "headers": {"Retry-After": "1"}},
            {"delay": 0.01},
            HttpFault(200, body="not json"),
            {"error": "server_error", "description": "down"},
        ],
    )
    responses = [http.get(provider.endpoint("discovery")) for _ in range(5)]
    assert statuses(responses) == [429, 200, 200, 500, 200]
    assert responses[0].headers["Retry-After"] == "1"
    assert responses[1].json()["issuer"] == provider.issuer
    assert responses[2].text == "not json"
    assert responses[3].json() == {"error": "server_error", "error_description": "down"}
    assert slept == [0.01]


def test_sequence_after(provider: Provider, http: httpx.Client) -> None:
    provider.fail("jwks", sequence=[500], after=1)
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(3)])
    assert got == [200, 500, 200]


def test_rules_are_tried_in_order(provider: Provider, http: httpx.Client) -> None:
    first = provider.fail("jwks", status=502, times=1)
    second = provider.fail("jwks", status=503)
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(3)])
    assert got == [502, 503, 503]
    assert [c.rule for c in provider.calls] == [first, second, second]


def test_a_rule_still_letting_requests_through_defers_to_the_next(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("jwks", status=502, after=1)
    provider.fail("jwks", status=503, times=1)
    got = statuses([http.get(provider.endpoint("jwks")) for _ in range(3)])
    assert got == [503, 502, 502]


def test_list_remove_and_clear(provider: Provider, http: httpx.Client) -> None:
    a = provider.fail("jwks", status=501)
    b = provider.fail("jwks", status=502)
    c = provider.fail("discovery", status=503)
    assert provider.rules == [a, b, c]
    assert [r.id for r in provider.rules] == [1, 2, 3]
    provider.remove_rule(a)
    assert http.get(provider.endpoint("jwks")).status_code == 502
    provider.remove_rule(b.id)
    assert http.get(provider.endpoint("jwks")).status_code == 200
    assert provider.rules == [c]
    with pytest.raises(MockauthError, match="no such rule"):
        provider.remove_rule(a)
    provider.clear_rules()
    assert provider.rules == []
    assert http.get(provider.endpoint("discovery")).status_code == 200
    d = provider.fail("jwks", status=503)
    assert d.id == 4  # ids are never reused


def test_rule_ids_are_per_provider(provider: Provider) -> None:
    other = Provider()
    other.fail("jwks", status=503)
    provider.fail("jwks", status=503)
    assert [r.id for r in provider.rules] == [1]
    assert [r.id for r in other.rules] == [1]


def test_a_rule_is_added_once(provider: Provider) -> None:
    rule = provider.add_rule(Rule("jwks", 503))
    with pytest.raises(MockauthError, match="already added"):
        provider.add_rule(rule)
    with pytest.raises(MockauthError, match="expected a Rule"):
        provider.add_rule("jwks")  # type: ignore[arg-type]


def test_rule_objects_take_plain_values(provider: Provider, http: httpx.Client) -> None:
    rule = provider.add_rule(Rule("jwks", 503, times=1))
    assert isinstance(rule.fault, HttpFault)
    seq = provider.add_rule(Rule(Match(endpoint="jwks"), sequence=[429, "real"]))
    assert seq.sequence is not None
    assert [type(s) for s in seq.sequence] == [HttpFault, Real]
    assert statuses([http.get(provider.endpoint("jwks")) for _ in range(3)]) == [503, 429, 200]
    assert "rule 1: (endpoint='jwks') -> HTTP 503 (times=1)" in repr(rule)
    assert rule.to_dict()["fault"]["status"] == 503
    assert json.loads(json.dumps(seq.to_dict()))["sequence"][1] == {"kind": "real"}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"fault": 503, "times": 0}, "times"),
        ({"fault": 503, "times": 1.5}, "times"),
        ({"fault": 503, "times": True}, "times"),
        ({"fault": 503, "after": -1}, "after"),
        ({"sequence": []}, "sequence"),
        ({"sequence": "503"}, "sequence"),
        ({"sequence": [503], "times": 1}, "sequence"),
        ({"sequence": [503, None]}, "sequence[1]"),
        ({"fault": 503, "strict": "yes"}, "strict"),
        ({"fault": 503, "name": 5}, "name"),
        ({"fault": 99}, "fault"),
    ],
)
def test_rule_validation(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Rule("jwks", **kwargs)
    assert info.value.key == key


def test_a_rule_needs_exactly_one_of_fault_and_sequence() -> None:
    with pytest.raises(MockauthError, match="not both"):
        Rule("jwks")
    with pytest.raises(MockauthError, match="not both"):
        Rule("jwks", 503, sequence=[503])


# --- OAuth error faults ------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("invalid_request", 400),
        ("invalid_grant", 400),
        ("unauthorized_client", 400),
        ("unsupported_grant_type", 400),
        ("invalid_scope", 400),
        ("access_denied", 400),  # RFC 8628 §3.5: at the token endpoint, per RFC 6749 §5.2
        ("authorization_pending", 400),
        ("server_error", 500),
        ("temporarily_unavailable", 503),
        ("invalid_client", 401),
    ],
)
def test_token_errors_have_their_status(
    provider: Provider, http: httpx.Client, error: str, status: int
) -> None:
    provider.fail("token", error=error, description="scripted")
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert r.status_code == status
    assert r.json() == {"error": error, "error_description": "scripted"}
    assert r.headers["Cache-Control"] == "no-store"
    # RFC 9110 §15.5.2: a 401 always challenges; nothing else does
    assert r.headers.get("WWW-Authenticate") == (
        'Basic realm="mockauth"' if status == 401 else None
    )


def test_invalid_client_after_basic_auth_challenges_basic(
    provider: Provider, http: httpx.Client, web: Client
) -> None:
    provider.fail("token", error="invalid_client")
    r = client_credentials(http, provider, web)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="mockauth"'
    assert r.json() == {"error": "invalid_client"}


@pytest.mark.parametrize("endpoint", ["token", "introspect", "revoke"])
def test_invalid_client_challenges_basic_at_every_client_authenticating_endpoint(
    provider: Provider, http: httpx.Client, web: Client, endpoint: str
) -> None:
    provider.fail(endpoint, error="invalid_client")
    r = http.post(provider.endpoint(endpoint), data={"token": "t"}, auth=secret_auth(web))
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, 'Basic realm="mockauth"')
    r = http.post(provider.endpoint(endpoint), data={"token": "t", "client_id": "spa"})
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, 'Basic realm="mockauth"')


def test_error_status_and_headers_can_be_overridden(provider: Provider, http: httpx.Client) -> None:
    provider.fail("token", error="slow_down", status=429, headers={"Retry-After": "5"})
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert (r.status_code, r.headers["Retry-After"], r.json()) == (
        429,
        "5",
        {"error": "slow_down"},
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("invalid_token", 401),
        ("insufficient_scope", 403),
        ("invalid_request", 400),
        ("server_error", 500),
        ("temporarily_unavailable", 503),
    ],
)
def test_userinfo_errors_carry_a_bearer_challenge(
    provider: Provider, http: httpx.Client, error: str, status: int
) -> None:
    provider.fail("userinfo", error=error, description="scripted")
    r = http.get(provider.endpoint("userinfo"), headers={"Authorization": "Bearer abc"})
    assert r.status_code == status
    assert r.headers["WWW-Authenticate"] == (
        f'Bearer realm="mockauth", error="{error}", error_description="scripted"'
    )
    assert r.json()["error"] == error


def test_userinfo_error_instead_of_a_valid_answer(
    provider: Provider, http: httpx.Client, web: Client
) -> None:
    token = code_flow(http, provider, web)["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert http.get(provider.endpoint("userinfo"), headers=bearer).status_code == 200
    provider.fail("userinfo", error="invalid_token", times=1)
    r = http.get(provider.endpoint("userinfo"), headers=bearer)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert http.get(provider.endpoint("userinfo"), headers=bearer).status_code == 200


def test_authorize_error_redirects_to_the_client(provider: Provider, http: httpx.Client) -> None:
    provider.fail("authorize", error="access_denied", description="no way")
    got = redirect_params(authorize(http, provider, state="s-42"))
    assert got == {
        "error": "access_denied",
        "error_description": "no way",
        "state": "s-42",
        "iss": provider.issuer,
    }


def test_authorize_error_in_the_fragment_for_implicit_style_responses(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("authorize", error="server_error")
    r = authorize(http, provider, response_mode="fragment")
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert location.query == ""
    assert parse_qs(location.fragment)["error"] == ["server_error"]


def test_authorize_error_without_a_valid_redirect_is_a_page(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("authorize", error="access_denied")
    r = authorize(http, provider, redirect_uri="http://evil.example/cb")
    assert r.status_code == 400
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "not registered" in r.text
    r = authorize(http, provider, client_id="nobody")
    assert r.status_code == 400
    assert "location" not in r.headers


# --- HTTP faults -------------------------------------------------------------


def test_rate_limited(provider: Provider, http: httpx.Client) -> None:
    provider.add_rule(Rule("token", rate_limited(7)))
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"
    assert r.json() == {"error": "rate_limited"}


@pytest.mark.parametrize(
    ("status", "title"), [(502, "502 Bad Gateway"), (504, "504 Gateway Timeout"), (599, "599")]
)
def test_proxy_error_page(provider: Provider, http: httpx.Client, status: int, title: str) -> None:
    provider.add_rule(Rule("jwks", proxy_error(status)))
    r = http.get(provider.endpoint("jwks"))
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert f"<title>{title}</title>" in r.text
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_empty_200(provider: Provider, http: httpx.Client) -> None:
    provider.fail("token", status=200, body="")
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert (r.status_code, r.content) == (200, b"")
    assert "content-type" not in r.headers
    assert r.headers["content-length"] == "0"


def test_200_that_is_not_json(provider: Provider, http: httpx.Client) -> None:
    provider.fail("token", status=200, body="<html>login</html>", content_type="text/html")
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_json_with_the_wrong_content_type(provider: Provider, http: httpx.Client) -> None:
    body = {"access_token": "x", "token_type": "Bearer"}
    provider.fail("token", status=200, body=body, content_type="text/plain")
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert r.headers["content-type"].startswith("text/plain")
    assert r.json() == body


def test_http_fault_headers_and_bytes_body(provider: Provider, http: httpx.Client) -> None:
    provider.add_rule(
        Rule("jwks", HttpFault(503, b"\x00\xff", headers={"X-Edge": "1", "Content-Type": "a/b"}))
    )
    r = http.get(provider.endpoint("jwks"))
    assert (r.status_code, r.content) == (503, b"\x00\xff")
    assert (r.headers["x-edge"], r.headers["content-type"]) == ("1", "a/b")


def test_json_body_gets_a_json_content_type(provider: Provider, http: httpx.Client) -> None:
    provider.fail("jwks", status=500, body=[1, 2])
    r = http.get(provider.endpoint("jwks"))
    assert r.headers["content-type"] == "application/json"
    assert r.json() == [1, 2]


def test_truncated_body_does_not_parse(provider: Provider, http: httpx.Client) -> None:
    real = http.get(provider.endpoint("jwks"))
    provider.add_rule(Rule("jwks", Truncated()))
    r = http.get(provider.endpoint("jwks"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert 0 < len(r.content) < len(real.content)
    assert real.content.startswith(r.content)
    with pytest.raises(json.JSONDecodeError):
        r.json()


# --- delays ------------------------------------------------------------------


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays faults asked for, instead of sleeping."""
    calls: list[float] = []
    monkeypatch.setattr(faults_http.time, "sleep", calls.append)
    return calls


def test_delay_then_the_real_answer(
    provider: Provider, http: httpx.Client, slept: list[float]
) -> None:
    provider.fail("jwks", delay=0.01, times=1)
    assert http.get(provider.endpoint("jwks")).json()["keys"]
    assert slept == [0.01]
    http.get(provider.endpoint("jwks"))
    assert slept == [0.01]


def test_delay_then_a_fault(provider: Provider, http: httpx.Client, slept: list[float]) -> None:
    rule = provider.fail("token", delay=0.01, error="temporarily_unavailable")
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert (r.status_code, r.json()["error"]) == (503, "temporarily_unavailable")
    assert slept == [0.01]
    assert rule.describe().endswith("delay 0.01s then error temporarily_unavailable")


def test_delay_then_drop(provider: Provider, http: httpx.Client, slept: list[float]) -> None:
    provider.add_rule(Rule("jwks", Delay(0.01, Drop())))
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(provider.endpoint("jwks"))
    assert slept == [0.01]


def test_a_real_tiny_delay(provider: Provider, http: httpx.Client) -> None:
    provider.fail("discovery", delay=0.01)
    assert http.get(provider.endpoint("discovery")).json()["issuer"] == provider.issuer


# --- dropped connections ---------------------------------------------------------


def test_drop_in_process_httpx(provider: Provider, http: httpx.Client) -> None:
    provider.fail("token", drop=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert http.get(provider.endpoint("discovery")).status_code == 200


def test_drop_in_process_async_httpx(provider: Provider) -> None:
    provider.fail("jwks", drop=True)

    async def fetch() -> None:
        async with provider.async_httpx_client() as client:
            await client.get(provider.endpoint("jwks"))

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(fetch())


def test_drop_in_process_requests(provider: Provider) -> None:
    provider.fail("jwks", drop=True)
    with provider.requests_session() as session, pytest.raises(requests.ConnectionError):
        session.get(provider.endpoint("jwks"))


def test_drop_on_the_live_server_closes_without_a_response(provider: Provider) -> None:
    provider.fail("jwks", drop=True, times=1)
    with provider.serve() as server:
        path = urlsplit(provider.endpoint("jwks")).path
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert sock.recv(1024) == b""
        with httpx.Client() as client:
            assert client.get(provider.endpoint("jwks")).status_code == 200
    assert [c.status for c in provider.calls] == [None, 200]


def test_drop_on_the_live_server_with_httpx(provider: Provider) -> None:
    provider.fail("token", drop=True)
    with provider.serve(), httpx.Client() as client, pytest.raises(httpx.RemoteProtocolError):
        client.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})


# --- JSON, JWKS and key faults -------------------------------------------------


def test_json_patch_issuer_mismatch_and_missing_endpoint(
    provider: Provider, http: httpx.Client
) -> None:
    patch = JsonPatch(set={"issuer": "https://other.example"}, remove=["token_endpoint"])
    provider.add_rule(Rule("discovery", patch))
    r = http.get(provider.endpoint("discovery"))
    doc = r.json()
    assert doc["issuer"] == "https://other.example"
    assert "token_endpoint" not in doc
    assert doc["jwks_uri"] == provider.endpoint("jwks")
    assert r.headers["content-type"] == "application/json"


def test_json_patch_empty_key_set(provider: Provider, http: httpx.Client) -> None:
    provider.add_rule(Rule("jwks", JsonPatch(set={"keys": []})))
    assert http.get(provider.endpoint("jwks")).json() == {"keys": []}


def test_json_patch_userinfo_sub(provider: Provider, http: httpx.Client, web: Client) -> None:
    token = code_flow(http, provider, web)["access_token"]
    provider.add_rule(Rule("userinfo", JsonPatch(set={"sub": "someone-else"})))
    r = http.get(provider.endpoint("userinfo"), headers={"Authorization": f"Bearer {token}"})
    assert r.json()["sub"] == "someone-else"
    assert r.json()["email"] == "alice@example.com"


def test_json_patch_leaves_non_json_alone(provider: Provider, http: httpx.Client) -> None:
    provider.add_rule(Rule("authorize", JsonPatch(set={"x": 1})))
    assert "code" in redirect_params(authorize(http, provider))


def test_strip_kids(provider: Provider, http: httpx.Client) -> None:
    real = http.get(provider.endpoint("jwks")).json()
    assert all("kid" in k for k in real["keys"])
    provider.add_rule(Rule("jwks", StripKids()))
    keys = http.get(provider.endpoint("jwks")).json()["keys"]
    assert keys == [{k: v for k, v in key.items() if k != "kid"} for key in real["keys"]]


def test_strip_kids_elsewhere_is_harmless(provider: Provider, http: httpx.Client) -> None:
    provider.add_rule(Rule(None, StripKids()))
    assert http.get(provider.endpoint("discovery")).status_code == 200
    assert "code" in redirect_params(authorize(http, provider))
    assert provider.errors == []


def test_rotate_keys_signs_with_a_key_the_client_has_not_seen(
    provider: Provider, http: httpx.Client, service: Client
) -> None:
    before = {k["kid"] for k in http.get(provider.endpoint("jwks")).json()["keys"]}
    provider.add_rule(Rule("token", RotateKeys(), times=1))
    token = client_credentials(http, provider, service).json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid not in before
    after = {k["kid"] for k in http.get(provider.endpoint("jwks")).json()["keys"]}
    assert after == before | {kid}
    again = client_credentials(http, provider, service).json()["access_token"]
    assert jwt.get_unverified_header(again)["kid"] == kid  # no further rotation


def test_rotate_keys_then_a_fault(provider: Provider, http: httpx.Client) -> None:
    before = provider.keys.active().kid
    provider.add_rule(Rule("jwks", RotateKeys(then=HttpFault(503))))
    assert http.get(provider.endpoint("jwks")).status_code == 503
    assert provider.keys.active().kid != before


def test_token_fault_forges_the_issued_token(
    provider: Provider, http: httpx.Client, service: Client
) -> None:
    provider.fail("token", token="wrong_iss", target="access_token", times=1)
    token = client_credentials(http, provider, service).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["iss"] != provider.issuer
    assert isinstance(provider.rules[0].fault, TokenFault)


def test_a_fault_that_raises_becomes_a_500_and_is_kept(
    provider: Provider, http: httpx.Client
) -> None:
    class Broken(Fault):
        def respond(self, exchange: Exchange) -> Response:
            raise RuntimeError("broken fault")

    rule = provider.add_rule(Rule("jwks", Broken()))
    r = http.get(provider.endpoint("jwks"))
    assert (r.status_code, r.json()["error"]) == (500, "server_error")
    assert [str(e) for e in provider.errors] == ["broken fault"]
    assert provider.calls[-1].rule is rule
    with pytest.raises(MockauthError, match="broken fault"):
        provider.raise_errors()


def test_the_live_server_reraises_a_fault_error(provider: Provider) -> None:
    class Broken(Fault):
        def respond(self, exchange: Exchange) -> Response:
            raise RuntimeError("broken on the server thread")

    provider.add_rule(Rule("jwks", Broken()))
    server = provider.serve()
    raises = pytest.raises(MockauthError, match="broken on the server thread")
    with raises, server, httpx.Client() as client:  # the server re-raises as it stops
        assert client.get(provider.endpoint("jwks")).status_code == 500


# --- provider.fail() validation --------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "fail() needs error="),
        ({"error": "invalid_grant", "token": "expired"}, "does not go with 'token'"),
        ({"status": 503, "description": "x"}, "description: does not go with 'status'"),
        ({"error": "invalid_grant", "body": "x"}, "body: does not go with 'error'"),
        ({"status": 503, "target": "access_token"}, "target: does not go with 'status'"),
        ({"drop": True, "status": 503}, "status: does not go with 'drop'"),
        ({"sequence": [503], "error": "invalid_grant"}, "error= cannot go with it"),
        ({"sequence": [503], "times": 2}, "times= cannot go with it"),
        ({"sequence": []}, "sequence: needs at least one outcome"),
        ({"sequence": [503, True]}, "sequence[1]: expected a fault"),
        ({"sequence": [42]}, "sequence[0]: expected an HTTP status code"),
        ({"status": 99}, "status: expected an HTTP status code"),
        ({"status": 600}, "status: expected an HTTP status code"),
        ({"status": "503"}, "status: expected an HTTP status code"),
        ({"error": 'bad"code'}, "error: expected an OAuth error code"),
        ({"error": ""}, "error: expected an OAuth error code"),
        ({"error": "x", "headers": {"Retry-After": 5}}, "headers: expected a table of strings"),
        ({"token": "expird"}, "token: 'expird' is not one of"),
        ({"delay": -1}, "delay: must be 0 to 600 seconds"),
        ({"delay": float("inf")}, "delay: must be 0 to 600 seconds"),
        ({"delay": "1"}, "delay: expected a number of seconds"),
        ({"drop": "yes"}, "drop: expected true or false"),
        ({"status": 503, "times": 0}, "times: must be at least 1"),
        ({"status": 503, "times": 2.0}, "times: expected an integer"),
        ({"status": 503, "after": -1}, "after: must not be negative"),
        ({"status": 503, "strict": 1}, "strict: expected true or false"),
        ({"status": 503, "endpoint": "tokens"}, "did you mean 'token'"),
        ({"status": 503, "params": {"scope": None}}, "params: expected a table of strings"),
    ],
)
def test_fail_validates_its_arguments(
    provider: Provider, kwargs: dict[str, Any], fragment: str
) -> None:
    endpoint = kwargs.pop("endpoint", "token")
    with pytest.raises(MockauthError) as info:
        provider.fail(endpoint, **kwargs)
    assert fragment in str(info.value)
    assert provider.rules == []


def test_fail_builds_the_documented_faults(provider: Provider) -> None:
    assert isinstance(provider.fail("token", error="invalid_grant").fault, OAuthErrorFault)
    assert isinstance(provider.fail("token", status=503).fault, HttpFault)
    assert isinstance(provider.fail("token", token="expired").fault, TokenFault)
    assert isinstance(provider.fail("token", drop=True).fault, Drop)
    delayed = provider.fail("jwks", delay=2.0).fault
    assert isinstance(delayed, Delay)
    assert (delayed.seconds, type(delayed.then)) == (2.0, Real)
    delayed = provider.fail("jwks", delay=1, status=503).fault
    assert isinstance(delayed, Delay)
    assert isinstance(delayed.then, HttpFault)
    assert provider.fail("token", drop=False, status=503).fault == HttpFault(503)


# --- rules from plain data -------------------------------------------------------------


def test_rule_from_mapping_forms() -> None:
    rule = rule_from_mapping(
        {
            "endpoint": "token",
            "grant_type": "refresh_token",
            "error": "invalid_grant",
            "times": 1,
            "name": "refresh fails",
        }
    )
    assert rule.match == Match(endpoint="token", grant_type="refresh_token")
    assert (rule.fault, rule.times, rule.name, rule.strict) == (
        OAuthErrorFault("invalid_grant"),
        1,
        "refresh fails",
        True,
    )
    assert rule_from_mapping({"endpoint": "jwks", "delay": 2.0}).fault == Delay(2.0)
    seq = rule_from_mapping(
        {"endpoint": "token", "sequence": [503, {"error": "invalid_grant"}, "real"]}
    )
    assert seq.sequence == [HttpFault(503), OAuthErrorFault("invalid_grant"), Real()]
    assert rule_from_mapping({"delay": 1, "status": 503}).fault == Delay(1, HttpFault(503))
    assert rule_from_mapping({"delay": 1, "then": {"drop": True}}).fault == Delay(1, Drop())
    rotate = rule_from_mapping({"rotate_keys": True, "alg": "ES256", "then": {"status": 503}})
    assert rotate.fault == RotateKeys("ES256", HttpFault(503))
    assert rule_from_mapping({"truncated": True}).fault == Truncated()
    assert rule_from_mapping({"jwks_no_kid": True, "drop": False}).fault == StripKids()
    patch = rule_from_mapping({"json": {"set": {"issuer": "x"}, "remove": ["jwks_uri"]}})
    assert patch.fault == JsonPatch({"issuer": "x"}, ("jwks_uri",))
    forged = rule_from_mapping({"token": "missing_claim", "claim": "sub", "target": "both"})
    assert forged.fault == TokenFault("missing_claim", "both", "sub")
    assert rule_from_mapping({"method": "get", "params": {"a": "b"}, "status": 500}).match == (
        Match(method="GET", params={"a": "b"})
    )


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"endpoint": "token", "tims": 2, "status": 503}, "rules[0].tims", "'times'?"),
        ({"endpoint": "token", "eror": "invalid_grant"}, "rules[0].eror", "'error'?"),
        ({"endpont": "token", "status": 503}, "rules[0].endpont", "'endpoint'?"),
        ({"status": 503, "headrs": {}}, "rules[0].headrs", "'headers'?"),
        ({"status": 503, "zzz": 1}, "rules[0].zzz", "unknown key"),
        ({"endpoint": "tokn", "status": 503}, "rules[0].endpoint", "did you mean 'token'?"),
        ({"endpoint": 5, "status": 503}, "rules[0].endpoint", "expected a string"),
        ({"method": 5, "status": 503}, "rules[0].method", "expected a string"),
        ({"params": {"a": 1}, "status": 503}, "rules[0].params", "table of strings"),
        ({"status": "503"}, "rules[0].status", "HTTP status code"),
        ({"status": 503, "times": "2"}, "rules[0].times", "expected an integer"),
        ({"status": 503, "times": 0}, "rules[0].times", "at least 1"),
        ({"status": 503, "after": -1}, "rules[0].after", "must not be negative"),
        ({"status": 503, "strict": "yes"}, "rules[0].strict", "true or false"),
        ({"status": 503, "name": 3}, "rules[0].name", "expected a string"),
        ({"sequence": [503, {"status": 503, "bdy": ""}]}, "rules[0].sequence[1].bdy", "'body'?"),
        ({"sequence": [503, {"error": 5}]}, "rules[0].sequence[1].error", "error code"),
        ({"sequence": [503, True]}, "rules[0].sequence[1]", "expected a fault"),
        ({"sequence": [99]}, "rules[0].sequence[0]", "HTTP status code"),
        ({"sequence": "503"}, "rules[0].sequence", "list of outcomes"),
        ({"sequence": []}, "rules[0].sequence", "at least one outcome"),
        ({"sequence": [503], "status": 503}, "rules[0].status", "beside 'sequence'"),
        ({"sequence": [503], "times": 1}, "rules[0].sequence", "no 'times'"),
        ({"endpoint": "token"}, "rules[0]", "needs a fault"),
        ({"endpoint": "token", "drop": False}, "rules[0]", "no fault"),
        ({"delay": "slow"}, "rules[0].delay", "number of seconds"),
        ({"delay": 1, "then": {"staus": 503}}, "rules[0].then.staus", "'status'?"),
        ({"delay": 1, "then": 7}, "rules[0].then", "expected a fault"),
        ({"delay": 1, "then": "real", "status": 503}, "rules[0].status", "beside 'then'"),
        ({"status": 503, "then": "real"}, "rules[0].then", "only 'delay' and 'rotate_keys'"),
        ({"status": 503, "description": "x"}, "rules[0].description", "does not go with"),
        ({"token": "expired", "status": 503}, "rules[0].status", "does not go with 'token'"),
        ({"token": "expird"}, "rules[0].token", "is not one of"),
        ({"token": "set_claim"}, "rules[0].claim", "needs the claim's name"),
        ({"json": {"sett": {}}}, "rules[0].json.sett", "'set'?"),
        ({"json": {"remove": "issuer"}}, "rules[0].json.remove", "list of member names"),
        ({"json": {"set": []}}, "rules[0].json.set", "expected a table"),
        ({"json": "x"}, "rules[0].json", "expected a table"),
        ({"error": "x", "headers": {"Retry-After": 5}}, "rules[0].headers", "table of strings"),
        ({"drop": "yes"}, "rules[0].drop", "true or false"),
        ({"rotate_keys": True, "alg": 5}, "rules[0].alg", "is not one of RS256"),
        ([1], "rules[0]", "expected a table"),
    ],
)
def test_rule_from_mapping_errors_name_the_key(data: Any, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        rule_from_mapping(data, "rules[0]")
    assert info.value.key == key
    assert fragment in info.value.message
    assert str(info.value).startswith(f"{key}: ")


def test_rule_from_mapping_without_a_key_prefix() -> None:
    with pytest.raises(ConfigError) as info:
        rule_from_mapping({"status": 503, "tims": 2})
    assert str(info.value) == "tims: unknown key; did you mean 'times'?"
    with pytest.raises(ConfigError) as info:
        rule_from_mapping({"endpoint": "token"})
    assert info.value.key == ""


def test_a_key_that_prefixes_a_field_name_is_still_prefixed() -> None:
    with pytest.raises(ConfigError) as info:
        rule_from_mapping({"status": 503, "times": 0}, "t")
    assert info.value.key == "t.times"


# --- the no-rules fast path --------------------------------------------------------


@pytest.fixture
def no_param_parsing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call of the scenario engine's request parsing (``request_params``)."""
    seen: list[str] = []
    real = provider_module.request_params

    def spy(request: Any) -> dict[str, str]:
        seen.append(request.path)
        return real(request)

    monkeypatch.setattr(provider_module, "request_params", spy)
    monkeypatch.setattr(journal_module, "request_params", spy)
    return seen


def test_without_rules_requests_are_not_parsed_for_scenarios(
    provider: Provider, http: httpx.Client, web: Client, no_param_parsing: list[str]
) -> None:
    tokens = code_flow(http, provider, web)
    http.get(provider.endpoint("userinfo"), headers={"Authorization": "Bearer x"})
    http.get(provider.endpoint("jwks"))
    http.get(provider.endpoint("discovery"))
    data = {"token": tokens["access_token"]}
    http.post(provider.endpoint("introspect"), data=data, auth=secret_auth(web))
    http.post(provider.endpoint("revoke"), data=data, auth=secret_auth(web))
    assert no_param_parsing == []
    assert len(provider.calls) == 7
    # The spy works: with a rule, every request is parsed once to be matched.
    provider.fail("end_session", status=503)
    http.get(provider.endpoint("jwks"))
    assert no_param_parsing == ["/" + provider.issuer_id + "/jwks"]


# --- concurrency -------------------------------------------------------------------


@pytest.fixture
def live(provider: Provider) -> Iterator[str]:
    with provider.serve() as server:
        yield server.url


def test_times_is_exact_under_concurrent_requests(
    provider: Provider, live: str, service: Client
) -> None:
    rule = provider.fail("token", status=503, times=3)
    barrier = threading.Barrier(16)
    auth = secret_auth(service)

    def one(_: int) -> int:
        with httpx.Client(timeout=10) as client:
            barrier.wait(timeout=10)
            r = client.post(
                provider.endpoint("token"), data={"grant_type": "client_credentials"}, auth=auth
            )
            return r.status_code

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(one, range(16)))
    assert sorted(got) == [200] * 13 + [503] * 3
    assert (rule.seen, rule.used) == (16, 3)
    assert len(provider.calls.filter("token")) == 16
    assert sum(c.rule is rule for c in provider.calls) == 3
    assert provider.errors == []


class Gate(Fault):
    """Holds the request until released, then gives the real answer."""

    kind = "gate"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def respond(self, exchange: Exchange) -> Response:
        self.entered.set()
        assert self.release.wait(timeout=10)
        return exchange.real()


def test_rules_change_while_a_request_is_in_flight(provider: Provider, live: str) -> None:
    gate = Gate()
    held = provider.add_rule(Rule("jwks", gate, times=1))
    with ThreadPoolExecutor(1) as pool, httpx.Client(timeout=10) as client:
        pending = pool.submit(client.get, provider.endpoint("jwks"))
        assert gate.entered.wait(timeout=10)
        provider.remove_rule(held)
        provider.fail("jwks", status=503, times=1)
        provider.clear_rules()
        provider.fail("discovery", status=502)
        gate.release.set()
        assert pending.result(timeout=10).status_code == 200
        assert client.get(provider.endpoint("jwks")).status_code == 200
        assert client.get(provider.endpoint("discovery")).status_code == 502
    assert held.used == 1
    assert provider.errors == []


def test_rule_churn_during_traffic_crashes_nothing(provider: Provider, live: str) -> None:
    stop = threading.Event()

    def traffic() -> list[int]:
        seen = []
        with httpx.Client(timeout=10) as client:
            while not stop.is_set() or len(seen) < 5:
                seen.append(client.get(provider.endpoint("jwks")).status_code)
        return seen

    with ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(traffic) for _ in range(4)]
        for i in range(60):
            rule = provider.fail("jwks", sequence=[503, "real"])
            provider.fail("jwks", status=502, times=1)
            provider.add_rule(Rule("jwks", StripKids()))
            if i % 3 == 0:
                provider.clear_rules()
            else:
                provider.remove_rule(rule)
            provider.rules  # noqa: B018 - listing while requests run
        provider.clear_rules()
        stop.set()
        results = [w.result(timeout=30) for w in workers]
    assert all(status in (200, 502, 503) for seen in results for status in seen)
    assert provider.errors == []
    total = sum(len(seen) for seen in results)
    assert len(provider.calls) == total


def test_basic_credentials_decoded_for_matching_never_fail(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("token", client_id="web", status=503)
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer x"):
        r = http.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            headers={"Authorization": header},
        )
        assert r.status_code in (400, 401)
    assert provider.errors == []


def test_scripted_spa_flow_with_pkce_still_works_after_the_fault(
    provider: Provider, http: httpx.Client, spa: Client
) -> None:
    provider.fail("token", sequence=["temporarily_unavailable"])
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "spa",
        "redirect_uri": SPA_REDIRECT,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    code = redirect_params(http.get(provider.endpoint("authorize"), params=params))["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": SPA_REDIRECT,
        "client_id": "spa",
        "code_verifier": verifier,
    }
    first = http.post(provider.endpoint("token"), data=data)
    assert first.status_code == 503
    # The scripted failure did not consume the code: the retry succeeds.
    second = http.post(provider.endpoint("token"), data=data)
    assert second.status_code == 200, second.text


# --- fail(fault=...) and calls that are still waiting ------------------------------------


def test_fail_takes_a_fault_object(provider: Provider, http: httpx.Client) -> None:
    rule = provider.fail("jwks", fault=proxy_error(504), times=1)
    response = http.get(provider.endpoint("jwks"))
    assert response.status_code == 504
    assert response.headers["content-type"].startswith("text/html")
    assert rule.used == 1
    assert http.get(provider.endpoint("jwks")).status_code == 200
    with pytest.raises(MockauthError, match="fault= is the whole outcome"):
        provider.fail("jwks", fault=proxy_error(), status=503)


def test_a_delayed_call_is_in_the_journal_while_it_waits(
    provider: Provider, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def sleep(seconds: float) -> None:  # instead of waiting: look at the journal
        seen.append(len(provider.calls.filter("jwks")))
        assert provider.calls.filter("jwks")[0].status is None

    monkeypatch.setattr(faults_http.time, "sleep", sleep)
    provider.fail("jwks", delay=5.0, times=1)
    assert http.get(provider.endpoint("jwks")).status_code == 200
    assert seen == [1]
    (call,) = provider.calls.filter("jwks")
    assert call.status == 200
    assert call.rule is provider.rules[0]


def test_delays_are_capped(provider: Provider) -> None:
    with pytest.raises(ConfigError, match="delay: must be 0 to 600 seconds"):
        provider.fail("jwks", delay=1e9)
