"""Scenario files: the format, the library in fixtures/scenarios, and loading them by
marker, fixture, pytest option and ``mockauth serve --scenario``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

import mockauth.clock
import mockauth.faults.http
import mockauth.scenarios.files
from mockauth import Clock, ConfigError, Provider, Scenario, load_scenario
from mockauth.faults import Delay, HttpFault, OAuthErrorFault, Real, RotateKeys
from mockauth.scenarios import ENDPOINT_NAMES

from .serve import ServeProcess

ROOT = Path(__file__).resolve().parents[1]
LIBRARY_DIR = ROOT / "fixtures" / "scenarios"
LIBRARY = sorted(LIBRARY_DIR.glob("*.*"))
EXPECTED_LIBRARY = {
    "flaky-token-endpoint", "key-rotation-mid-session", "bad-secret", "expired-refresh-token",
    "slow-jwks", "clock-skew", "provider-outage", "device-slow-approval", "assertion-rejected",
    "mcp-registration-server-error", "mcp-registration-unauthorized", "mcp-no-pkce-metadata",
    "mcp-issuer-mismatch", "mcp-discovery-outage", "mcp-dpop-nonce-required",
    "mcp-resource-metadata-missing",
}  # fmt: skip
SECRET = "svc-secret-0123456789-abcdefghij"
T2030 = 1893456000  # 2030-01-01T00:00:00Z


def library(name: str) -> Scenario:
    return load_scenario(LIBRARY_DIR / f"{name}.toml")


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def new_provider(**fields: Any) -> Provider:
    """A provider with a service client ``svc`` and a web client ``web`` with a user."""
    provider = Provider(**fields)
    provider.add_client(client_id="svc", client_secret=SECRET, grant_types=["client_credentials"])
    provider.add_client(client_id="web", client_secret="web-secret-0123456789-abcdefghij")
    provider.add_user("alice", password="alice-pw")
    return provider


def client_credentials(http: httpx.Client, provider: Provider, secret: str = SECRET) -> Any:
    return http.post(
        provider.endpoint("token"), data={"grant_type": "client_credentials"}, auth=("svc", secret)
    )


def password_grant(http: httpx.Client, provider: Provider) -> httpx.Response:
    data = {"grant_type": "password", "username": "alice", "password": "alice-pw",
            "scope": "openid offline_access"}  # fmt: skip
    return http.post(provider.endpoint("token"), data=data, auth=web_auth(provider))


def web_auth(provider: Provider) -> tuple[str, str]:
    secret = provider.client_secret("web")
    assert secret is not None
    return "web", secret


@contextmanager
def served(provider: Provider) -> Iterator[httpx.Client]:
    """``provider`` on a live loopback server, and a real httpx client (real sockets)."""
    with provider.serve(), httpx.Client(timeout=10) as http:
        yield http


# --- the library ----------------------------------------------------------------------


def test_the_library_has_every_scenario_the_docs_promise() -> None:
    assert {p.stem for p in LIBRARY} == EXPECTED_LIBRARY
    listing = (ROOT / "fixtures" / "README.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in LIBRARY:
        assert f"`{path.name}`" in listing, f"{path.name} is not listed in fixtures/README.md"
        assert path.stem in readme, f"{path.stem} is not listed in README.md"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_every_library_scenario_loads_and_is_documented(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.description.strip()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(f"# {path.stem}: "), "the header comment starts with the name"
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    text = " ".join(header)
    assert "Simulates" in text
    assert "well-behaved client" in text
    # Applies cleanly to a plain provider, and again to another one.
    for provider in (new_provider(), new_provider()):
        rules = scenario.apply(provider)
        assert provider.rules == rules


_DPOP_KEY = ec.generate_private_key(ec.SECP256R1())


def _with_proof(http: httpx.Client, provider: Provider, nonce: str | None = None) -> Any:
    """A client_credentials request with a DPoP proof (and ``nonce``, if given)."""
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(_DPOP_KEY.public_key()))
    claims = {"jti": secrets.token_hex(8), "htm": "POST", "htu": provider.endpoint("token"),
              "iat": time.time(), **({"nonce": nonce} if nonce else {})}  # fmt: skip
    proof = jwt.encode(claims, _DPOP_KEY, "ES256", headers={"typ": "dpop+jwt", "jwk": jwk})
    return http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"},
                     auth=("svc", SECRET), headers={"DPoP": proof})  # fmt: skip


def test_the_mcp_failures_of_the_library() -> None:
    """Each MCP scenario fails the way its comment says, and nothing else breaks."""
    registration = {"redirect_uris": ["http://127.0.0.1:33418/cb"],
                    "token_endpoint_auth_method": "none"}  # fmt: skip
    for name, check in {
        "mcp-registration-server-error": lambda http, p: (
            (r := http.post(p.endpoint("registration"), json=registration)).status_code == 500
            and r.content == b""
        ),
        "mcp-registration-unauthorized": lambda http, p: (
            (r := http.post(p.endpoint("registration"), json=registration)).status_code == 401
            and r.json()["error"] == "invalid_token"
            and r.headers["WWW-Authenticate"].startswith("Bearer")
        ),
        "mcp-no-pkce-metadata": lambda http, p: all(
            "code_challenge_methods_supported" not in http.get(u).json()
            and "token_endpoint" in http.get(u).json()
            for u in (p.endpoint("discovery"),
                      f"{p.base_url}/.well-known/oauth-authorization-server/default",
                      f"{p.base_url}/.well-known/openid-configuration/default")
        ),
        "mcp-issuer-mismatch": lambda http, p: (
            http.get(p.endpoint("discovery")).json()["issuer"] == "https://wrong-issuer.example.test"
        ),
        "mcp-discovery-outage": lambda http, p: (
            (r := http.get(p.endpoint("discovery"))).status_code == 503
            and r.headers["Retry-After"] == "30"
        ),
        "mcp-resource-metadata-missing": lambda http, p: (
            http.get(p.resource("/mcp").metadata_url).status_code == 404
            and http.get(p.resource("/mcp").url).status_code == 401
            and http.get(p.endpoint("discovery")).status_code == 200
        ),
        "mcp-dpop-nonce-required": lambda http, p: (
            (r := _with_proof(http, p)).status_code == 400
            and r.json()["error"] == "use_dpop_nonce"
            and _with_proof(http, p, r.headers["DPoP-Nonce"]).status_code == 200
            and client_credentials(http, p).status_code == 200  # no proof: not affected
        ),
    }.items():  # fmt: skip
        provider = new_provider()
        provider.add_resource("/mcp")
        library(name).apply(provider)
        with served(provider) as http:
            assert check(http, provider), name
            assert http.get(provider.endpoint("jwks")).status_code == 200, name


def test_device_slow_approval_is_pending_pending_slow_down_then_tokens() -> None:
    provider = new_provider()
    provider.add_client(client_id="tv", public=True,
                        grant_types=["urn:ietf:params:oauth:grant-type:device_code"])  # fmt: skip
    library("device-slow-approval").apply(provider)
    with served(provider) as http:
        started = http.post(provider.endpoint("device_authorization"), data={"client_id": "tv"})
        poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "tv",
                "device_code": started.json()["device_code"]}  # fmt: skip
        answers = [http.post(provider.endpoint("token"), data=poll) for _ in range(4)]
    assert [a.json().get("error") for a in answers] == [
        "authorization_pending", "authorization_pending", "slow_down", None,
    ]  # fmt: skip
    assert "access_token" in answers[3].json()
    provider.check_rules()  # strict: used up


def test_assertion_rejected_refuses_assertions_and_nothing_else() -> None:
    import json
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "k"}
    provider = new_provider()
    provider.add_client(client_id="signer", token_endpoint_auth_method="private_key_jwt",
                        jwks={"keys": [jwk]}, grant_types=["client_credentials"])  # fmt: skip
    library("assertion-rejected").apply(provider)
    now = time.time()
    assertion = jwt.encode(
        {"iss": "signer", "sub": "signer", "aud": provider.issuer, "exp": now + 60, "jti": "j1"},
        key,
        "ES256",
        headers={"kid": "k"},
    )
    with served(provider) as http:
        refused = http.post(provider.endpoint("token"), data={
            "grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        })  # fmt: skip
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
        assert client_credentials(http, provider).status_code == 200  # a secret still works


def test_flaky_token_endpoint_gives_503_503_then_the_real_answer() -> None:
    provider = new_provider()
    scenario = library("flaky-token-endpoint")
    scenario.apply(provider)
    with pytest.raises(AssertionError, match="expected 3 matching"):
        provider.check_rules()  # strict: unused, it would fail the test at teardown
    with served(provider) as http:
        statuses = [client_credentials(http, provider).status_code for _ in range(4)]
        assert statuses == [503, 503, 200, 200]
        assert "access_token" in client_credentials(http, provider).json()
    provider.check_rules()
    provider.calls.assert_called("token", times=5)
    # The scenario is data: applied to a fresh provider it starts again.
    again = new_provider()
    scenario.apply(again)
    with again.httpx_client() as http:
        assert client_credentials(http, again).status_code == 503


def test_key_rotation_mid_session_signs_the_second_token_with_a_new_key() -> None:
    provider = new_provider()
    library("key-rotation-mid-session").apply(provider)
    with served(provider) as http:
        jwks_before = http.get(provider.endpoint("jwks")).json()
        tokens = [client_credentials(http, provider).json()["access_token"] for _ in range(3)]
        jwks_after = http.get(provider.endpoint("jwks")).json()
    kids = [jwt.get_unverified_header(t)["kid"] for t in tokens]
    assert kids[0] != kids[1], "the second token is signed with a new key"
    assert kids[1] == kids[2], "the key is rotated once"
    assert kids[0] in {k["kid"] for k in jwks_before["keys"]}
    assert kids[1] not in {k["kid"] for k in jwks_before["keys"]}
    after = {k["kid"]: k for k in jwks_after["keys"]}
    assert {kids[0], kids[1]} <= after.keys(), "the old key stays published"
    for token, kid in zip(tokens, kids, strict=True):  # a client that re-fetches verifies both
        key = jwt.PyJWK(after[kid]).key
        claims = jwt.decode(token, key, algorithms=["RS256"], audience="svc")
        assert claims["client_id"] == "svc"
    provider.check_rules()


def test_bad_secret_rejects_every_client_even_with_the_right_secret() -> None:
    provider = new_provider()
    library("bad-secret").apply(provider)
    with served(provider) as http:
        response = client_credentials(http, provider)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert password_grant(http, provider).status_code == 401  # every client
        # Only the token endpoint:
        assert http.get(provider.endpoint("discovery")).status_code == 200


def test_bad_secret_narrowed_to_one_client_as_its_comment_says(tmp_path: Path) -> None:
    text = (LIBRARY_DIR / "bad-secret.toml").read_text(encoding="utf-8")
    assert '# client_id = "web"' in text
    narrowed = tmp_path / "bad-secret-web.toml"
    narrowed.write_text(text.replace('# client_id = "web"', 'client_id = "web"'))
    provider = new_provider()
    load_scenario(narrowed).apply(provider)
    with provider.httpx_client() as http:
        assert password_grant(http, provider).status_code == 401
        assert client_credentials(http, provider).status_code == 200


def test_bad_secret_by_rotating_the_secret(tmp_path: Path) -> None:
    # The alternative the file's comment gives: the real secret check fails.
    path = write(tmp_path / "rotated.toml", 'rotate_client_secret = ["svc"]\n')
    provider = new_provider()
    load_scenario(path).apply(provider)
    new_secret = provider.client_secret("svc")
    assert new_secret
    assert new_secret != SECRET
    with provider.httpx_client() as http:
        old = client_credentials(http, provider)
        assert (old.status_code, old.json()["error"]) == (401, "invalid_client")
        assert client_credentials(http, provider, new_secret).status_code == 200


def test_expired_refresh_token_fails_the_refresh_grant_only() -> None:
    plain, scripted = new_provider(), new_provider()
    library("expired-refresh-token").apply(scripted)
    results = {}
    for name, provider in (("plain", plain), ("scripted", scripted)):
        with served(provider) as http:
            tokens = password_grant(http, provider)
            assert tokens.status_code == 200
            assert client_credentials(http, provider).status_code == 200
            data = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
            response = http.post(provider.endpoint("token"), data=data, auth=web_auth(provider))
            results[name] = (response.status_code, response.json().get("error"))
    assert results == {"plain": (200, None), "scripted": (400, "invalid_grant")}
    (call,) = scripted.calls.assert_called("token", grant_type="refresh_token")
    assert (call.status, call.error) == (400, "invalid_grant")
    assert call.rule is scripted.rules[0]


def test_expired_refresh_token_for_real_with_the_clock() -> None:
    # The provider-side alternative the file's comment gives: no rule, the clock.
    provider = new_provider()
    with provider.httpx_client() as http:
        refresh_token = password_grant(http, provider).json()["refresh_token"]
        provider.clock.advance(provider.config.tokens.refresh_token_ttl + 1)
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        response = http.post(provider.endpoint("token"), data=data, auth=web_auth(provider))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_slow_jwks_delays_only_the_jwks(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(mockauth.faults.http, "time", SimpleNamespace(sleep=slept.append))
    provider = new_provider()
    (rule,) = library("slow-jwks").apply(provider)
    assert isinstance(rule.fault, Delay)
    assert (rule.fault.seconds, type(rule.fault.then)) == (2.0, Real)
    with provider.httpx_client() as http:
        assert http.get(provider.endpoint("discovery")).status_code == 200
        assert slept == []
        response = http.get(provider.endpoint("jwks"))
    assert slept == [2.0]
    assert response.status_code == 200
    assert response.json() == provider.jwks()  # the real answer, late


def test_clock_skew_puts_tokens_in_the_applications_future(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = new_provider()
    library("clock-skew").apply(provider)
    assert not provider.clock.frozen  # a running clock, skewed
    fake_time = SimpleNamespace(time=lambda: float(T2030))
    monkeypatch.setattr(mockauth.clock, "time", fake_time)  # the system clock, for the provider
    assert provider.clock.now() == T2030 + 300
    with provider.httpx_client() as http:
        response = client_credentials(http, provider)
        token = response.json()["access_token"]
        # The provider judges by its own clock: for it, the token is valid.
        introspection = http.post(
            provider.endpoint("introspect"), data={"token": token}, auth=("svc", SECRET)
        ).json()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iat"] == T2030 + 300
    assert claims["exp"] == T2030 + 300 + provider.config.tokens.access_token_ttl
    assert introspection["active"] is True


def test_clock_skew_fails_an_application_without_leeway() -> None:
    provider = new_provider()
    library("clock-skew").apply(provider)
    with provider.httpx_client() as http:
        token = client_credentials(http, provider).json()["access_token"]
    key = provider.keys.get(jwt.get_unverified_header(token)["kid"])
    assert key is not None
    with pytest.raises(jwt.ImmatureSignatureError, match="iat"):
        jwt.decode(token, key.verify_key, algorithms=["RS256"], audience="svc", leeway=60)
    # Enough leeway (RFC 7519 §4.1.4) accepts it.
    jwt.decode(token, key.verify_key, algorithms=["RS256"], audience="svc", leeway=360)


def outage_request(http: httpx.Client, provider: Provider, endpoint: str) -> httpx.Response:
    if endpoint in ("resource", "resource_metadata"):
        resource = provider.resource("/api")
        return http.get(resource.url if endpoint == "resource" else resource.metadata_url)
    url = provider.endpoint(endpoint)
    if endpoint in ("token", "introspect", "revoke", "device_authorization", "par", "login"):
        return http.post(url, data={"token": "x", "grant_type": "client_credentials"})
    if endpoint == "registration":
        return http.post(url, json={"redirect_uris": ["http://127.0.0.1/cb"]})
    return http.get(url)


def test_provider_outage_answers_503_everywhere() -> None:
    provider = new_provider(login_page=True)  # every endpoint served, the login form's too
    provider.add_resource("/api")
    library("provider-outage").apply(provider)
    with served(provider) as http:
        responses = {e: outage_request(http, provider, e) for e in ENDPOINT_NAMES}
    for endpoint, response in responses.items():
        assert response.status_code == 503, endpoint
        assert response.headers["Retry-After"] == "120"
        assert response.headers["Content-Type"].startswith("text/html")
        assert "503 Service Unavailable" in response.text
    assert [c.status for c in provider.calls] == [503] * len(ENDPOINT_NAMES)
    assert all(c.rule is provider.rules[0] for c in provider.calls)


def test_provider_outage_with_dropped_connections_as_its_comment_says(tmp_path: Path) -> None:
    data = tomllib.loads((LIBRARY_DIR / "provider-outage.toml").read_text(encoding="utf-8"))
    (rule,) = data["rules"]
    for key in ("status", "headers", "body", "content_type"):
        del rule[key]
    rule["drop"] = True
    provider = new_provider()
    Scenario.from_mapping(data).apply(provider)
    with served(provider) as http:
        for endpoint in ("discovery", "token"):
            with pytest.raises(httpx.TransportError):
                outage_request(http, provider, endpoint)


# --- the format ---------------------------------------------------------------------------

FULL = {
    "description": "Everything at once.",
    "rules": [
        {"endpoint": "token", "sequence": [503, {"status": 429, "headers": {"Retry-After": "3"}},
                                           "invalid_grant", "real"], "name": "seq"},
        {"endpoint": "jwks", "delay": 0.5},
        {"endpoint": "token", "grant_type": "refresh_token", "error": "invalid_grant",
         "times": 2, "strict": False},
        {"endpoint": "userinfo", "client_id": "web", "params": {"a": "b"}, "drop": True},
    ],
    "clock": {"frozen_at": "2030-01-01T00:00:00Z", "advance": 60},
    "rotate_keys": ["ES256"],
    "rotate_client_secret": {"web": "new-web-secret-0123456789"},
    "revoke_tokens": [{"user": "alice"}, {"client": "svc"}],
}  # fmt: skip

FULL_TOML = """
description = "Everything at once."
rotate_keys = ["ES256"]
rotate_client_secret = { web = "new-web-secret-0123456789" }
revoke_tokens = [{ user = "alice" }, { client = "svc" }]

[clock]
frozen_at = 2030-01-01T00:00:00Z
advance = 60

[[rules]]
endpoint = "token"
name = "seq"
sequence = [503, { status = 429, headers = { "Retry-After" = "3" } }, "invalid_grant", "real"]

[[rules]]
endpoint = "jwks"
delay = 0.5

[[rules]]
endpoint = "token"
grant_type = "refresh_token"
error = "invalid_grant"
times = 2
strict = false

[[rules]]
endpoint = "userinfo"
client_id = "web"
params = { a = "b" }
drop = true
"""

FULL_YAML = """
description: Everything at once.
rotate_keys: [ES256]
rotate_client_secret: {web: new-web-secret-0123456789}
revoke_tokens:
  - user: alice
  - client: svc
clock:
  frozen_at: 2030-01-01T00:00:00Z
  advance: 60
rules:
  - endpoint: token
    name: seq
    sequence: [503, {status: 429, headers: {Retry-After: "3"}}, invalid_grant, real]
  - {endpoint: jwks, delay: 0.5}
  - endpoint: token
    grant_type: refresh_token
    error: invalid_grant
    times: 2
    strict: false
  - {endpoint: userinfo, client_id: web, params: {a: b}, drop: true}
"""


def test_json_toml_and_yaml_files_are_equivalent(tmp_path: Path) -> None:
    from_json = load_scenario(write(tmp_path / "s.json", json.dumps(FULL)))
    from_toml = load_scenario(write(tmp_path / "s.toml", FULL_TOML))
    from_yaml = load_scenario(write(tmp_path / "s.yaml", FULL_YAML))
    from_yml = load_scenario(write(tmp_path / "s.yml", FULL_YAML))
    assert from_json == from_toml == from_yaml == from_yml == Scenario.from_mapping(FULL)
    assert from_json.clock is not None
    assert from_json.clock.frozen_at == T2030
    assert from_json.source == str(tmp_path / "s.json")
    assert from_yaml.source == str(tmp_path / "s.yaml")
    # ... and they do the same thing.
    described = []
    for scenario in (from_json, from_toml, from_yaml):
        provider = new_provider()
        rules = scenario.apply(provider)
        described.append([r.describe() for r in rules])
        assert provider.clock.now() == T2030 + 60
        assert provider.client_secret("web") == "new-web-secret-0123456789"
    assert described[0] == described[1] == described[2]
    assert len(described[0]) == 4


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_each_library_file_reads_the_same_as_json_and_yaml(path: Path, tmp_path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    as_json = write(tmp_path / f"{path.stem}.json", json.dumps(data))
    as_yaml = write(tmp_path / f"{path.stem}.yaml", yaml.safe_dump(data))
    assert load_scenario(path) == load_scenario(as_json) == load_scenario(as_yaml)


def test_to_dict_round_trips() -> None:
    scenario = Scenario.from_mapping(FULL)
    assert Scenario.from_mapping(scenario.to_dict()) == scenario
    assert scenario.to_dict()["rules"] == FULL["rules"]
    for path in LIBRARY:
        loaded = load_scenario(path)
        assert Scenario.from_mapping(loaded.to_dict()) == loaded
    rotate = Scenario.from_mapping({"rotate_keys": True, "rotate_client_secret": ["svc"]})
    assert rotate.to_dict() == {"rotate_keys": True, "rotate_client_secret": ["svc"]}


def test_a_scenario_is_frozen() -> None:
    scenario = Scenario.from_mapping(FULL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.description = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        scenario.rules[0]["endpoint"] = "jwks"  # type: ignore[index]
    assert isinstance(scenario.rules[0]["sequence"], tuple)


def test_apply_returns_fresh_rules_each_time() -> None:
    scenario = Scenario.from_mapping({"rules": [{"endpoint": "token", "sequence": [503, "real"]}]})
    provider = new_provider()
    first, second = scenario.apply(provider), scenario.apply(provider)
    assert provider.rules == first + second
    assert first[0] is not second[0]
    with provider.httpx_client() as http:
        # Rules are tried in order: the first rule's sequence, then the second's.
        statuses = [client_credentials(http, provider).status_code for _ in range(3)]
    assert statuses == [503, 200, 503]


def test_rules_are_added_after_existing_ones() -> None:
    provider = new_provider()
    existing = provider.fail("token", status=500, times=1)
    (added,) = Scenario.from_mapping({"rules": [{"endpoint": "token", "status": 502}]}).apply(
        provider
    )
    assert provider.rules == [existing, added]
    with provider.httpx_client() as http:
        assert [client_credentials(http, provider).status_code for _ in range(2)] == [500, 502]


def test_unnamed_rules_from_a_file_are_named_after_it(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mine.toml",
        """
        [[rules]]
        name = "named"
        endpoint = "jwks"
        status = 500
        [[rules]]
        endpoint = "token"
        sequence = [503, "real"]
        """,
    )
    provider = new_provider()
    rules = load_scenario(path).apply(provider)
    assert [r.name for r in rules] == ["named", "mine: rules[1]"]
    with pytest.raises(AssertionError, match=re.escape("'mine: rules[1]'")):
        provider.check_rules()  # the teardown message points into the file
    assert [r.name for r in Scenario.from_mapping(FULL).build_rules()][1:] == [None] * 3


def test_a_zero_offset_round_trips() -> None:
    scenario = Scenario.from_mapping({"clock": {"offset": 0}})
    assert Scenario.from_mapping(scenario.to_dict()) == scenario


def test_the_parsed_faults_are_the_documented_ones() -> None:
    rules = Scenario.from_mapping(FULL).build_rules()
    assert rules[0].sequence is not None
    assert rules[0].sequence[0] == HttpFault(503)
    assert rules[0].sequence[1] == HttpFault(429, headers={"Retry-After": "3"})
    assert rules[0].sequence[2] == OAuthErrorFault("invalid_grant")
    assert isinstance(rules[0].sequence[3], Real)
    assert rules[0].strict
    assert rules[0].name == "seq"
    assert (rules[2].times, rules[2].strict) == (2, False)
    assert rules[2].match.grant_type == "refresh_token"
    assert rules[3].match.params == {"a": "b"}
    key_rotation = library("key-rotation-mid-session").build_rules()[0]
    assert isinstance(key_rotation.fault, RotateKeys)
    assert (key_rotation.after, key_rotation.times) == (1, 1)


# --- the clock and the actions ---------------------------------------------------------


@pytest.mark.parametrize(
    "frozen_at",
    [T2030, float(T2030), "2030-01-01T00:00:00Z", "2030-01-01T01:00:00+01:00",
     datetime(2030, 1, 1, tzinfo=UTC)],
)  # fmt: skip
def test_frozen_at_takes_seconds_or_a_date_time(frozen_at: Any) -> None:
    provider = Provider()
    Scenario.from_mapping({"clock": {"frozen_at": frozen_at}}).apply(provider)
    assert provider.clock.frozen
    assert provider.clock.now() == T2030


def test_frozen_at_now_and_advance() -> None:
    provider = Provider(clock=Clock(frozen_at=T2030))
    provider.clock.unfreeze()
    Scenario.from_mapping({"clock": {"frozen_at": "now", "advance": 3600}}).apply(provider)
    assert provider.clock.frozen
    stopped = provider.clock.now()
    assert provider.clock.now() == stopped
    # "now" is the provider's now: an hour later after the advance.
    assert stopped >= T2030 + 3600


def test_offset_and_advance_add_to_a_running_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mockauth.clock, "time", SimpleNamespace(time=lambda: float(T2030)))
    provider = Provider()
    provider.clock.advance(10)  # what the test did before stays
    Scenario.from_mapping({"clock": {"offset": -120, "advance": 30}}).apply(provider)
    assert not provider.clock.frozen
    assert provider.clock.now() == T2030 + 10 - 120 + 30


def test_a_clock_that_cannot_move_is_an_error() -> None:
    class Fixed:
        def now(self) -> float:
            return float(T2030)

    provider = Provider(clock=Fixed())
    scenario = Scenario.from_mapping({"clock": {"offset": 5}, "rules": [{"status": 503}]})
    with pytest.raises(ConfigError, match=r"^clock: the provider's clock .* cannot be moved"):
        scenario.apply(provider)
    assert provider.rules == []


def test_rotate_keys_actions() -> None:
    provider = Provider()
    before = provider.keys.active().kid
    Scenario.from_mapping({"rotate_keys": True}).apply(provider)
    assert provider.keys.active().kid != before
    assert before in {k["kid"] for k in provider.jwks()["keys"]}
    es256 = provider.keys.active("ES256").kid
    Scenario.from_mapping({"rotate_keys": "ES256"}).apply(provider)
    assert provider.keys.active("ES256").kid != es256


def test_rotate_client_secret_with_a_chosen_secret() -> None:
    provider = new_provider()
    Scenario.from_mapping({"rotate_client_secret": {"svc": "chosen-secret"}}).apply(provider)
    with provider.httpx_client() as http:
        assert client_credentials(http, provider).status_code == 401
        assert client_credentials(http, provider, "chosen-secret").status_code == 200


def test_revoke_tokens_action() -> None:
    provider = new_provider()
    with provider.httpx_client() as http:
        token = password_grant(http, provider).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert http.get(provider.endpoint("userinfo"), headers=bearer).status_code == 200
        Scenario.from_mapping({"revoke_tokens": {"user": "alice"}}).apply(provider)
        assert http.get(provider.endpoint("userinfo"), headers=bearer).status_code == 401


def test_an_action_that_cannot_apply_changes_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path / "rotate.toml",
        """
        rotate_keys = true
        rotate_client_secret = ["nobody"]
        [clock]
        offset = 300
        [[rules]]
        status = 503
        """,
    )
    provider = new_provider()
    kid = provider.keys.active().kid
    with pytest.raises(ConfigError) as caught:
        load_scenario(path).apply(provider)
    assert str(caught.value).startswith(f"{path}: rotate_client_secret: no client 'nobody'")
    assert provider.rules == []
    assert provider.keys.active().kid == kid
    assert repr(provider.clock).startswith("<Clock offset=+0.000s")


def test_rotate_client_secret_of_a_public_client_is_an_error() -> None:
    provider = Provider()
    provider.add_client(client_id="spa", public=True, redirect_uris=["http://localhost:3000/cb"])
    with pytest.raises(ConfigError, match="'spa' is public"):
        Scenario.from_mapping({"rotate_client_secret": ["spa"]}).apply(provider)


# --- errors name the file and the key -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('rule = []', "rule", "unknown key; did you mean 'rules'?"),
        ('descripton = "x"\nrules = [{status = 503}]', "descripton",
         "unknown key; did you mean 'description'?"),
        ("description = 5", "description", "expected a string"),
        ('rules = {status = 503}', "rules", "expected a list"),
        ("[[rules]]\nstatus = 503\n[[rules]]\nendpoint = \"token\"\nsequence = [true, \"real\"]",
         "rules[1].sequence[0]", ""),
        ("[[rules]]\nendpoint = \"tokn\"\nstatus = 503", "rules[0].endpoint", "'tokn'"),
        ("[[rules]]\nendpoint = \"token\"\nstaus = 503", "rules[0].staus",
         "unknown key; did you mean 'status'?"),
        ("[[rules]]\nendpoint = \"token\"\ntimes = 2", "rules[0]", "fault"),
        ("[[rules]]\nstatus = 503\ntimes = 0", "rules[0].times", "at least 1"),
        ("[clock]\nofset = 300", "clock.ofset", "unknown key; did you mean 'offset'?"),
        ('[clock]\noffset = "five"', "clock.offset", "expected a number of seconds"),
        ("[clock]\noffset = nan", "clock.offset", "expected a number of seconds"),
        ("[clock]\noffset = true", "clock.offset", "expected a number of seconds"),
        ("[clock]", "clock", "give offset, frozen_at, advance"),
        ("[clock]\nfrozen_at = 2030-01-01T00:00:00", "clock.frozen_at", "give a time zone"),
        ("[clock]\nfrozen_at = 2030-01-01", "clock.frozen_at", "a date needs a time"),
        ('[clock]\nfrozen_at = "soon"', "clock.frozen_at", "not an RFC 3339 date-time"),
        ("[clock]\nfrozen_at = 0\noffset = 5", "clock.offset", "with frozen_at, use advance"),
        ('rotate_keys = "RS257"', "rotate_keys", "'RS257' is not one of"),
        ('rotate_keys = ["ES256", "XX"]', "rotate_keys[1]", "'XX' is not one of"),
        ("rotate_client_secret = [1]", "rotate_client_secret[0]", "expected a non-empty string"),
        ("rotate_client_secret = { web = 5 }", "rotate_client_secret.web", "non-empty string"),
        ('rotate_client_secret = "web"', "rotate_client_secret", "expected a list of client ids"),
        ('revoke_tokens = { usr = "x" }', "revoke_tokens.usr",
         "unknown key; did you mean 'user'?"),
        ("revoke_tokens = [{}]", "revoke_tokens[0]", "give user and/or client"),
        ('description = "nothing"', "", "the scenario does nothing"),
        ("", "", "the scenario does nothing"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = write(tmp_path / "flaky.toml", text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert message in caught.value.message
    prefix = f"{path}: {key}: " if key else f"{path}: "
    assert str(caught.value).startswith(prefix)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.toml", "rules = [", "invalid TOML"),
        ("bad.json", "{", "invalid JSON"),
        ("bad.yaml", "rules: [", "invalid YAML"),
        ("list.yaml", "- 1\n- 2", "the top level must be a table"),
        ("bad.ini", "[rules]", "unknown file type"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: ") + ".*" + message):
        load_scenario(path)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load_scenario(tmp_path / "nope.toml")


def test_from_mapping_errors_have_no_file() -> None:
    with pytest.raises(ConfigError) as caught:
        Scenario.from_mapping({"rules": [{"endpoint": "token", "sequence": [503, True]}]})
    assert caught.value.source is None
    assert str(caught.value).startswith("rules[0].sequence[1]: ")


# --- pytest: marker, fixture, option ------------------------------------------------------

PLUGIN = ("-p", "no:mockauth", "-p", "mockauth.pytest_plugin", "-p", "no:cacheprovider")

INNER_HELPERS = """
import httpx

SECRET = "svc-secret-0123456789-abcdefghij"


def add_service(provider):
    provider.add_client(client_id="svc", client_secret=SECRET, grant_types=["client_credentials"])


def token_status(provider):
    return httpx.post(
        provider.endpoint("token"), data={"grant_type": "client_credentials"},
        auth=("svc", SECRET), timeout=10,
    ).status_code
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with helpers, and the library under ``scenarios/``."""
    pytester.makepyfile(inner_helpers=INNER_HELPERS)
    pytester.syspathinsert()
    shutil.copytree(LIBRARY_DIR, pytester.path / "scenarios")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGIN, *args, timeout=120)


def test_marker_scenarios_relative_to_the_test_file(inner: pytest.Pytester) -> None:
    sub = inner.mkpydir("sub")
    shutil.copy(LIBRARY_DIR / "flaky-token-endpoint.toml", sub / "local-flaky.toml")
    (sub / "test_marked.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from inner_helpers import add_service, token_status

            @pytest.mark.mockauth(scenarios=["local-flaky.toml"], seed=3)
            def test_flaky(mockauth):
                assert mockauth.config.seed == 3  # fields and scenarios together
                add_service(mockauth)
                assert [token_status(mockauth) for _ in range(3)] == [503, 503, 200]

            @pytest.mark.mockauth(scenarios="../scenarios/provider-outage.toml")
            def test_single_path_up_a_level(mockauth):
                add_service(mockauth)
                assert token_status(mockauth) == 503

            def test_unmarked_is_untouched(mockauth):
                add_service(mockauth)
                assert mockauth.rules == []
                assert token_status(mockauth) == 200
            """
        )
    )
    result = run(inner)
    result.assert_outcomes(passed=3)


def test_class_and_function_marker_scenarios_add_up(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from mockauth import Scenario

        SKEW = Scenario.from_mapping({"clock": {"offset": 300}})

        @pytest.mark.mockauth(scenarios=["scenarios/flaky-token-endpoint.toml"])
        class TestMarked:
            @pytest.mark.mockauth(scenarios=[SKEW, "scenarios/slow-jwks.toml"])
            def test_both(self, mockauth):
                names = [r.name for r in mockauth.rules]
                assert names == ["flaky token endpoint", "slow jwks"]
                mockauth.rules[0].strict = False
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_an_unused_strict_scenario_rule_fails_the_test_at_teardown(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import pytest
        from inner_helpers import add_service, token_status

        @pytest.mark.mockauth(scenarios=["scenarios/flaky-token-endpoint.toml"])
        def test_gives_up_after_one_try(mockauth):
            add_service(mockauth)
            assert token_status(mockauth) == 503
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*flaky token endpoint*expected 3 matching request(s), got 1*"])


def test_a_bad_marker_scenario_names_file_and_key(inner: pytest.Pytester) -> None:
    write(inner.path / "bad.toml", '[[rules]]\nendpoint = "token"\nstaus = 503\n')
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.mockauth(scenarios=["bad.toml"])
        def test_bad(mockauth):
            pass

        @pytest.mark.mockauth(scenarios=[42])
        def test_not_a_path(mockauth):
            pass

        def test_good(mockauth):
            pass
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.mockauth: *bad.toml: rules[[]0].staus: unknown key; "
            "did you mean 'status'?*",
            "*@pytest.mark.mockauth: scenarios: expected a file or a Scenario, got 42*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_mockauth_scenarios_fixture_overridden_in_a_conftest(inner: pytest.Pytester) -> None:
    inner.makeconftest(
        """
        import pytest
        from mockauth import Scenario

        @pytest.fixture
        def mockauth_scenarios():
            return [
                "scenarios/expired-refresh-token.toml",  # relative to the rootdir
                Scenario.from_mapping({"rules": [{"endpoint": "jwks", "status": 500}]}),
            ]
        """
    )
    inner.makepyfile(
        """
        import httpx
        import pytest

        def test_applied_to_each_provider(mockauth):
            assert [r.name for r in mockauth.rules] == ["expired refresh token", None]
            assert httpx.get(mockauth.endpoint("jwks")).status_code == 500

        @pytest.mark.mockauth(scenarios=["scenarios/slow-jwks.toml"])
        def test_fixture_first_then_marker(mockauth):
            names = [r.name for r in mockauth.rules]
            assert names == ["expired refresh token", None, "slow jwks"]
        """
    )
    run(inner).assert_outcomes(passed=2)


SKEWED_TEST = """
import time

def test_first(mockauth):
    assert mockauth.clock.now() - time.time() > 200

def test_second(mockauth):
    assert mockauth.clock.now() - time.time() > 200
    assert [r.name for r in mockauth.rules] == ["provider outage"]
"""


def test_mockauth_scenario_option(inner: pytest.Pytester) -> None:
    inner.makepyfile(SKEWED_TEST)
    result = run(
        inner,
        "--mockauth-scenario",
        "scenarios/clock-skew.toml",
        "--mockauth-scenario",
        str(inner.path / "scenarios" / "provider-outage.toml"),
    )
    result.assert_outcomes(passed=2)


def test_mockauth_scenarios_ini(inner: pytest.Pytester) -> None:
    inner.makeini(
        """
        [pytest]
        mockauth_scenarios =
            scenarios/clock-skew.toml
            scenarios/provider-outage.toml
        """
    )
    inner.makepyfile(SKEWED_TEST)
    run(inner).assert_outcomes(passed=2)


def test_a_bad_scenario_option_names_file_and_key(inner: pytest.Pytester) -> None:
    write(inner.path / "bad.toml", "[clock]\nofset = 1\n")
    inner.makepyfile("def test_it(mockauth):\n    pass\n")
    result = run(inner, "--mockauth-scenario", "bad.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*mockauth_scenarios: *bad.toml: clock.ofset: unknown key; did you mean 'offset'?*"]
    )


def test_a_scenario_that_cannot_apply_fails_the_test(inner: pytest.Pytester) -> None:
    write(inner.path / "rotate.toml", 'rotate_client_secret = ["web"]\n')
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.mockauth(scenarios=["rotate.toml"])
        def test_no_such_client(mockauth):
            pass

        @pytest.mark.mockauth(
            scenarios=["rotate.toml"],
            clients=[{"client_id": "web", "client_secret": "old-secret-0123456789"}],
        )
        def test_with_the_client(mockauth):
            assert mockauth.client_secret("web") != "old-secret-0123456789"
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*mockauth scenario: *rotate.toml: rotate_client_secret: *web*"])


def test_the_marker_documents_scenarios(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--markers")
    result.stdout.fnmatch_lines(["*mockauth(config=None, /, [*], scenarios=()*"])
    result = pytester.runpytest_subprocess(*PLUGIN, "--help")
    result.stdout.fnmatch_lines(["*--mockauth-scenario=FILE*", "*mockauth_scenarios*"])


# --- mockauth serve --scenario ----------------------------------------------------------------

DEMO_SERVICE = ("demo-service", "demo-service-secret-for-tests-only-0123")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    with ExitStack() as stack:
        yield lambda *args: stack.enter_context(ServeProcess(*args, cwd=tmp_path))


def token_status(url: str, auth: tuple[str, str] = DEMO_SERVICE) -> httpx.Response:
    return httpx.post(f"{url}/token", data={"grant_type": "client_credentials"}, auth=auth)


def test_serve_with_scenarios(serve: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "frozen.toml",
        """
        description = "Provider time stands at 2030-01-01."
        [clock]
        frozen_at = 2030-01-01T00:00:00Z
        """,
    )
    flaky = LIBRARY_DIR / "flaky-token-endpoint.toml"
    served = serve("--scenario", str(flaky), "--scenario", "frozen.toml")
    url, text = served.url, served.text
    assert "  scenario   flaky-token-endpoint: The token endpoint answers 503 twice" in text
    assert f"    file     {flaky}" in text
    assert "  scenario   frozen: Provider time stands at 2030-01-01." in text
    assert text.index("Scenarios") < text.index("Press Ctrl-C")
    issuer = f"{url}/default"
    statuses = [token_status(issuer).status_code for _ in range(2)]
    response = token_status(issuer)
    assert [*statuses, response.status_code] == [503, 503, 200]
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["iat"] == T2030


def test_serve_applies_scenarios_to_every_issuer(serve: Any, tmp_path: Path) -> None:
    config = write(
        tmp_path / "two.toml",
        """
        [[issuers]]
        issuer_id = "a"
        [[issuers.clients]]
        client_id = "svc"
        client_secret = "svc-secret-0123456789"
        grant_types = ["client_credentials"]

        [[issuers]]
        issuer_id = "b"
        [[issuers.clients]]
        client_id = "svc"
        client_secret = "svc-secret-0123456789"
        grant_types = ["client_credentials"]
        """,
    )
    flaky = str(LIBRARY_DIR / "flaky-token-endpoint.toml")
    url = serve("--config", str(config), "--scenario", flaky).url
    auth = ("svc", "svc-secret-0123456789")
    # Each issuer has its own copy of the rule, with its own count.
    a = [token_status(f"{url}/a", auth).status_code for _ in range(2)]
    b = [token_status(f"{url}/b", auth).status_code for _ in range(3)]
    assert (a, b) == ([503, 503], [503, 503, 200])
    assert token_status(f"{url}/a", auth).status_code == 200


def test_serve_banner_shows_a_rotated_secret(serve: Any, tmp_path: Path) -> None:
    write(tmp_path / "rotate.toml", 'rotate_client_secret = ["demo-service"]\n')
    served = serve("--scenario", "rotate.toml")
    url, banner = served.url, served.banner
    client_line = banner.index("  client     demo-service  (confidential)")
    label, new = banner[client_line + 1].split()
    assert label == "secret"
    assert new != DEMO_SERVICE[1]
    issuer = f"{url}/default"
    assert token_status(issuer).status_code == 401
    assert token_status(issuer, ("demo-service", new)).status_code == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[rules]]\nendpoint = "token"\nsequence = [true]\n', "rules[0].sequence[0]: "),
        ("[clock]\nofset = 1\n", "clock.ofset: unknown key; did you mean 'offset'?"),
        ('rotate_client_secret = ["nobody"]\n', "rotate_client_secret: no client 'nobody'"),
    ],
)
def test_serve_with_a_bad_scenario_exits_2(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path / "bad.toml", text)
    run = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--scenario", "bad.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert f"mockauth: error: bad.toml: {expected}" in run.stderr
    assert "Listening" not in run.stdout
    assert "Traceback" not in run.stderr


def test_serve_with_a_missing_scenario_exits_2(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--scenario", "nope.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "mockauth: error: nope.yaml: cannot read" in run.stderr


def test_the_readme_example_file_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Scenario files") :]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    scenario = load_scenario(write(tmp_path / "example.toml", example[1]))
    assert len(scenario.rules) == 2
    assert scenario.clock == mockauth.scenarios.files.ClockSettings(offset=300)
    provider = new_provider()
    scenario.apply(provider)
    with provider.httpx_client() as http:
        statuses = [client_credentials(http, provider).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
