"""Capabilities are registered once and everything else is read off the registries.

A grant, a client authentication method, an endpoint and a fault kind are
registered here through the registries alone, without touching any other
module, and each one then shows up in discovery metadata, is accepted by the
config model, has its secrets redacted in the journal, can be matched by a
scenario rule and appears in the admin API's OpenAPI document.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest

from mockauth import ClientConfig, ConfigError, Provider, Scenario
from mockauth.admin import openapi
from mockauth.clientauth import ClientAuthMethod, register_method
from mockauth.clients import Client
from mockauth.endpoints import Endpoint, register_endpoint
from mockauth.errors import InvalidClient, InvalidGrant
from mockauth.faults import Fault, FaultContext, HttpFault, build, register_fault
from mockauth.grants import Grant, register_grant
from mockauth.grants.common import new_grant_id
from mockauth.http import Params, Request, Response, json_response
from mockauth.journal import REDACTED
from mockauth.registry import AUTH_METHODS, ENDPOINTS, FAULTS, GRANTS
from mockauth.scenarios import Match, Rule
from mockauth.services import Services
from mockauth.tokens.response import TokenGrant, TokenResponse, issue

MAGIC = "urn:example:params:oauth:grant-type:magic-word"


class MagicWordGrant(Grant):
    """Tokens for whoever knows the client's magic word."""

    grant_type = MAGIC
    secret_params = frozenset({"magic_word"})

    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        if params.require("magic_word") != "please":
            raise InvalidGrant("that is not the magic word")
        grant = TokenGrant(
            client=client,
            sub=client.client_id,
            scope=(),
            audience=(client.client_id,),
            grant_id=new_grant_id(),
            auth_time=None,
            user_bound=False,
        )
        return issue(s, grant)


class TeamKeyAuth(ClientAuthMethod):
    """The client's secret sent as ``team_key`` beside ``client_id``."""

    name = "team_key"
    secret_params = frozenset({"team_key"})
    signing_algs = ("ES256",)

    def presented(self, request: Request, params: Params) -> bool:
        return params.get("team_key") is not None

    def authenticate(self, s: Services, request: Request, params: Params) -> Client:
        client = s.clients.get(params.require("client_id"))
        secret = (client.client_secret or "") if client is not None else ""
        if client is None or not hmac.compare_digest(secret, params.require("team_key")):
            raise InvalidClient("wrong team key")
        return client


def ping(s: Services, request: Request) -> Response:
    """A toy endpoint: answers who it is for."""
    return json_response({"pong": s.issuer, "echo": request.args.get("say", "")})


@dataclass
class Teapot(Fault):
    """RFC 2324 §2.3.2: the server is a teapot."""

    kind: ClassVar[str] = "teapot"
    keys: ClassVar[tuple[str, ...]] = ("teapot",)
    schema: ClassVar[dict[str, Any]] = {"teapot": {"type": "boolean"}}

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Any) -> Fault:
        data.pop("teapot")
        return cls()

    def respond(self, ctx: FaultContext) -> Response:
        return json_response({"error": "i_am_a_teapot"}, 418)


def test_register_fault_refuses_a_kind_that_cannot_be_data() -> None:
    @dataclass
    class NoKeys(Fault):
        kind: ClassVar[str] = "no_keys"

        def respond(self, ctx: FaultContext) -> Response:
            return json_response({}, 200)

    class NoBuilder(NoKeys):
        kind: ClassVar[str] = "no_builder"
        keys: ClassVar[tuple[str, ...]] = ("no_builder",)

    with pytest.raises(TypeError, match="NoKeys needs keys"):
        register_fault(NoKeys)
    with pytest.raises(TypeError, match="NoBuilder needs a from_table"):
        register_fault(NoBuilder)
    assert "no_keys" not in FAULTS
    assert "no_builder" not in FAULTS


@pytest.fixture
def registered() -> Iterator[None]:
    """The four capabilities, registered for one test and unregistered after it."""
    register_grant(MagicWordGrant())
    register_method(TeamKeyAuth())
    register_endpoint(
        Endpoint(
            "ping",
            "/ping",
            ("GET",),
            ping,
            metadata_key="ping_endpoint",
            secret_params=frozenset({"ping_secret"}),
            error_codes=frozenset({"ping_refused"}),
        )
    )
    register_fault(Teapot)
    try:
        yield
    finally:
        GRANTS.unregister(MAGIC)
        AUTH_METHODS.unregister("team_key")
        ENDPOINTS.unregister("ping")
        FAULTS.unregister("teapot")


@pytest.fixture
def team(registered: None) -> Provider:
    provider = Provider()
    provider.add_client(
        client_id="team",
        client_secret="team-secret-0123456789-abcdef",
        grant_types=[MAGIC, "client_credentials"],
        token_endpoint_auth_method="team_key",
    )
    return provider


def test_they_appear_in_the_metadata(team: Provider) -> None:
    doc = team.metadata()
    assert MAGIC in doc["grant_types_supported"]
    for key in ("token", "introspection", "revocation"):
        assert "team_key" in doc[f"{key}_endpoint_auth_methods_supported"]
        assert "ES256" in doc[f"{key}_endpoint_auth_signing_alg_values_supported"]
    assert doc["ping_endpoint"] == team.issuer + "/ping"
    assert team.endpoint("ping") == team.issuer + "/ping"


def test_none_of_them_is_there_without_registration() -> None:
    doc = Provider().metadata()
    assert MAGIC not in doc["grant_types_supported"]
    assert "team_key" not in doc["token_endpoint_auth_methods_supported"]
    # only the built-in JWT methods' algorithms (private_key_jwt, client_secret_jwt)
    from mockauth.jose import ASYMMETRIC_ALGS, SYMMETRIC_ALGS

    assert doc["token_endpoint_auth_signing_alg_values_supported"] == [
        *ASYMMETRIC_ALGS,
        *SYMMETRIC_ALGS,
    ]
    assert "ping_endpoint" not in doc
    with pytest.raises(ConfigError, match="did you mean 'client_credentials'"):
        ClientConfig(grant_types=["client_credential"])


def test_the_config_model_accepts_them(registered: None) -> None:
    data = {"client_id": "a", "grant_types": [MAGIC], "token_endpoint_auth_method": "team_key"}
    parsed = Provider(clients=[data]).client("a")
    assert parsed.grant_types == (MAGIC,)
    assert parsed.auth_methods() == ("team_key",)
    scenario = Scenario.from_mapping({"rules": [{"endpoint": "ping", "teapot": True}]})
    assert scenario.rules[0]["endpoint"] == "ping"


def test_a_registered_grant_and_method_are_served_and_redacted(team: Provider) -> None:
    with team.httpx_client() as http:
        ok = http.post(
            "/token",
            data={
                "grant_type": MAGIC,
                "magic_word": "please",
                "client_id": "team",
                "team_key": "team-secret-0123456789-abcdef",
            },
        )
        wrong = http.post(
            "/token",
            data={
                "grant_type": MAGIC,
                "magic_word": "now",
                "client_id": "team",
                "team_key": "team-secret-0123456789-abcdef",
            },
        )
        bad_key = http.post(
            "/token",
            data={
                "grant_type": MAGIC,
                "magic_word": "please",
                "client_id": "team",
                "team_key": "guess",
            },
        )
    assert ok.status_code == 200, ok.text
    assert ok.json()["token_type"] == "Bearer"
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert (bad_key.status_code, bad_key.json()["error"]) == (401, "invalid_client")
    recorded = team.calls.filter("token", grant_type=MAGIC)
    assert len(recorded) == 3
    for call in recorded:
        assert call.params["magic_word"] == REDACTED
        assert call.params["team_key"] == REDACTED
        assert call.client_id == "team"


def test_a_registered_endpoint_is_served_journaled_and_redacted(team: Provider) -> None:
    with team.httpx_client() as http:
        r = http.get("/ping", params={"say": "hi", "ping_secret": "s3cret"})
        options = http.options("/ping")
        post = http.post("/ping")
    assert r.json() == {"pong": team.issuer, "echo": "hi"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert options.headers["Allow"] == "GET, OPTIONS"
    assert (post.status_code, post.headers["Allow"]) == (405, "GET")
    call = team.calls.assert_called("ping", method="GET", times=1)[0]
    assert call.params == {"say": "hi", "ping_secret": REDACTED}


def test_scenario_rules_match_them(team: Provider) -> None:
    team.fail("ping", status=503, times=1)
    team.fail("token", grant_type=MAGIC, error="invalid_grant", times=1)
    team.fail("ping", error="ping_refused", times=1)  # the endpoint's own error code
    team.add_rule(Rule(Match(endpoint="ping"), build({"teapot": True})))
    with team.httpx_client() as http:
        statuses = [http.get("/ping").status_code for _ in range(3)]
        token = http.post(
            "/token",
            data={
                "grant_type": MAGIC,
                "magic_word": "please",
                "client_id": "team",
                "team_key": "x",
            },
        )
        params = {
            "grant_type": MAGIC,
            "magic_word": "please",
            "client_id": "team",
            "team_key": "team-secret-0123456789-abcdef",
        }
        team.fail("token", params={"team_key": "team-secret-0123456789-abcdef"}, status=429)
        matched_by_secret = http.post("/token", data=params)
    assert statuses == [503, 400, 418]
    assert token.json()["error"] == "invalid_grant"  # scripted before the key was checked
    assert matched_by_secret.status_code == 429
    team.check_rules()


def test_error_codes_are_checked_against_the_endpoint(team: Provider) -> None:
    with pytest.raises(ConfigError, match="'ping_refused' is not an error code of the token"):
        team.fail("token", error="ping_refused")
    with pytest.raises(ConfigError, match="did you mean 'ping_refused'"):
        team.fail("ping", error="ping_refused_")


def test_the_openapi_document_lists_them(registered: None) -> None:
    schemas = openapi()["components"]["schemas"]
    rule = schemas["RuleInput"]["properties"]
    assert "ping" in rule["endpoint"]["enum"]
    assert rule["teapot"] == {"type": "boolean"}
    client = schemas["ClientInput"]["properties"]
    assert MAGIC in client["grant_types"]["oneOf"][0]["items"]["enum"]
    assert "team_key" in client["token_endpoint_auth_method"]["oneOf"][0]["enum"]


def test_unregistered_capabilities_are_gone_again() -> None:
    # The fixture above cleaned up after each test; nothing lingers.
    assert "ping" not in ENDPOINTS
    assert "teapot" not in FAULTS
    provider = Provider()
    with provider.httpx_client() as http:
        assert http.get("/ping").status_code == 404
    with pytest.raises(ConfigError, match="'ping' is not one of"):
        Match(endpoint="ping")
    assert isinstance(build({"status": 503}), HttpFault)
    with pytest.raises(ConfigError, match="teapot: unknown key"):
        build({"teapot": True})


def test_a_capability_is_registered_once() -> None:
    from mockauth.errors import MockauthError

    with pytest.raises(MockauthError, match="already registered"):
        register_grant(GRANTS.get("password"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        register_endpoint("not an endpoint")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must start with '/'"):
        register_endpoint(Endpoint("bad", "bad", ("GET",), ping))
    with pytest.raises(ValueError, match="/token is the token endpoint's"):
        register_endpoint(Endpoint("bad", "/token", ("GET",), ping))
    assert "bad" not in ENDPOINTS


def test_the_live_server_serves_a_registered_endpoint(team: Provider) -> None:
    with team.serve() as server, httpx.Client() as http:
        r = http.get(team.endpoint("ping"))
        assert (r.status_code, r.json()["pong"]) == (200, team.issuer)
        assert server.url in team.issuer


def test_the_built_ins_are_listed_in_discovery_order() -> None:
    assert ENDPOINTS.names() == (
        "discovery", "jwks", "authorize", "token", "userinfo", "introspect", "revoke",
        "end_session", "device_authorization", "device_verification", "registration",
        "registration_client", "par", "resource", "resource_metadata", "login",
    )  # fmt: skip
    assert GRANTS.names() == (
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    )
    assert AUTH_METHODS.names() == (
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt", "client_secret_jwt",
    )  # fmt: skip
    keys = [k for k in Provider().metadata() if k.endswith(("_endpoint", "_uri"))]
    assert keys == [
        "jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
        "introspection_endpoint", "revocation_endpoint", "end_session_endpoint",
        "device_authorization_endpoint", "registration_endpoint",
        "pushed_authorization_request_endpoint",
    ]  # fmt: skip
