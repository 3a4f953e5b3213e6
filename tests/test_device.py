"""The device authorization grant (RFC 8628): codes, polling, the user's decision."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mockauth import MockauthError, Provider
from mockauth.device import GRANT_TYPE, USER_CODE_ALPHABET

SECRET = "tv-secret-0123456789-abcdefghijkl"


@pytest.fixture
def provider() -> Provider:
    p = Provider()
    p.add_client(client_id="tv", client_secret=SECRET, grant_types=[GRANT_TYPE, "refresh_token"])
    p.add_client(client_id="cli", public=True, grant_types=[GRANT_TYPE])
    p.add_client(client_id="other", client_secret=SECRET, grant_types=["client_credentials"])
    p.add_user(username="bob", password="bob-pw")
    p.clock.freeze()
    return p


@pytest.fixture
def http(provider: Provider) -> Any:
    with provider.httpx_client() as client:
        yield client


def _start(http: httpx.Client, provider: Provider, **data: str) -> dict[str, Any]:
    r = http.post(provider.endpoint("device_authorization"), data=data, auth=("tv", SECRET))
    assert r.status_code == 200, r.text
    return r.json()


def _poll(http: httpx.Client, provider: Provider, device_code: str, client: str = "tv") -> Any:
    auth = (client, SECRET) if client != "cli" else None
    data = {"grant_type": GRANT_TYPE, "device_code": device_code}
    if client == "cli":
        data["client_id"] = "cli"
    return http.post(provider.endpoint("token"), data=data, auth=auth)


def test_metadata_names_the_endpoint_and_the_grant(provider: Provider, http: httpx.Client) -> None:
    doc = http.get(provider.endpoint("discovery")).json()
    assert doc["device_authorization_endpoint"] == provider.issuer + "/device_authorization"
    assert GRANT_TYPE in doc["grant_types_supported"]


def test_the_device_authorization_response(provider: Provider, http: httpx.Client) -> None:
    body = _start(http, provider, scope="openid profile")
    assert re.fullmatch(
        f"[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}", body["user_code"]
    )
    assert body["verification_uri"] == provider.issuer + "/device"
    assert (
        body["verification_uri_complete"]
        == f"{body['verification_uri']}?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600
    assert isinstance(body["expires_in"], int)
    assert body["interval"] == 5
    assert isinstance(body["interval"], int)
    assert len(body["device_code"]) >= 32
    assert body["device_code"] != _start(http, provider)["device_code"]


def test_pending_then_approved_then_used_once(provider: Provider, http: httpx.Client) -> None:
    body = _start(http, provider, scope="openid offline_access")
    pending = _poll(http, provider, body["device_code"])
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    provider.approve_device(body["user_code"].lower().replace("-", " "), user="bob")
    provider.clock.advance(5)
    tokens = _poll(http, provider, body["device_code"])
    assert tokens.status_code == 200, tokens.text
    claims = provider.tokens.decode(tokens.json()["access_token"])
    assert claims["sub"] == provider.user("bob").sub
    assert "id_token" in tokens.json()
    assert "refresh_token" in tokens.json()
    provider.clock.advance(5)
    again = _poll(http, provider, body["device_code"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_polling_too_fast_is_slow_down_and_the_interval_grows(
    provider: Provider, http: httpx.Client
) -> None:
    code = _start(http, provider)["device_code"]
    assert _poll(http, provider, code).json()["error"] == "authorization_pending"
    provider.clock.advance(4)
    slow = _poll(http, provider, code).json()
    assert slow["error"] == "slow_down"
    assert "10 s" in slow["error_description"]
    provider.clock.advance(9)  # less than the new 10 s
    assert _poll(http, provider, code).json()["error"] == "slow_down"  # now 15 s
    provider.clock.advance(15)
    assert _poll(http, provider, code).json()["error"] == "authorization_pending"


def test_denied_and_expired(provider: Provider, http: httpx.Client) -> None:
    denied = _start(http, provider)
    provider.deny_device(denied["user_code"])
    answer = _poll(http, provider, denied["device_code"])
    assert (answer.status_code, answer.json()["error"]) == (400, "access_denied")
    late = _start(http, provider)
    provider.clock.advance(600)
    answer = _poll(http, provider, late["device_code"])
    assert (answer.status_code, answer.json()["error"]) == (400, "expired_token")
    with pytest.raises(MockauthError, match="expired"):
        provider.approve_device(late["user_code"])


def test_a_public_client_polls_with_its_client_id(provider: Provider, http: httpx.Client) -> None:
    r = http.post(provider.endpoint("device_authorization"), data={"client_id": "cli"})
    body = r.json()
    provider.approve_device(body["user_code"])
    assert _poll(http, provider, body["device_code"], client="cli").status_code == 200


def test_unknown_and_foreign_device_codes_are_invalid_grant(
    provider: Provider, http: httpx.Client
) -> None:
    assert _poll(http, provider, "nope").json()["error"] == "invalid_grant"
    r = http.post(provider.endpoint("device_authorization"), data={"client_id": "cli"})
    code = r.json()["device_code"]
    assert _poll(http, provider, code).json()["error"] == "invalid_grant"  # tv polls cli's code


def test_a_client_without_the_grant_is_unauthorized(provider: Provider, http: httpx.Client) -> None:
    r = http.post(provider.endpoint("device_authorization"), auth=("other", SECRET))
    assert (r.status_code, r.json()["error"]) == (400, "unauthorized_client")
    r = http.post(provider.endpoint("device_authorization"), auth=("tv", "wrong"))
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


def test_the_verification_uri_in_a_browser(provider: Provider, http: httpx.Client) -> None:
    page = http.get(provider.endpoint("device_verification"))
    assert page.status_code == 200
    assert 'name="user_code"' in page.text
    body = _start(http, provider)
    done = http.get(body["verification_uri_complete"] + "&login_hint=bob")
    assert done.status_code == 200
    assert "Device connected" in done.text
    provider.clock.advance(5)
    tokens = _poll(http, provider, body["device_code"]).json()
    assert provider.tokens.decode(tokens["access_token"])["sub"] == provider.user("bob").sub
    again = http.get(body["verification_uri_complete"])
    assert again.status_code == 400
    assert "approved already" in again.text
    assert (
        http.get(
            provider.endpoint("device_verification"), params={"user_code": "BBBB-BBBB"}
        ).status_code
        == 400
    )


def test_deciding_from_python_needs_a_known_code_and_user(
    provider: Provider, http: httpx.Client
) -> None:
    with pytest.raises(MockauthError, match="no device authorization"):
        provider.approve_device("ZZZZ-ZZZZ")
    body = _start(http, provider)
    with pytest.raises(MockauthError, match="nobody"):
        provider.approve_device(body["user_code"], user="nobody")
    provider.deny_device(body["user_code"])
    with pytest.raises(MockauthError, match="denied already"):
        provider.approve_device(body["user_code"])


def test_the_device_code_is_redacted_in_the_journal(provider: Provider, http: httpx.Client) -> None:
    body = _start(http, provider)
    _poll(http, provider, body["device_code"])
    call = provider.calls.filter("token")[-1]
    assert call.params["device_code"] == "[redacted]"
    assert body["device_code"] not in repr(call)


@pytest.mark.parametrize("key", ["device_interval", "device_code_ttl"])
def test_a_zero_interval_or_lifetime_is_a_config_error(key: str) -> None:
    from mockauth.config import ProviderConfig
    from mockauth.errors import ConfigError

    with pytest.raises(ConfigError, match=f"tokens.{key}: must be a positive"):
        ProviderConfig.from_mapping({"tokens": {key: 0}})


def test_the_interval_and_lifetime_come_from_the_config() -> None:
    p = Provider(tokens={"device_interval": 1, "device_code_ttl": 30})
    p.add_client(client_id="cli", public=True, grant_types=[GRANT_TYPE])
    with p.httpx_client() as http:
        body = http.post(p.endpoint("device_authorization"), data={"client_id": "cli"}).json()
    assert (body["interval"], body["expires_in"]) == (1, 30)


def test_a_scenario_pending_twice_then_approved(provider: Provider, http: httpx.Client) -> None:
    from mockauth.scenarios.files import Scenario

    Scenario.from_mapping(
        {
            "rules": [
                {
                    "endpoint": "token",
                    "grant_type": GRANT_TYPE,
                    "sequence": [
                        "authorization_pending",
                        "slow_down",
                        {"approve_device": "bob"},
                    ],
                }
            ]
        }
    ).apply(provider)
    code = _start(http, provider)["device_code"]
    answers = []
    for _ in range(3):
        answers.append(_poll(http, provider, code))
        provider.clock.advance(10)
    assert [a.json().get("error") for a in answers[:2]] == ["authorization_pending", "slow_down"]
    assert answers[2].status_code == 200, answers[2].text
    sub = provider.tokens.decode(answers[2].json()["access_token"])["sub"]
    assert sub == provider.user("bob").sub
    provider.check_rules()  # the strict sequence was used up


def test_a_scenario_denies_the_device(provider: Provider, http: httpx.Client) -> None:
    from mockauth.scenarios.files import Scenario

    rule = {"endpoint": "token", "grant_type": GRANT_TYPE, "deny_device": True, "times": 1}
    Scenario.from_mapping({"rules": [rule]}).apply(provider)
    code = _start(http, provider)["device_code"]
    assert _poll(http, provider, code).json()["error"] == "access_denied"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"endpoint": "userinfo", "approve_device": True}, "at the token endpoint"),
        ({"endpoint": "token", "approve_device": 3}, "true or a user"),
        ({"endpoint": "token", "approve_device": True, "deny_device": True}, "deny_device"),
        ({"endpoint": "token", "deny_device": False}, "deny_device"),
    ],
)
def test_bad_device_rules_are_clear_errors(rule: dict[str, Any], message: str) -> None:
    from mockauth.errors import ConfigError
    from mockauth.scenarios.files import Scenario

    with pytest.raises(ConfigError, match=message):
        Scenario.from_mapping({"rules": [rule]})


def test_a_scenario_naming_no_such_user_answers_a_clear_server_error(
    provider: Provider, http: httpx.Client
) -> None:
    """The scenario's mistake is the answer (a server_error naming the user), not a crash."""
    from mockauth.scenarios.files import Scenario

    rule = {"endpoint": "token", "grant_type": GRANT_TYPE, "approve_device": "nobody"}
    Scenario.from_mapping({"rules": [rule]}).apply(provider)
    answer = _poll(http, provider, _start(http, provider)["device_code"])
    assert (answer.status_code, answer.json()["error"]) == (500, "server_error")
    assert "approve_device names no user 'nobody'" in answer.json()["error_description"]
    (device,) = provider.services.store.devices.items.values()
    assert device.status == "pending"  # nothing was decided
