"""The admin HTTP API (``/_mockauth/``): every route over a live server, its
guards, its errors, its OpenAPI description, and the README's curl examples.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client as WsgiClient

from mockauth import LiveServer, Provider
from mockauth.admin import ADMIN_PREFIX, ROUTES, TOKEN_HEADER, Admin, is_loopback, openapi
from mockauth.http import MAX_BODY
from mockauth.server import Dispatcher

from .helpers import WEB_REDIRECT
from .serve import ServeProcess

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 30
SERVICE_SECRET = "service-secret-0123456789-abcdefgh"
D = "/issuers/default"


# --- helpers ------------------------------------------------------------------------------------


class AdminClient:
    """Calls the admin API of a live server with the token, and checks answers."""

    def __init__(self, server: LiveServer, token: str) -> None:
        assert server.admin_url is not None
        self.url = server.admin_url
        self.http = httpx.Client(base_url=self.url, headers={TOKEN_HEADER: token}, timeout=10)

    def __call__(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["json"] = body
        return self.http.request(method, path, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any) -> Any:
        response = self(method, path, body, **kw)
        assert response.status_code == status, (response.status_code, response.text)
        if status == 204:
            assert response.content == b""
            return None
        assert response.headers["content-type"] == "application/json"
        return response.json()

    def error(
        self, method: str, path: str, body: Any = None, status: int = 400, **kw: Any
    ) -> dict[str, Any]:
        response = self(method, path, body, **kw)
        return check_error(response.status_code, response.text, status)


def check_error(got: int, text: str, status: int) -> dict[str, Any]:
    assert got == status, (got, text)
    data = json.loads(text)
    assert set(data) == {"error", "key", "message"}, data
    assert isinstance(data["message"], str)
    assert data["message"]
    return dict(data)


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def server(provider: Provider, token: str) -> Iterator[LiveServer]:
    """The conftest provider (web, spa, service; alice, bob) served with the admin API."""
    with LiveServer([provider], admin_token=token) as live:
        yield live  # leaving the block re-raises any error the server hit (a 500)


@pytest.fixture
def admin(server: LiveServer, token: str) -> Iterator[AdminClient]:
    client = AdminClient(server, token)
    try:
        yield client
    finally:
        client.http.close()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    """Plain HTTP to the provider endpoints of the live server."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def client_credentials(
    http: httpx.Client, client_id: str = "service", secret: str = SERVICE_SECRET
) -> httpx.Response:
    return http.post(
        "/default/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def password_grant(http: httpx.Client, username: str, password: str) -> httpx.Response:
    return http.post(
        "/default/token",
        data={"grant_type": "password", "username": username, "password": password,
              "scope": "openid email"},
        auth=("web", "web-secret-0123456789-abcdefghijkl"),
    )  # fmt: skip


def userinfo(http: httpx.Client, access_token: str) -> httpx.Response:
    return http.get("/default/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def wsgi(dispatcher: Dispatcher) -> WsgiClient:
    return WsgiClient(dispatcher)


LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


# --- the guards ---------------------------------------------------------------------------------


def test_without_the_token_401(server: LiveServer) -> None:
    assert server.admin_url is not None
    response = httpx.get(server.admin_url + "/issuers")
    data = check_error(response.status_code, response.text, 401)
    assert data["key"] == TOKEN_HEADER
    assert response.headers["WWW-Authenticate"].startswith("MockauthAdmin ")
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_token_403(server: LiveServer, token: str) -> None:
    assert server.admin_url is not None
    for wrong in (token + "x", token[:-1], "", "x" * 300, "Bearer " + token):
        response = httpx.get(server.admin_url + "/issuers", headers={TOKEN_HEADER: wrong})
        check_error(response.status_code, response.text, 403)


def test_a_non_ascii_token_is_403_not_500(provider: Provider, token: str) -> None:
    dispatcher = Dispatcher([provider])
    dispatcher.admin = Admin(token)
    response = wsgi(dispatcher).get(
        "/_mockauth/issuers", headers={TOKEN_HEADER: "caf\xe9"}, environ_base=LOOPBACK
    )
    check_error(response.status_code, response.get_data(as_text=True), 403)


def test_the_right_token_200(admin: AdminClient) -> None:
    data = admin.ok("GET", "/issuers")
    assert [i["issuer_id"] for i in data["issuers"]] == ["default"]


def test_unknown_routes_need_the_token_too(server: LiveServer) -> None:
    assert server.admin_url is not None
    response = httpx.get(server.admin_url + "/no/such/route")
    check_error(response.status_code, response.text, 401)  # nothing is revealed without it


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "192.0.2.1", "172.17.0.1", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1", "", "x"],
)
def test_non_loopback_clients_get_403_even_with_the_token(
    provider: Provider, token: str, address: str
) -> None:
    # The peer address is simulated in the WSGI environ: no traffic leaves this machine.
    dispatcher = Dispatcher([provider])
    dispatcher.admin = Admin(token)
    client = wsgi(dispatcher)
    for path in ("/issuers", "/openapi.json", "/reset"):
        response = client.get(
            ADMIN_PREFIX + path,
            headers={TOKEN_HEADER: token},
            environ_base={"REMOTE_ADDR": address},
        )
        data = check_error(response.status_code, response.get_data(as_text=True), 403)
        assert "loopback" in data["message"]
    # ... and a forwarding header does not help
    response = client.get(
        ADMIN_PREFIX + "/issuers",
        headers={TOKEN_HEADER: token, "X-Forwarded-For": "127.0.0.1"},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 403


def test_no_remote_address_at_all_is_403(provider: Provider, token: str) -> None:
    dispatcher = Dispatcher([provider])
    dispatcher.admin = Admin(token)
    response = wsgi(dispatcher).get("/_mockauth/issuers", headers={TOKEN_HEADER: token})
    assert response.status_code == 403


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_clients_are_served(provider: Provider, token: str, address: str) -> None:
    assert is_loopback(address)
    dispatcher = Dispatcher([provider])
    dispatcher.admin = Admin(token)
    response = wsgi(dispatcher).get(
        "/_mockauth/issuers", headers={TOKEN_HEADER: token}, environ_base={"REMOTE_ADDR": address}
    )
    assert response.status_code == 200


def test_the_openapi_document_needs_no_token(server: LiveServer) -> None:
    assert server.admin_url is not None
    response = httpx.get(server.admin_url + "/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"


def test_no_admin_api_unless_asked(provider: Provider) -> None:
    with LiveServer([provider]) as live:
        assert live.admin_url is None
        response = httpx.get(live.url + "/_mockauth/issuers", headers={TOKEN_HEADER: "x"})
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"  # the dispatcher's: no such issuer


def test_the_pytest_fixture_server_has_no_admin_api(mockauth_server: LiveServer) -> None:
    assert mockauth_server.admin_url is None
    assert mockauth_server.dispatcher.admin is None


@pytest.mark.parametrize("bad", ["", "has space", "new\nline", "é", "x" * 257])
def test_a_token_must_fit_in_a_header(bad: str) -> None:
    with pytest.raises(ValueError, match="admin_token"):
        LiveServer([], admin_token=bad)


def test_admin_requests_are_not_journaled(admin: AdminClient, provider: Provider) -> None:
    admin.ok("GET", f"{D}/clients")
    admin.ok("DELETE", f"{D}/calls", status=204)
    assert len(provider.calls) == 0


# --- clients ------------------------------------------------------------------------------------


def test_clients_add_get_list_remove(admin: AdminClient, http: httpx.Client) -> None:
    listed = admin.ok("GET", f"{D}/clients")["clients"]
    assert [c["client_id"] for c in listed] == ["web", "spa", "service"]

    response = admin("POST", f"{D}/clients", {"grant_types": ["client_credentials"]})
    assert response.status_code == 201, response.text
    created = response.json()
    client_id, secret = created["client_id"], created["client_secret"]
    assert client_id  # generated
    assert secret
    assert response.headers["Location"] == f"{admin.url}{D}/clients/{client_id}"
    assert admin.ok("GET", f"{D}/clients/{client_id}") == created
    assert client_credentials(http, client_id, secret).status_code == 200

    admin.ok("DELETE", f"{D}/clients/{client_id}", status=204)
    assert client_credentials(http, client_id, secret).status_code == 401
    assert admin.error("GET", f"{D}/clients/{client_id}", status=404)["key"] == "client_id"
    assert admin.error("DELETE", f"{D}/clients/{client_id}", status=404)["key"] == "client_id"


def test_a_client_id_with_a_slash(admin: AdminClient) -> None:
    created = admin.ok("POST", f"{D}/clients", {"client_id": "team/app"}, status=201)
    path = f"{D}/clients/{quote(created['client_id'], safe='')}"
    assert admin.ok("GET", path)["client_id"] == "team/app"
    admin.ok("DELETE", path, status=204)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"client_id": "web"}, "client_id"),  # 409 below
        ({"redirect_uris": ["not a uri"]}, "redirect_uris[0]"),
        ({"redirect_uri": [WEB_REDIRECT]}, "redirect_uri"),
        ({"public": "yes"}, "public"),
        ({"grant_types": ["implicit"]}, "grant_types[0]"),
        ({"public": True, "client_secret": "s"}, "client_secret"),
        ({"extra_claims": []}, "extra_claims"),
        ({"client_id": ""}, "client_id"),
    ],
)
def test_bad_clients_name_the_key(admin: AdminClient, body: dict[str, Any], key: str) -> None:
    status = 409 if body == {"client_id": "web"} else 400
    data = admin.error("POST", f"{D}/clients", body, status=status)
    assert data["key"] == key


def test_a_misspelt_key_gets_a_suggestion(admin: AdminClient) -> None:
    data = admin.error("POST", f"{D}/clients", {"redirect_uri": [WEB_REDIRECT]})
    assert "did you mean 'redirect_uris'" in data["message"]


def test_rotate_a_client_secret(admin: AdminClient, http: httpx.Client) -> None:
    rotated = admin.ok("POST", f"{D}/clients/service/rotate_secret")
    assert rotated["client_secret"] not in (None, SERVICE_SECRET)
    assert client_credentials(http).status_code == 401  # the old secret fails
    assert client_credentials(http, "service", rotated["client_secret"]).status_code == 200

    chosen = admin.ok("POST", f"{D}/clients/service/rotate_secret", {"client_secret": "s3cret"})
    assert chosen["client_secret"] == "s3cret"
    assert client_credentials(http, "service", "s3cret").status_code == 200

    assert admin.error("POST", f"{D}/clients/spa/rotate_secret", status=409)["key"] == "client_id"
    assert admin.error("POST", f"{D}/clients/nobody/rotate_secret", status=404)["key"] == (
        "client_id"
    )
    bad = admin.error("POST", f"{D}/clients/service/rotate_secret", {"client_secret": 5})
    assert bad["key"] == "client_secret"


# --- users --------------------------------------------------------------------------------------


def test_users_add_get_list_remove(admin: AdminClient, http: httpx.Client) -> None:
    carol_in = {"username": "carol", "password": "pw", "email": "carol@example.com",
                "claims": {"roles": ["x"]}}  # fmt: skip
    response = admin("POST", f"{D}/users", carol_in)
    assert response.status_code == 201, response.text
    carol = response.json()
    assert carol == {"sub": "carol", "username": "carol", "password": "pw",
                     "claims": {"email": "carol@example.com", "roles": ["x"]}}  # fmt: skip
    assert response.headers["Location"].endswith(f"{D}/users/carol")
    for hint in ("carol", "carol@example.com"):
        assert admin.ok("GET", f"{D}/users/{hint}") == carol
    users = admin.ok("GET", f"{D}/users")["users"]
    assert [u["username"] for u in users] == ["alice", "bob", "carol"]

    assert password_grant(http, "carol", "pw").status_code == 200
    admin.ok("DELETE", f"{D}/users/carol@example.com", status=204)
    assert password_grant(http, "carol", "pw").json()["error"] == "invalid_grant"
    assert admin.error("GET", f"{D}/users/carol", status=404)["key"] == "user"
    assert admin.error("DELETE", f"{D}/users/carol", status=404)["key"] == "user"


def test_a_generated_user(admin: AdminClient) -> None:
    user = admin.ok("POST", f"{D}/users", status=201)
    assert user["username"]
    assert user["password"]
    assert user["claims"]["email"]


@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        ({"username": "alice"}, "username", 409),
        ({"username": ""}, "username", 400),
        ({"username": "x", "claims": {"sub": "y"}}, "claims.sub", 400),
        ({"username": "x", "passwd": "y"}, "passwd", 400),
        ({"username": 5}, "username", 400),
    ],
)
def test_bad_users_name_the_key(
    admin: AdminClient, body: dict[str, Any], key: str, status: int
) -> None:
    assert admin.error("POST", f"{D}/users", body, status=status)["key"] == key


# --- rules and scenarios ------------------------------------------------------------------------


def test_a_scripted_sequence(admin: AdminClient, http: httpx.Client) -> None:
    rule = admin.ok("POST", f"{D}/rules", {"endpoint": "token", "sequence": [503, 503, "real"]},
                    status=201)  # fmt: skip
    assert rule["strict"] is True
    assert rule["used"] == 0
    assert admin.ok("GET", f"{D}/check")["ok"] is False
    assert [client_credentials(http).status_code for _ in range(3)] == [503, 503, 200]
    listed = admin.ok("GET", f"{D}/rules")["rules"]
    assert [(r["id"], r["used"]) for r in listed] == [(rule["id"], 3)]
    assert admin.ok("GET", f"{D}/check") == {"ok": True, "message": None}
    calls = admin.ok("GET", f"{D}/calls")["calls"]
    assert [(c["status"], c["rule"]) for c in calls] == [
        (503, rule["id"]), (503, rule["id"]), (200, rule["id"])
    ]  # fmt: skip


def test_check_names_the_unused_rule(admin: AdminClient, http: httpx.Client) -> None:
    admin.ok("POST", f"{D}/rules", {"name": "never", "endpoint": "userinfo", "status": 500,
                                    "times": 1}, status=201)  # fmt: skip
    client_credentials(http)
    check = admin.ok("GET", f"{D}/check")
    assert check["ok"] is False
    assert "'never'" in check["message"]
    assert "token" in check["message"]  # the near-miss


def test_rules_get_remove_clear(admin: AdminClient, http: httpx.Client) -> None:
    first = admin.ok("POST", f"{D}/rules", {"endpoint": "token", "error": "invalid_grant"},
                     status=201)  # fmt: skip
    second = admin.ok("POST", f"{D}/rules", {"endpoint": "jwks", "status": 502}, status=201)
    assert admin.ok("GET", f"{D}/rules/{first['id']}") == first
    assert client_credentials(http).json()["error"] == "invalid_grant"
    admin.ok("DELETE", f"{D}/rules/{first['id']}", status=204)
    assert client_credentials(http).status_code == 200
    assert admin.error("GET", f"{D}/rules/{first['id']}", status=404)["key"] == "rule_id"
    assert admin.error("DELETE", f"{D}/rules/{first['id']}", status=404)["key"] == "rule_id"
    assert admin.error("GET", f"{D}/rules/abc")["key"] == "rule_id"
    assert [r["id"] for r in admin.ok("GET", f"{D}/rules")["rules"]] == [second["id"]]
    admin.ok("DELETE", f"{D}/rules", status=204)
    assert admin.ok("GET", f"{D}/rules") == {"rules": []}
    assert http.get("/default/jwks").status_code == 200


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"endpoint": "tokn", "status": 503}, "endpoint"),
        ({"endpoint": "token", "times": "2", "status": 503}, "times"),
        ({"endpoint": "token", "times": 0, "status": 503}, "times"),
        ({"endpoint": "token", "sequence": [503, {"status": "x"}]}, "sequence[1]"),
        ({"endpoint": "token", "sequence": "503"}, "sequence"),
        ({"endpoint": "token", "params": {"scope": 1}, "status": 503}, "params"),
        ({"endpoint": "token", "token": "nonsense"}, "token"),
        ({"endpoint": "token", "status": 503, "colour": "red"}, "colour"),
        ({"endpoint": 7, "status": 503}, "endpoint"),
        ({"endpoint": "token", "strict": "yes", "status": 503}, "strict"),
    ],
)
def test_bad_rules_name_the_key(admin: AdminClient, body: dict[str, Any], key: str) -> None:
    data = admin.error("POST", f"{D}/rules", body)
    assert str(data["key"]).startswith(key), data
    assert admin.ok("GET", f"{D}/rules") == {"rules": []}


def test_a_rule_needs_a_fault(admin: AdminClient) -> None:
    data = admin.error("POST", f"{D}/rules", {"endpoint": "token"})
    assert "fault" in data["message"]


def test_a_scenario_as_json(admin: AdminClient, http: httpx.Client, provider: Provider) -> None:
    scenario = {
        "description": "token fails once",
        "rules": [{"endpoint": "token", "status": 503, "times": 1}],
        "clock": {"frozen_at": "2030-01-01T00:00:00Z"},
    }
    loaded = admin.ok("POST", f"{D}/scenario", scenario, status=201)
    assert loaded["description"] == "token fails once"
    assert [r["match"] for r in loaded["rules"]] == [{"endpoint": "token"}]
    assert admin.ok("GET", f"{D}/clock") == {"now": 1893456000.0, "frozen": True}
    assert [client_credentials(http).status_code for _ in range(2)] == [503, 200]


def test_a_scenario_file_as_toml(admin: AdminClient, http: httpx.Client) -> None:
    source = ROOT / "fixtures" / "scenarios" / "flaky-token-endpoint.toml"
    if not source.exists():
        pytest.skip("the scenario library is not there")
    response = admin(
        "POST", f"{D}/scenario", content=source.read_bytes(),
        headers={"Content-Type": "application/toml"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert [client_credentials(http).status_code for _ in range(3)] == [503, 503, 200]


@pytest.mark.parametrize(
    "path", sorted((ROOT / "fixtures" / "scenarios").glob("*.toml")), ids=lambda p: p.stem
)
def test_every_library_scenario_loads_over_the_api(admin: AdminClient, path: Path) -> None:
    response = admin(
        "POST", f"{D}/scenario", content=path.read_bytes(),
        headers={"Content-Type": "application/toml"},
    )  # fmt: skip
    # 409 only when a scenario acts on a client this provider does not have.
    assert response.status_code in (201, 409), response.text


def test_scenario_replace_and_all_or_nothing(admin: AdminClient) -> None:
    admin.ok("POST", f"{D}/rules", {"endpoint": "jwks", "status": 502}, status=201)
    bad = {"rules": [{"endpoint": "token", "status": 503}, {"endpoint": "nope", "status": 1}]}
    data = admin.error("POST", f"{D}/scenario?replace=true", bad)
    assert data["key"].startswith("rules[1].endpoint")
    assert len(admin.ok("GET", f"{D}/rules")["rules"]) == 1  # nothing changed
    good = {"rules": [{"endpoint": "token", "status": 503}]}
    admin.ok("POST", f"{D}/scenario?replace=true", good, status=201)
    assert [r["match"]["endpoint"] for r in admin.ok("GET", f"{D}/rules")["rules"]] == ["token"]
    assert admin.error("POST", f"{D}/scenario?replace=maybe", good)["key"] == "replace"
    assert admin.error("POST", f"{D}/scenario", {"rulez": []})["key"] == "rulez"
    missing = admin.error("POST", f"{D}/scenario", {"rotate_client_secret": ["nobody"]}, status=409)
    assert missing["key"] == "rotate_client_secret"


def test_bad_toml_is_400(admin: AdminClient) -> None:
    response = admin("POST", f"{D}/scenario", content=b"rules = [",
                     headers={"Content-Type": "application/toml"})  # fmt: skip
    assert check_error(response.status_code, response.text, 400)["error"] == "invalid_toml"
    # TOML only where a scenario file is expected
    response = admin("POST", f"{D}/rules", content=b'endpoint = "token"',
                     headers={"Content-Type": "application/toml"})  # fmt: skip
    check_error(response.status_code, response.text, 415)


# --- the clock ----------------------------------------------------------------------------------


def test_the_clock(admin: AdminClient, provider: Provider) -> None:
    state = admin.ok("GET", f"{D}/clock")
    assert state["frozen"] is False
    frozen = admin.ok("POST", f"{D}/clock/freeze", {"at": 1893456000})
    assert frozen == {"now": 1893456000.0, "frozen": True}
    assert provider.clock.now() == 1893456000.0
    assert admin.ok("POST", f"{D}/clock/advance", {"seconds": 90.5})["now"] == 1893456090.5
    assert admin.ok("POST", f"{D}/clock/advance", {"seconds": -0.5})["now"] == 1893456090.0
    moved = admin.ok("POST", f"{D}/clock/move_to", {"at": "2031-01-01T00:00:00+00:00"})
    assert moved == {"now": 1924992000.0, "frozen": True}
    running = admin.ok("POST", f"{D}/clock/unfreeze")
    assert running["frozen"] is False
    assert running["now"] >= 1924992000.0
    assert provider.clock.now() >= 1924992000.0  # it runs on from where it stood
    assert admin.ok("POST", f"{D}/clock/reset")["now"] < 1924992000.0  # the system clock again
    assert admin.ok("POST", f"{D}/clock/freeze")["frozen"] is True  # at "now"


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("advance", {}, "seconds"),
        ("advance", {"seconds": "60"}, "seconds"),
        ("advance", {"seconds": True}, "seconds"),
        ("advance", {"seconds": 10**400}, "seconds"),
        ("advance", {"seconds": 1e300}, "seconds"),
        ("advance", {"seconds": -1e10}, "seconds"),
        ("advance", {"secs": 60}, "secs"),
        ("move_to", {}, "at"),
        ("move_to", {"at": "2030-01-01T00:00:00"}, "at"),  # no time zone
        ("move_to", {"at": "tomorrow"}, "at"),
        ("move_to", {"at": -1}, "at"),
        ("move_to", {"at": 1e13}, "at"),
        ("freeze", {"at": [1]}, "at"),
        ("unfreeze", {"at": 1}, "at"),
        ("reset", {"x": 1}, "x"),
    ],
)
def test_bad_clock_input(
    admin: AdminClient, provider: Provider, path: str, body: Any, key: str
) -> None:
    before = provider.clock.frozen
    assert admin.error("POST", f"{D}/clock/{path}", body)["key"] == key
    assert provider.clock.frozen == before


def test_advancing_the_clock_expires_tokens(admin: AdminClient, http: httpx.Client) -> None:
    admin.ok("POST", f"{D}/clock/freeze")
    access = password_grant(http, "alice", "alice-pw").json()["access_token"]
    assert userinfo(http, access).status_code == 200
    admin.ok("POST", f"{D}/clock/advance", {"seconds": 3601})
    response = userinfo(http, access)
    assert response.status_code == 401
    assert "expired" in response.headers["WWW-Authenticate"]


def test_a_custom_clock_cannot_be_moved(token: str) -> None:
    class Fixed:
        def now(self) -> float:
            return 1_900_000_000.0

    provider = Provider(clock=Fixed())
    with LiveServer([provider], admin_token=token) as live:
        admin = AdminClient(live, token)
        try:
            assert admin.ok("GET", f"{D}/clock") == {"now": 1_900_000_000.0, "frozen": None}
            assert admin.error("POST", f"{D}/clock/advance", {"seconds": 1}, status=409)
        finally:
            admin.http.close()


# --- keys and tokens ----------------------------------------------------------------------------


def test_rotate_and_retire_keys(admin: AdminClient, http: httpx.Client) -> None:
    (first,) = admin.ok("GET", f"{D}/keys")["keys"]
    assert (first["active"], first["published"], first["alg"]) == (True, True, "RS256")
    new = admin.ok("POST", f"{D}/keys/rotate", status=201)
    assert new["kid"] != first["kid"]
    assert new["active"]
    kids = [k["kid"] for k in http.get("/default/jwks").json()["keys"]]
    assert kids == [first["kid"], new["kid"]]  # the old key stays published
    access = client_credentials(http).json()["access_token"]
    assert jwt.get_unverified_header(access)["kid"] == new["kid"]

    admin.ok("DELETE", f"{D}/keys/{first['kid']}", status=204)
    assert [k["kid"] for k in http.get("/default/jwks").json()["keys"]] == [new["kid"]]
    assert admin.error("DELETE", f"{D}/keys/{first['kid']}", status=404)["key"] == "kid"

    es = admin.ok("POST", f"{D}/keys/rotate", {"alg": "ES256"}, status=201)
    assert es["alg"] == "ES256"
    assert admin.error("POST", f"{D}/keys/rotate", {"alg": "RS512"})["key"] == "alg"


def test_mint_an_access_token(admin: AdminClient, http: httpx.Client) -> None:
    minted = admin.ok(
        "POST", f"{D}/tokens/access",
        {"subject": "alice", "scope": ["openid", "email"], "audience": "api",
         "claims": {"roles": ["admin"]}},
    )  # fmt: skip
    assert minted["token_type"] == "Bearer"
    keys = jwt.PyJWKSet.from_dict(http.get("/default/jwks").json())
    token = minted["access_token"]
    key = keys[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="api")
    assert (claims["sub"], claims["scope"]) == ("alice", "openid email")
    assert claims["roles"] == ["admin"]
    assert userinfo(http, token).json()["email"] == "alice@example.com"

    expired = admin.ok("POST", f"{D}/tokens/access", {"subject": "alice", "expires_in": -60})
    assert userinfo(http, expired["access_token"]).status_code == 401
    later = admin.ok("POST", f"{D}/tokens/access", {"subject": "alice", "not_before": 600,
                                                     "scope": "openid"})  # fmt: skip
    assert userinfo(http, later["access_token"]).status_code == 401
    opaque = admin.ok("POST", f"{D}/tokens/access", {"subject": "alice", "opaque": True,
                                                      "scope": "openid"})  # fmt: skip
    assert opaque["access_token"].count(".") == 0
    assert userinfo(http, opaque["access_token"]).status_code == 200


def test_mint_with_a_chosen_key(admin: AdminClient) -> None:
    es = admin.ok("POST", f"{D}/keys/rotate", {"alg": "ES256"}, status=201)
    by_alg = admin.ok("POST", f"{D}/tokens/access", {"alg": "ES256"})["access_token"]
    assert jwt.get_unverified_header(by_alg)["kid"] == es["kid"]
    by_kid = admin.ok("POST", f"{D}/tokens/access", {"kid": es["kid"]})["access_token"]
    assert jwt.get_unverified_header(by_kid) | {"alg": "ES256"} == {
        "alg": "ES256", "kid": es["kid"], "typ": "at+jwt"
    }  # fmt: skip


def test_mint_an_id_token(admin: AdminClient, http: httpx.Client) -> None:
    body = {"subject": "alice", "client_id": "web", "nonce": "n-1", "claims": {"acr": "1"}}
    minted = admin.ok("POST", f"{D}/tokens/id", body)
    token = minted["id_token"]
    keys = jwt.PyJWKSet.from_dict(http.get("/default/jwks").json())
    key = keys[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="web")
    assert (claims["sub"], claims["nonce"], claims["acr"]) == ("alice", "n-1", "1")
    assert claims["iss"] == http.get("/default/.well-known/openid-configuration").json()["issuer"]


@pytest.mark.parametrize(
    ("kind", "body", "key"),
    [
        ("access", {"expires_in": "60"}, "expires_in"),
        ("access", {"expires_in": 1.5}, "expires_in"),
        ("access", {"expires_in": 10**12}, "expires_in"),
        ("access", {"alg": "none"}, "alg"),
        ("access", {"kid": "mockauth-nope"}, "kid"),
        ("access", {"scope": [1]}, "scope[0]"),
        ("access", {"audience": {"a": 1}}, "audience"),
        ("access", {"claims": "x"}, "claims"),
        ("access", {"subject": ""}, "subject"),
        ("access", {"opaque": 1}, "opaque"),
        ("access", {"sub": "alice"}, "sub"),
        ("id", {"nonce": 5}, "nonce"),
        ("id", {"expires_in": None, "exp": 5}, "exp"),
        ("revoke", {}, "user"),
        ("revoke", {"user": ""}, "user"),
        ("revoke", {"users": "alice"}, "users"),
    ],
)
def test_bad_token_requests_name_the_key(
    admin: AdminClient, kind: str, body: dict[str, Any], key: str
) -> None:
    assert admin.error("POST", f"{D}/tokens/{kind}", body)["key"] == key


def test_revoke_the_tokens_of_a_user_and_of_a_client(
    admin: AdminClient, http: httpx.Client
) -> None:
    alice = password_grant(http, "alice", "alice-pw").json()
    bob = password_grant(http, "bob", "bob-pw").json()
    service = client_credentials(http).json()
    assert admin.ok("POST", f"{D}/tokens/revoke", {"user": "alice@example.com"})["revoked"] == 2
    assert userinfo(http, alice["access_token"]).status_code == 401
    refreshed = http.post("/default/token", data={"grant_type": "refresh_token",
                          "refresh_token": alice["refresh_token"]},
                          auth=("web", "web-secret-0123456789-abcdefghijkl"))  # fmt: skip
    assert refreshed.json()["error"] == "invalid_grant"
    assert userinfo(http, bob["access_token"]).status_code == 200
    assert admin.ok("POST", f"{D}/tokens/revoke", {"client": "service"})["revoked"] == 1
    introspected = http.post("/default/introspect", data={"token": service["access_token"]},
                             auth=("service", SERVICE_SECRET))  # fmt: skip
    assert introspected.json() == {"active": False}


# --- the journal --------------------------------------------------------------------------------


def test_the_journal_is_redacted_and_filterable(admin: AdminClient, http: httpx.Client) -> None:
    password_grant(http, "alice", "alice-pw")
    form = {"grant_type": "client_credentials", "client_id": "service",
            "client_secret": SERVICE_SECRET}  # fmt: skip
    http.post("/default/token", data=form)
    http.get("/default/jwks")
    calls = admin.ok("GET", f"{D}/calls")["calls"]
    assert [c["endpoint"] for c in calls] == ["token", "token", "jwks"]
    assert calls[0]["params"]["password"] == "[redacted]"
    assert calls[0]["params"]["username"] == "alice"
    assert (calls[0]["client_id"], calls[0]["grant_type"]) == ("web", "password")
    assert calls[1]["params"]["client_secret"] == "[redacted]"
    text = json.dumps(calls)
    assert "alice-pw" not in text
    assert SERVICE_SECRET not in text
    assert calls[2] | {"time": 0} == {
        "endpoint": "jwks", "method": "GET", "path": "/default/jwks", "params": {},
        "client_id": None, "grant_type": None, "time": 0, "status": 200, "error": None,
        "rule": None, "issued": [], "events": [],
    }  # fmt: skip
    assert [t["token"] for t in calls[0]["issued"]] == ["access_token", "refresh_token", "id_token"]
    assert "alice-pw" not in json.dumps(calls[0]["issued"])

    by_grant = admin.ok("GET", f"{D}/calls", params={"grant_type": "client_credentials"})
    assert [c["client_id"] for c in by_grant["calls"]] == ["service"]
    both = admin.ok("GET", f"{D}/calls", params={"endpoint": "token", "method": "post"})
    assert len(both["calls"]) == 2
    assert admin.error("GET", f"{D}/calls", params={"endpoint": "tokn"})["key"] == "endpoint"
    assert admin.error("GET", f"{D}/calls", params={"status": "200"})["key"] == "status"
    assert admin.error("GET", f"{D}/calls?endpoint=token&endpoint=jwks")["key"] == "endpoint"

    admin.ok("DELETE", f"{D}/calls", status=204)
    assert admin.ok("GET", f"{D}/calls") == {"calls": []}


# --- reset --------------------------------------------------------------------------------------


def test_reset_puts_everything_back(
    admin: AdminClient, http: httpx.Client, provider: Provider
) -> None:
    before_clients = admin.ok("GET", f"{D}/clients")
    before_users = admin.ok("GET", f"{D}/users")
    alice = password_grant(http, "alice", "alice-pw").json()
    minted = admin.ok("POST", f"{D}/tokens/access", {"subject": "bob", "scope": "openid"})
    admin.ok("POST", f"{D}/clients", {"client_id": "extra"}, status=201)
    admin.ok("DELETE", f"{D}/clients/web", status=204)
    admin.ok("POST", f"{D}/clients/service/rotate_secret")
    admin.ok("POST", f"{D}/users", {"username": "carol"}, status=201)
    admin.ok("DELETE", f"{D}/users/bob", status=204)
    admin.ok("POST", f"{D}/rules", {"endpoint": "jwks", "status": 500}, status=201)
    admin.ok("POST", f"{D}/clock/freeze", {"at": 1893456000})

    assert admin.ok("POST", "/reset") == {"reset": ["default"]}

    assert admin.ok("GET", f"{D}/clients") == before_clients
    assert admin.ok("GET", f"{D}/users") == before_users
    assert admin.ok("GET", f"{D}/rules") == {"rules": []}
    assert admin.ok("GET", f"{D}/calls") == {"calls": []}
    assert admin.ok("GET", f"{D}/clock")["frozen"] is False
    assert provider.clock.now() < 1893456000
    assert http.get("/default/jwks").status_code == 200
    assert client_credentials(http).status_code == 200  # the original secret again
    # Nothing issued before the reset is accepted after it.
    assert userinfo(http, alice["access_token"]).status_code == 401
    assert userinfo(http, minted["access_token"]).status_code == 401
    refreshed = http.post("/default/token", data={"grant_type": "refresh_token",
                          "refresh_token": alice["refresh_token"]},
                          auth=("web", "web-secret-0123456789-abcdefghijkl"))  # fmt: skip
    assert refreshed.json()["error"] == "invalid_grant"
    # ... and what is issued after it works.
    fresh = password_grant(http, "alice", "alice-pw").json()
    assert userinfo(http, fresh["access_token"]).status_code == 200


def test_reset_keeps_start_up_rules_with_fresh_counters(token: str) -> None:
    provider = Provider()
    provider.add_client(client_id="svc", client_secret="svc-secret-0123456789",
                        grant_types=["client_credentials"])  # fmt: skip
    start_up = provider.fail("token", sequence=[503, "real"])  # like mockauth serve --scenario
    with LiveServer([provider], admin_token=token) as live, httpx.Client(base_url=live.url) as h:
        admin = AdminClient(live, token)
        try:

            def statuses() -> list[int]:
                return [client_credentials(h, "svc", "svc-secret-0123456789").status_code
                        for _ in range(2)]  # fmt: skip

            assert statuses() == [503, 200]
            admin.ok("DELETE", f"{D}/rules/{start_up.id}", status=204)
            admin.ok("POST", f"{D}/rules", {"endpoint": "token", "status": 500}, status=201)
            admin.ok("POST", "/reset")
            assert [r["id"] for r in admin.ok("GET", f"{D}/rules")["rules"]] == [start_up.id]
            assert statuses() == [503, 200]
        finally:
            admin.http.close()


@pytest.mark.parametrize("frozen", [True, False])
def test_reset_restores_the_start_up_clock(token: str, frozen: bool) -> None:
    provider = Provider()
    if frozen:
        provider.clock.freeze(1_893_456_000)
    else:
        provider.clock.advance(3600)  # a scenario's clock skew
    with LiveServer([provider], admin_token=token) as live:
        admin = AdminClient(live, token)
        try:
            admin.ok("POST", f"{D}/clock/move_to", {"at": 1_000_000_000})
            admin.ok("POST", f"{D}/clock/{'unfreeze' if frozen else 'freeze'}")
            admin.ok("POST", "/reset")
            clock = admin.ok("GET", f"{D}/clock")
        finally:
            admin.http.close()
    assert clock["frozen"] is frozen
    if frozen:
        assert clock["now"] == 1_893_456_000
    else:
        assert 3000 < provider.clock.now() - time.time() < 4200


def test_reset_of_one_issuer(token: str) -> None:
    a, b = Provider(issuer_id="a"), Provider(issuer_id="b")
    with LiveServer([a, b], admin_token=token) as live:
        admin = AdminClient(live, token)
        try:
            for issuer in ("a", "b"):
                admin.ok("POST", f"/issuers/{issuer}/rules", {"status": 500}, status=201)
            assert admin.ok("POST", "/issuers/a/reset") == {"reset": ["a"]}
            assert (len(a.rules), len(b.rules)) == (0, 1)
            issuers = admin.ok("GET", "/issuers")["issuers"]
            assert [(i["issuer_id"], i["rules"]) for i in issuers] == [("a", 0), ("b", 1)]
            assert admin.ok("GET", "/issuers/b")["issuer"] == f"{live.url}/b"
            assert admin.error("GET", "/issuers/c", status=404)["key"] == "issuer_id"
            assert admin.error("POST", "/issuers/c/reset", status=404)["key"] == "issuer_id"
        finally:
            admin.http.close()


def test_a_provider_mounted_later_is_reset_to_when_the_api_first_saw_it(token: str) -> None:
    with LiveServer([], admin_token=token) as live:
        admin = AdminClient(live, token)
        try:
            late = live.mount(Provider(issuer_id="late"))
            late.add_client(client_id="before-admin")
            admin.ok("POST", "/issuers/late/clients", {"client_id": "after-admin"}, status=201)
            admin.ok("POST", "/reset")
            assert [c.client_id for c in late.clients] == ["before-admin"]
        finally:
            admin.http.close()


# --- bad requests in general --------------------------------------------------------------------


def test_bodies_must_be_json_objects(admin: AdminClient) -> None:
    path = f"{D}/clock/advance"
    cases: list[tuple[bytes, str, int, str]] = [
        (b"{", "application/json", 400, "invalid_json"),
        (b'{"seconds": NaN}', "application/json", 400, "invalid_input"),
        (b'{"seconds": Infinity}', "application/json", 400, "invalid_input"),
        (b"[1]", "application/json", 400, "invalid_input"),
        (b'"x"', "application/json", 400, "invalid_input"),
        (b'{"seconds": 1}', "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"seconds": 1}', "text/plain", 415, "unsupported_media_type"),
        (b"\xff\xfe", "application/json", 400, "invalid_input"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 413, "too_large"),
        (b"[" * 20_000 + b"]" * 20_000, "application/json", 400, "invalid_input"),
        (b'{"seconds": 1' + b"0" * 5000 + b"}", "application/json", 400, "invalid_json"),
    ]
    for body, content_type, status, error in cases:
        response = admin("POST", path, content=body, headers={"Content-Type": content_type})
        data = check_error(response.status_code, response.text, status)
        assert data["error"] == error, (body[:20], data)
    duplicate = admin("POST", path, content=b'{"seconds": 1, "seconds": 2}',
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert check_error(duplicate.status_code, duplicate.text, 400)["key"] == "seconds"
    # A JSON media type with a suffix, and an empty body where none is needed, are fine.
    plus = admin("POST", path, content=b'{"seconds": 1}',
                 headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert plus.status_code == 200
    assert admin("POST", f"{D}/clock/freeze", content=b"").status_code == 200


def test_bodies_are_capped_at_64_kib(admin: AdminClient) -> None:
    big = {"client_id": "big", "name": "x" * MAX_BODY}
    data = admin.error("POST", f"{D}/clients", big, status=413)
    assert data["error"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked
        yield b'{"name": "'
        for _ in range(5):
            yield b"x" * 16384
        yield b'"}'

    response = admin("POST", f"{D}/clients", content=chunks(),
                     headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413, response.text


def test_methods_and_routes(admin: AdminClient) -> None:
    response = admin("PUT", f"{D}/clients")
    data = check_error(response.status_code, response.text, 405)
    assert data["error"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET, POST"
    assert admin.error("GET", "/nothing/here", status=404)["error"] == "no_route"
    assert admin.error("GET", f"{D}/clients/web/more", status=404)["error"] == "no_route"
    assert admin.ok("GET", f"{D}/clients/")["clients"]  # one trailing slash is fine
    assert admin("HEAD", "/issuers").status_code == 200
    assert admin.error("GET", "/issuers", params={"x": "1"})["key"] == "x"
    assert admin.error("GET", "/issuers/nobody/clients", status=404)["key"] == "issuer_id"


# --- the OpenAPI description --------------------------------------------------------------------


def test_openapi_describes_every_route_and_nothing_else(server: LiveServer) -> None:
    assert server.admin_url is not None
    doc = httpx.get(server.admin_url + "/openapi.json").json()
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routes = {(r.method, r.path) for r in ROUTES}
    assert described == routes
    assert doc["servers"] == [{"url": server.admin_url}]
    assert doc["components"]["securitySchemes"]["adminToken"] == {
        "type": "apiKey", "in": "header", "name": TOKEN_HEADER
    }  # fmt: skip
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(ROUTES)
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
            assert declared == names, (path, op["operationId"])
            assert any(code.startswith("2") for code in op["responses"])
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:  # every reference resolves
        assert ref.startswith("#/components/"), ref
        _, _, section, name = ref.split("/")
        assert name in doc["components"][section], ref


def test_every_described_operation_exists(server: LiveServer, token: str) -> None:
    """Each operation of the served document reaches a route (no 404 no_route, no 405)."""
    assert server.admin_url is not None
    doc = httpx.get(server.admin_url + "/openapi.json").json()
    with httpx.Client(headers={TOKEN_HEADER: token}) as client:
        for path, ops in doc["paths"].items():
            concrete = path.format(issuer_id="default", client_id="nobody", user="nobody",
                                   rule_id="999999", kid="nobody", user_code="BBBB-BBBB",
                                   issuer="https%3A%2F%2Fnobody.test",
                                   url="https%3A%2F%2Fnobody.test%2Fc",
                                   path="%2Fnowhere")  # fmt: skip
            for method in ops:
                response = client.request(method.upper(), server.admin_url + concrete, json={})
                assert response.status_code != 405, (method, path)
                if response.status_code == 404:
                    assert response.json()["error"] != "no_route", (method, path)


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


def validate(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "$") -> None:
    """The subset of JSON Schema the admin document uses."""
    schema = _resolve(schema, doc)
    if "oneOf" in schema:
        errors = []
        for option in schema["oneOf"]:
            try:
                validate(value, option, doc, where)
            except AssertionError as exc:
                errors.append(str(exc))
        assert len(errors) == len(schema["oneOf"]) - 1, (where, value, errors)
        return
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        assert any(checks[n](value) for n in names), (where, value, names)
    if "enum" in schema:
        assert value in schema["enum"], (where, value)
    if "const" in schema:
        assert value == schema["const"], (where, value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            assert name in value, (where, name)
        for name, item in value.items():
            if name in properties:
                validate(item, properties[name], doc, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{where}: {name} is not described")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(item, schema["additionalProperties"], doc, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], doc, f"{where}[{i}]")


def test_the_validator_can_fail() -> None:
    doc = openapi()
    with pytest.raises(AssertionError):
        validate({"client_id": 5}, {"$ref": "#/components/schemas/Client"}, doc)
    with pytest.raises(AssertionError):
        validate(
            {"now": 1, "frozen": True, "extra": 1}, {"$ref": "#/components/schemas/Clock"}, doc
        )


def test_every_route_answers_as_described(
    admin: AdminClient, http: httpx.Client, provider: Provider
) -> None:
    """Walk every operation with valid input; each answer must match the document."""
    doc = admin.ok("GET", "/openapi.json")
    seen: set[str] = set()

    def call(method: str, path: str, body: Any = None, *, template: str, **kw: Any) -> Any:
        op = doc["paths"][template][method.lower()]
        seen.add(op["operationId"])
        response = admin(method, path, body, **kw)
        status = str(response.status_code)
        assert status.startswith("2"), (path, response.text)
        assert status in op["responses"], (path, status)
        content = op["responses"][status].get("content")
        if content is None:
            assert response.content == b""
            return None
        data = response.json()
        validate(data, content["application/json"]["schema"], doc, f"{method} {template}")
        if op.get("requestBody") and body is not None:
            validate(body, op["requestBody"]["content"]["application/json"]["schema"], doc)
        return data

    t = "/issuers/{issuer_id}"
    client_credentials(http)
    call("GET", "/openapi.json", template="/openapi.json")
    call("GET", "/issuers", template="/issuers")
    call("GET", D, template=t)
    call("GET", f"{D}/clients", template=f"{t}/clients")
    call("POST", f"{D}/clients", {"client_id": "c1", "redirect_uris": [WEB_REDIRECT]},
         template=f"{t}/clients")  # fmt: skip
    call("GET", f"{D}/clients/c1", template=f"{t}/clients/{{client_id}}")
    call("POST", f"{D}/clients/c1/rotate_secret", {},
         template=f"{t}/clients/{{client_id}}/rotate_secret")  # fmt: skip
    call("DELETE", f"{D}/clients/c1", template=f"{t}/clients/{{client_id}}")
    trusted = f"{t}/trusted_issuers"
    call("GET", f"{D}/trusted_issuers", template=trusted)
    call("POST", f"{D}/trusted_issuers",
         {"issuer": "https://idp.test", "jwks_uri": "http://127.0.0.1:9/jwks", "subjects": ["a"]},
         template=trusted)  # fmt: skip
    call("GET", f"{D}/trusted_issuers/https%3A%2F%2Fidp.test", template=f"{trusted}/{{issuer}}")
    call("DELETE", f"{D}/trusted_issuers/https%3A%2F%2Fidp.test", template=f"{trusted}/{{issuer}}")
    docs = f"{t}/client_metadata_documents"
    document = {"client_id": "https://app.test/client.json", "redirect_uris": [WEB_REDIRECT]}
    call("GET", f"{D}/client_metadata_documents", template=docs)
    call("POST", f"{D}/client_metadata_documents", document, template=docs)
    call("DELETE", f"{D}/client_metadata_documents/https%3A%2F%2Fapp.test%2Fclient.json",
         template=f"{docs}/{{url}}")  # fmt: skip
    resources = f"{t}/resources"
    call("GET", f"{D}/resources", template=resources)
    call("POST", f"{D}/resources", {"path": "/mcp", "scopes": ["mcp:tools"]}, template=resources)
    call("GET", f"{D}/resources/%2Fmcp", template=f"{resources}/{{path}}")
    call("DELETE", f"{D}/resources/%2Fmcp", template=f"{resources}/{{path}}")
    call("GET", f"{D}/users", template=f"{t}/users")
    call("POST", f"{D}/users", {"username": "u1", "email": "u1@example.com"},
         template=f"{t}/users")  # fmt: skip
    call("GET", f"{D}/users/u1", template=f"{t}/users/{{user}}")
    call("DELETE", f"{D}/users/u1", template=f"{t}/users/{{user}}")
    rule = call("POST", f"{D}/rules", {"endpoint": "userinfo", "status": 503, "times": 2},
                template=f"{t}/rules")  # fmt: skip
    call("GET", f"{D}/rules", template=f"{t}/rules")
    call("GET", f"{D}/rules/{rule['id']}", template=f"{t}/rules/{{rule_id}}")
    call("GET", f"{D}/check", template=f"{t}/check")
    call("DELETE", f"{D}/rules/{rule['id']}", template=f"{t}/rules/{{rule_id}}")
    call("POST", f"{D}/scenario", {"rules": [{"endpoint": "token", "error": "invalid_grant"}]},
         template=f"{t}/scenario")  # fmt: skip
    call("DELETE", f"{D}/rules", template=f"{t}/rules")
    call("GET", f"{D}/clock", template=f"{t}/clock")
    call("POST", f"{D}/clock/freeze", {"at": 1893456000}, template=f"{t}/clock/freeze")
    call("POST", f"{D}/clock/advance", {"seconds": 5}, template=f"{t}/clock/advance")
    call("POST", f"{D}/clock/move_to", {"at": "2030-06-01T00:00:00Z"},
         template=f"{t}/clock/move_to")  # fmt: skip
    call("POST", f"{D}/clock/unfreeze", {}, template=f"{t}/clock/unfreeze")
    call("POST", f"{D}/clock/reset", {}, template=f"{t}/clock/reset")
    call("GET", f"{D}/keys", template=f"{t}/keys")
    old = provider.keys.active().kid
    call("POST", f"{D}/keys/rotate", {"alg": "RS256"}, template=f"{t}/keys/rotate")
    call("DELETE", f"{D}/keys/{old}", template=f"{t}/keys/{{kid}}")
    access = call("POST", f"{D}/tokens/access", {"subject": "alice", "scope": "openid",
                  "expires_in": 60, "not_before": 0}, template=f"{t}/tokens/access")  # fmt: skip
    call("POST", f"{D}/tokens/id", {"subject": "alice", "access_token": access["access_token"]},
         template=f"{t}/tokens/id")  # fmt: skip
    call("POST", f"{D}/tokens/revoke", {"user": "alice"}, template=f"{t}/tokens/revoke")
    web = provider.client("web")
    call("POST", f"{D}/next_login", {"user": "alice", "claims": {"team": "a"}},
         template=f"{t}/next_login")  # fmt: skip
    provider.store.next_logins.clear()  # not for the flows that follow
    for action in ("approve", "deny"):
        started = http.post(
            provider.endpoint("device_authorization"), auth=(web.client_id, web.client_secret or "")
        ).json()
        call("POST", f"{D}/devices/{started['user_code']}/{action}", {},
             template=f"{t}/devices/{{user_code}}/{action}")  # fmt: skip
    call("GET", f"{D}/calls", template=f"{t}/calls", params={"endpoint": "token"})
    call("DELETE", f"{D}/calls", template=f"{t}/calls")
    call("POST", f"{D}/reset", {}, template=f"{t}/reset")
    call("POST", "/reset", template="/reset")
    assert seen == {r.operation_id for r in ROUTES}  # a new route needs a line here


# --- mockauth serve -----------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    with ExitStack() as stack:
        yield lambda *args: stack.enter_context(ServeProcess(*args, cwd=tmp_path))


def test_serve_prints_a_fresh_token_that_works(serve: Callable[..., ServeProcess]) -> None:
    first, second = serve(), serve()
    assert first.token
    assert second.token
    assert first.token != second.token
    assert first.admin_url == f"{first.url}/_mockauth"
    assert any(line == f"  openapi    {first.admin_url}/openapi.json" for line in first.banner)
    ok = httpx.get(f"{first.admin_url}/issuers", headers={TOKEN_HEADER: first.token})
    assert ok.status_code == 200
    assert ok.json()["issuers"][0]["issuer"] == f"{first.url}/default"
    other = httpx.get(f"{first.admin_url}/issuers", headers={TOKEN_HEADER: second.token})
    assert other.status_code == 403


def test_serve_with_a_fixed_token_and_without_the_api(serve: Callable[..., ServeProcess]) -> None:
    fixed = serve("--admin-token", "my-fixed-token")
    assert fixed.token == "my-fixed-token"
    response = httpx.get(f"{fixed.admin_url}/issuers", headers={TOKEN_HEADER: "my-fixed-token"})
    assert response.status_code == 200
    off = serve("--no-admin")
    assert off.admin_url is None
    assert off.token is None
    assert not any("Admin" in line for line in off.banner)
    response = httpx.get(f"{off.url}/_mockauth/issuers", headers={TOKEN_HEADER: "x"})
    assert response.status_code == 404


def test_serve_rejects_a_token_that_cannot_be_sent(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--admin-token", "a b"],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert run.returncode == 2
    assert "--admin-token" in run.stderr
    assert "visible ASCII" in run.stderr


def test_reset_returns_to_the_serve_scenario(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    scenario = tmp_path / "flaky.json"
    scenario.write_text(json.dumps({"rules": [{"endpoint": "token", "sequence": [503, "real"]}]}))
    served = serve("--scenario", str(scenario))
    headers = {TOKEN_HEADER: served.token or ""}
    token_url = f"{served.url}/default/token"
    auth = ("demo-service", "demo-service-secret-for-tests-only-0123")

    def statuses() -> list[int]:
        data = {"grant_type": "client_credentials"}
        return [httpx.post(token_url, data=data, auth=auth).status_code for _ in range(2)]

    assert statuses() == [503, 200]
    assert httpx.post(f"{served.admin_url}/reset", headers=headers).status_code == 200
    assert statuses() == [503, 200]


# --- curl: a non-Python client can do what a Python test does -----------------------------------

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env},
    )  # fmt: skip


CURL_SCENARIO = r"""
H="X-Mockauth-Admin-Token: $TOKEN"
curl -sf -H "$H" -H 'Content-Type: application/json' \
     -d '{"endpoint": "token", "sequence": [503, "real"]}' \
     "$BASE/_mockauth/issuers/default/rules" >/dev/null
for i in 1 2; do
  curl -s -o /dev/null -w '%{http_code}\n' -u demo-service:demo-service-secret-for-tests-only-0123 \
       -d grant_type=client_credentials "$BASE/default/token"
done
curl -sf -H "$H" "$BASE/_mockauth/issuers/default/calls?endpoint=token"
curl -sf -H "$H" "$BASE/_mockauth/issuers/default/check"
curl -s -o /dev/null -w '%{http_code}\n' "$BASE/_mockauth/issuers"
"""


@needs_curl
def test_curl_drives_a_503_then_success_scenario(serve: Callable[..., ServeProcess]) -> None:
    served = serve()
    assert served.token is not None
    run = bash(CURL_SCENARIO, TOKEN=served.token, BASE=served.url)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == ["503", "200"]
    calls = json.loads(lines[2])["calls"]
    assert [(c["status"], c["client_id"], c["grant_type"]) for c in calls] == [
        (503, "demo-service", "client_credentials"), (200, "demo-service", "client_credentials")
    ]  # fmt: skip
    assert calls[0]["rule"] == calls[1]["rule"] is not None
    assert json.loads(lines[3]) == {"ok": True, "message": None}
    assert lines[4] == "401"  # and curl without the token is turned away


# --- the README ---------------------------------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.partition("## Admin API")[2].partition("\n## ")[0]


def test_the_readme_documents_the_api() -> None:
    assert SECTION, "README has no Admin API section"
    assert "/_mockauth/openapi.json" in SECTION
    assert TOKEN_HEADER in SECTION
    for route in ROUTES:  # every route is in the table
        last = route.path.rsplit("/", 1)[1].replace("{issuer_id}", "{id}")
        assert last in SECTION, route.path


@needs_curl
def test_the_readme_curl_examples_run(serve: Callable[..., ServeProcess]) -> None:
    fixed = re.search(r"mockauth serve --admin-token ([\w-]+)", SECTION)
    assert fixed is not None
    block = next(b for b in re.findall(r"^```sh\n(.*?)^```", SECTION, re.S | re.M) if "curl" in b)
    assert f"X-Mockauth-Admin-Token: {fixed[1]}" in block
    served = serve("--admin-token", fixed[1])
    run = bash(block.replace("http://127.0.0.1:8080", served.url))
    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout
    assert "503\n503\n200\n" in out
    calls = json.loads(next(line for line in out.splitlines() if line.startswith('{"calls":')))
    assert [c["status"] for c in calls["calls"]] == [503, 503, 200]
    assert '{"ok":true,"message":null}' in out
    assert '"client_id":"my-app"' in out
    assert '"username":"carol"' in out
    assert '"frozen":true' in out
    assert '"access_token":"' in out
    assert '{"reset":["default"]}' in out


# --- fuzz: no input makes the admin API fail ---------------------------------------------------

_NAMES = ["default", "web", "spa", "alice", "bob", "1", "0", "x", "é", "%", "..", "-1", ""]
_KEYS = sorted({
    "client_id", "client_secret", "redirect_uris", "public", "grant_types", "username", "email",
    "claims", "endpoint", "status", "sequence", "times", "after", "error", "delay", "token",
    "seconds", "at", "alg", "kid", "subject", "scope", "audience", "expires_in", "user",
    "client", "rules", "clock", "params", "strict", "json", "drop", "not_before", "opaque",
})  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["token", "real", "RS256", "2030-01-01T00:00:00Z", "invalid_grant"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
_FUZZED = [r for r in ROUTES if not r.path.endswith("/keys/rotate")]  # new keys are slow


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(_FUZZED),
    names=st.lists(st.sampled_from(_NAMES) | st.text(max_size=6), min_size=4, max_size=4),
    body=st.one_of(st.none(), _json, st.dictionaries(st.sampled_from(_KEYS), _json, max_size=5)),
    raw=st.one_of(st.none(), st.binary(max_size=40)),
)
def test_fuzz_the_admin_routes(
    fuzz_dispatcher: tuple[Dispatcher, str],
    route: Any,
    names: list[str],
    body: Any,
    raw: bytes | None,
) -> None:
    dispatcher, token = fuzz_dispatcher
    values = iter(names)
    path = re.sub(r"{\w+}", lambda m: quote(next(values), safe=""), route.path)
    kwargs: dict[str, Any] = {"headers": {TOKEN_HEADER: token}, "environ_base": LOOPBACK}
    if raw is not None:
        kwargs.update(data=raw, content_type="application/json")
    elif body is not None:
        kwargs["json"] = body
    response = wsgi(dispatcher).open(ADMIN_PREFIX + path, method=route.method, **kwargs)
    assert response.status_code < 500, response.get_data(as_text=True)
    data = response.get_data()
    if response.status_code >= 400:
        check_error(response.status_code, data.decode(), response.status_code)
    elif response.status_code != 204:
        json.loads(data)


@pytest.fixture(scope="module")
def fuzz_dispatcher() -> tuple[Dispatcher, str]:
    provider = Provider()
    provider.add_client(client_id="web", client_secret="web-secret-0123456789",
                        redirect_uris=[WEB_REDIRECT])  # fmt: skip
    provider.add_user("alice", password="pw", email="alice@example.com")
    token = secrets.token_urlsafe(8)
    dispatcher = Dispatcher([provider])
    dispatcher.admin = Admin(token)
    return dispatcher, token


def test_a_literal_template_wins_over_a_parameter_one(admin: AdminClient) -> None:
    """``/keys/rotate`` and ``/keys/{kid}`` both fit ``/keys/rotate``: the literal one
    serves it, with its methods only (what the OpenAPI document and ``Allow`` say)."""
    rotated = admin.ok("POST", "/issuers/default/keys/rotate", {}, status=201)
    assert rotated["kid"].startswith("mockauth-")
    for method in ("DELETE", "PUT"):
        data = admin.error(method, "/issuers/default/keys/rotate", status=405)
        assert data["error"] == "method_not_allowed"
        assert data["message"] == "use POST"
    admin.error("DELETE", "/issuers/default/keys/nope", status=404)  # {kid} still serves others


# --- device authorizations (RFC 8628) -------------------------------------------------------


def _device(server: LiveServer, provider: Provider) -> dict[str, Any]:
    web = provider.client("web")
    r = httpx.post(
        provider.endpoint("device_authorization"), auth=(web.client_id, web.client_secret or "")
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _poll(provider: Provider, device_code: str) -> httpx.Response:
    web = provider.client("web")
    return httpx.post(
        provider.endpoint("token"),
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device_code,
        },
        auth=(web.client_id, web.client_secret or ""),
    )


def test_approve_and_deny_a_device_over_the_admin_api(
    admin: AdminClient, server: LiveServer, provider: Provider
) -> None:
    started = _device(server, provider)
    code = started["user_code"].lower()  # as a person might type it
    admin.ok("POST", f"/issuers/default/devices/{code}/approve", {"user": "bob"}, status=204)
    tokens = _poll(provider, started["device_code"]).json()
    assert provider.tokens.decode(tokens["access_token"])["sub"] == provider.user("bob").sub
    data = admin.error("POST", f"/issuers/default/devices/{code}/approve", {}, status=409)
    assert data["key"] == "user_code"
    denied = _device(server, provider)
    admin.ok("POST", f"/issuers/default/devices/{denied['user_code']}/deny", {}, status=204)
    assert _poll(provider, denied["device_code"]).json()["error"] == "access_denied"


def test_unknown_devices_and_users_are_404(
    admin: AdminClient, server: LiveServer, provider: Provider
) -> None:
    data = admin.error("POST", "/issuers/default/devices/BBBB-BBBB/approve", {}, status=404)
    assert data["key"] == "user_code"
    started = _device(server, provider)
    path = f"/issuers/default/devices/{started['user_code']}/approve"
    assert admin.error("POST", path, {"user": "nobody"}, status=404)["key"] == "user"
    assert admin.error("POST", path, {"usr": "bob"}, status=400)["key"] == "usr"
    admin.error("POST", f"/issuers/default/devices/{started['user_code']}/deny", {"x": 1})


def test_trusted_issuers_over_the_admin_api(
    admin: AdminClient, server: LiveServer, provider: Provider
) -> None:
    """Trust an issuer at run time, use it for a JWT bearer grant, and reset it away."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "idp-k"}
    issuers = "/issuers/default/trusted_issuers"
    bearer = {
        "client_id": "bearer",
        "client_secret": "bearer-secret-0123456789",
        "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
    }
    admin.ok("POST", "/issuers/default/clients", bearer, status=201)
    added = admin.ok("POST", issuers, {"issuer": "https://idp.test", "jwks": {"keys": [jwk]},
                                       "subjects": ["svc"]}, status=201)  # fmt: skip
    assert added["subjects"] == ["svc"]
    assert admin.ok("GET", issuers)["trusted_issuers"][0]["issuer"] == "https://idp.test"
    one = admin.ok("GET", f"{issuers}/https%3A%2F%2Fidp.test")
    assert one["jwks"]["keys"][0]["kid"] == "idp-k"

    now = provider.clock.now()
    assertion = jwt.encode(
        {"iss": "https://idp.test", "sub": "svc", "aud": provider.issuer, "exp": now + 60},
        key, "ES256", headers={"kid": "idp-k"},
    )  # fmt: skip
    granted = httpx.post(provider.endpoint("token"), auth=("bearer", "bearer-secret-0123456789"),
                         data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                               "assertion": assertion})  # fmt: skip
    assert granted.status_code == 200, granted.text

    assert admin.error("POST", issuers, {"issuer": "https://idp.test", "jwks": {"keys": [jwk]}},
                       status=409)["key"] == "issuer"  # fmt: skip
    assert admin.error("POST", issuers, {"issuer": "https://x.test"})["key"] == "jwks"
    assert admin.error("POST", issuers, {"issuer": "https://x.test", "jwks_uri": "http://h/j",
                                         "subject": ["a"]})["key"] == "subject"  # fmt: skip
    admin.error("GET", f"{issuers}/https%3A%2F%2Fnobody.test", status=404)
    admin.ok("POST", "/issuers/default/reset", {}, status=200)
    assert admin.ok("GET", issuers)["trusted_issuers"] == []
    admin.ok("POST", issuers, {"issuer": "https://idp.test", "jwks": {"keys": [jwk]}}, status=201)
    admin.ok("DELETE", f"{issuers}/https%3A%2F%2Fidp.test", status=204)
    admin.error("DELETE", f"{issuers}/https%3A%2F%2Fidp.test", status=404)
