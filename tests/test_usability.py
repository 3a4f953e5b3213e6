"""What a new user trips over, fixed: each test is one of the defects found by
trying mockauth as a newcomer would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session

from mockauth import ConfigError, LiveServer, MockauthError, Provider, UserConfig, load_scenario
from mockauth.admin import TOKEN_HEADER
from mockauth.errors import UnknownUserError
from mockauth.scenarios import Rule, library

from .helpers import WEB_REDIRECT, pkce_pair, secret_auth
from .serve import ServeProcess

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60


# --- redirect_uri may be left out (RFC 6749 §3.1.2.3, §4.1.3) ---------------------------


def test_a_real_client_leaves_out_redirect_uri() -> None:
    """authlib without a redirect_uri sends none, at /authorize nor at /token."""
    provider = Provider()
    client = provider.add_client(client_id="app", redirect_uris=[WEB_REDIRECT])
    with provider.serve(), httpx.Client() as browser:
        session = OAuth2Session("app", client.client_secret, scope="orders:read")
        url, _ = session.create_authorization_url(provider.endpoint("authorize"))
        assert "redirect_uri" not in parse_qs(urlsplit(url).query)
        location = browser.get(url).headers["location"]
        assert location.startswith(WEB_REDIRECT + "?")
        token = session.fetch_token(provider.endpoint("token"), authorization_response=location)
    assert token["scope"] == "orders:read"
    sent = provider.calls.filter("token")[0].params
    assert "redirect_uri" not in sent


def test_openid_requests_still_need_redirect_uri(provider: Provider, http: httpx.Client) -> None:
    r = http.get(
        provider.endpoint("authorize"),
        params={"client_id": "web", "response_type": "code", "scope": "openid"},
    )
    assert (r.status_code, "redirect_uri is missing" in r.text) == (400, True)


def test_a_client_with_several_redirect_uris_must_name_one() -> None:
    provider = Provider()
    provider.add_client(client_id="two", redirect_uris=[WEB_REDIRECT, "http://127.0.0.1:5000/b"])
    with provider.httpx_client() as http:
        r = http.get("/authorize", params={"client_id": "two", "response_type": "code"})
    assert r.status_code == 400


def test_a_sent_redirect_uri_must_be_repeated(provider: Provider, http: httpx.Client) -> None:
    params = {"client_id": "web", "response_type": "code", "redirect_uri": WEB_REDIRECT}
    location = http.get(provider.endpoint("authorize"), params=params).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    web = provider.client("web")
    r = http.post(
        provider.endpoint("token"),
        data={"grant_type": "authorization_code", "code": code},
        auth=secret_auth(web),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_a_public_client_leaves_out_redirect_uri_with_pkce() -> None:
    provider = Provider()
    provider.add_client(client_id="cli", public=True, redirect_uris=["http://127.0.0.1:8400/"])
    verifier, challenge = pkce_pair()
    with provider.httpx_client() as http:
        r = http.get(
            "/authorize",
            params={
                "client_id": "cli",
                "response_type": "code",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        token = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "cli",
                "code_verifier": verifier,
            },
        )
    assert token.status_code == 200, token.text


# --- unsupported_grant_type names the whole URN ------------------------------------------


def test_an_unsupported_grant_type_urn_is_shown_whole(
    provider: Provider, http: httpx.Client
) -> None:
    urn = "urn:ietf:params:oauth:grant-type:token-exchange-but-not-quite"
    r = http.post(
        provider.endpoint("token"),
        data={"grant_type": urn},
        auth=secret_auth(provider.client("web")),
    )
    assert r.json() == {
        "error": "unsupported_grant_type",
        "error_description": f"grant_type '{urn}' is not supported",
    }


# --- the scenario library loads by name ------------------------------------------------------


def test_the_library_ships_in_the_package_and_loads_by_name() -> None:
    names = list(library())
    assert "flaky-token-endpoint" in names
    scenario = load_scenario("flaky-token-endpoint")
    assert scenario.name == "flaky-token-endpoint"
    assert scenario.source is not None
    assert Path(scenario.source).parent == ROOT / "mockauth" / "data" / "scenarios"
    # one copy, readable in fixtures/
    for name in names:
        in_fixtures = ROOT / "fixtures" / "scenarios" / f"{name}.toml"
        assert in_fixtures.resolve() == library()[name].resolve()


def test_an_unknown_scenario_name_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match="did you mean 'flaky-token-endpoint'"):
        load_scenario("flaky-token-endpont")


def test_a_scenario_name_in_the_marker_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmockauth_scenarios =\n    slow-jwks\n")
    pytester.makepyfile(
        """
        import httpx
        import pytest

        @pytest.mark.mockauth(scenarios=["flaky-token-endpoint"])
        def test_it(mockauth):
            assert [r.name for r in mockauth.rules] == ["slow jwks", "flaky token endpoint"]
            mockauth.clear_rules()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_scenario_name_on_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_it(mockauth):
            assert [r.name for r in mockauth.rules] == ["provider outage"]
            mockauth.clear_rules()
        """
    )
    pytester.runpytest("--mockauth-scenario", "provider-outage").assert_outcomes(passed=1)


def test_a_scenario_name_for_mockauth_serve(tmp_path: Path) -> None:
    with ServeProcess("--scenario", "flaky-token-endpoint", cwd=tmp_path) as served:
        assert "flaky-token-endpoint" in served.text
    bad = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--scenario", "no-such"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "no scenario named 'no-such'" in bad.stderr


def test_a_scenario_name_over_the_admin_api() -> None:
    provider = Provider()
    with LiveServer([provider], admin_token="t0ken") as server, httpx.Client() as http:
        url = f"{server.admin_url}/issuers/default/scenario"
        ok = http.post(url, params={"name": "slow-jwks"}, headers={TOKEN_HEADER: "t0ken"})
        bad = http.post(url, params={"name": "slow-jwk"}, headers={TOKEN_HEADER: "t0ken"})
        both = http.post(
            url, params={"name": "slow-jwks"}, json={"rules": []}, headers={TOKEN_HEADER: "t0ken"}
        )
    assert ok.status_code == 201, ok.text
    assert [r.name for r in provider.rules] == ["slow jwks"]
    assert (bad.status_code, bad.json()["key"]) == (400, "name")
    assert "did you mean 'slow-jwks'" in bad.json()["message"]
    assert (both.status_code, both.json()["key"]) == (400, "name")


# --- provider.forge() where the fixture hides the package ------------------------------------


def test_forge_through_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import jwt

        def test_it(mockauth):
            token = mockauth.issue_token("alice", scope="read")
            forged = mockauth.forge(token, "expired")
            claims = jwt.decode(forged, options={"verify_signature": False})
            assert claims["exp"] < mockauth.clock.now()
            other = mockauth.forge(token, "set_claim", claim="scope", value="admin")
            assert jwt.decode(other, options={"verify_signature": False})["scope"] == "admin"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_forge_errors_are_real_errors_even_under_python_o(tmp_path: Path) -> None:
    provider = Provider()
    token = provider.issue_token("alice")
    with pytest.raises(MockauthError, match="needs claim="):
        provider.forge(token, "missing_claim")
    with pytest.raises(MockauthError, match="unknown token fault 'expird'"):
        provider.forge(token, "expird")
    script = (
        "from mockauth import Provider, MockauthError\n"
        "p = Provider()\n"
        "try:\n"
        "    p.forge(p.issue_token('a'), 'set_claim')\n"
        "except MockauthError as e:\n"
        "    print('refused:', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
    )
    assert result.stdout.startswith("refused: set_claim needs claim="), result.stderr


# --- the config fixture may be a mapping -----------------------------------------------------


def test_mockauth_config_may_return_a_mapping(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def mockauth_config():
            return {"issuer_id": "mapped", "users": [{"username": "zoe"}],
                    "clients": [{"client_id": "app", "token_endpoint_auth_method": "none"}]}
        """
    )
    pytester.makepyfile(
        """
        def test_it(mockauth):
            assert mockauth.issuer.endswith("/mapped")
            assert mockauth.client("app").public
            assert mockauth.user("zoe").username == "zoe"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_bad_mapping_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def mockauth_config():
            return {"clients": [{"client_id": "app", "redirect_uris": ["nope"]}]}
        """
    )
    pytester.makepyfile("def test_it(mockauth):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockauth_config: clients[[]0].redirect_uris[[]0]: *"])


# --- command-line paths are relative to where pytest runs --------------------------------------


def test_mockauth_config_option_is_relative_to_the_invocation_dir(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\n")
    sub = pytester.mkdir("sub")
    (sub / "conf.toml").write_text('issuer_id = "from-sub"\n')
    (sub / "test_it.py").write_text(
        "def test_it(mockauth):\n    assert mockauth.issuer.endswith('/from-sub')\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        result = pytester.runpytest("--mockauth-config", "conf.toml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# --- mockauth serve checks --port and --public-url ----------------------------------------------


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http"])
def test_a_bad_port_exits_2_naming_it(tmp_path: Path, port: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "argument --port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url", ["mockauth:8080", "ftp://x", "http://", "http://x/?a=1", "http://x:99999"]
)
def test_a_bad_public_url_exits_2_naming_it(tmp_path: Path, url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--public-url", url],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "argument --public-url" in result.stderr


# --- scenario values are checked ------------------------------------------------------------------


def test_a_misspelt_error_code_is_a_config_error(provider: Provider) -> None:
    with pytest.raises(ConfigError) as info:
        provider.fail("token", error="invalid_grnat")
    assert info.value.key == "error"
    assert "did you mean 'invalid_grant'" in info.value.message
    with pytest.raises(ConfigError, match=r"sequence\[1\]: .*did you mean 'real'"):
        provider.fail("token", sequence=[503, "rael"])
    with pytest.raises(ConfigError, match="not an error code of the userinfo endpoint"):
        provider.fail("userinfo", error="invalid_grant")


def test_an_extension_error_code_is_allowed_when_marked(
    provider: Provider, http: httpx.Client
) -> None:
    provider.fail("token", error="quota_exceeded", extension=True, status=429, times=1)
    r = http.post(provider.endpoint("token"), data={"grant_type": "client_credentials"})
    assert (r.status_code, r.json()["error"]) == (429, "quota_exceeded")
    rule = Rule("token", {"error": "quota_exceeded", "extension": True})
    assert rule.fault is not None


def test_a_misspelt_error_code_in_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[[rules]]\nendpoint = "token"\nerror = "invalid_grnat"\n')
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.key == "rules[0].error"
    assert "did you mean 'invalid_grant'" in str(info.value)
    seq = tmp_path / "seq.toml"
    seq.write_text('[[rules]]\nendpoint = "token"\nsequence = [503, "rael"]\n')
    with pytest.raises(ConfigError, match=r"rules\[0\]\.sequence\[1\]: .*'real'"):
        load_scenario(seq)


def test_revoke_tokens_for_an_unknown_user_says_so(provider: Provider) -> None:
    with pytest.raises(UnknownUserError, match="no user 'nobody'"):
        provider.revoke_tokens(user="nobody")
    provider.issue_token("alice")
    assert provider.revoke_tokens(user="alice@example.com") == 1  # a username or email works


# --- a user's custom claim gets a hint --------------------------------------------------------


def test_a_custom_claim_key_points_at_claims() -> None:
    with pytest.raises(ConfigError) as info:
        Provider(users=[{"username": "ann", "roles": ["admin"]}])
    assert info.value.key == "users[0].roles"
    assert "custom claims go in claims" in info.value.message
    with pytest.raises(ConfigError, match="did you mean 'email'"):
        Provider(users=[{"username": "ann", "emial": "a@x"}])
    assert UserConfig(username="ann", claims={"roles": ["admin"]}).claims["roles"] == ["admin"]
