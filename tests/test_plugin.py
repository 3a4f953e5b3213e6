"""The pytest plugin, exercised in inner pytest sessions run by ``pytester``.

Inner sessions load the plugin explicitly (``-p no:mockauth -p
mockauth.pytest_plugin``); a few tests check the ``pytest11`` auto-loading
itself. Each inner session runs in a subprocess: the plugin keeps per-process
state (the session server, cached config files) that must not leak between runs.
"""

from __future__ import annotations

import pytest

EXPLICIT = ("-p", "no:mockauth", "-p", "mockauth.pytest_plugin")
TIMEOUT = 120

# Imported by the inner test files: plain urllib, so the inner tests need nothing else.
HTTP_HELPERS = """
import base64
import json
import urllib.error
import urllib.parse
import urllib.request


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.load(response)


def get_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def client_credentials(provider, client_id, secret):
    body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    request = urllib.request.Request(provider.endpoint("token"), data=body, method="POST")
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request.add_header("Authorization", "Basic " + basic)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)
"""

ISSUER_TOML = """
issuer_id = "from-file"
seed = 21

[[clients]]
client_id = "file-client"
client_secret = "file-client-secret"
grant_types = ["client_credentials"]
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with the HTTP helpers importable by the inner tests."""
    pytester.makepyfile(http_helpers=HTTP_HELPERS)
    pytester.syspathinsert()
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner session in a subprocess with the plugin loaded explicitly."""
    return pytester.runpytest_subprocess(
        *EXPLICIT, "-p", "no:cacheprovider", *args, timeout=TIMEOUT
    )


# --- loading -----------------------------------------------------------------------

SERVED = """
from http_helpers import get_json
from mockauth import Provider


def test_served(mockauth):
    assert isinstance(mockauth, Provider)
    assert mockauth.issuer.startswith("http://127.0.0.1:")
    status, doc = get_json(mockauth.issuer + "/.well-known/openid-configuration")
    assert status == 200
    assert doc["issuer"] == mockauth.issuer
    assert doc["token_endpoint"] == mockauth.endpoint("token")
"""


def test_fixture_is_served_over_real_http(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_served=SERVED)
    result = run(inner)
    result.assert_outcomes(passed=1)


def test_plugin_is_auto_loaded_by_its_entry_point(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_served=SERVED)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)


def test_no_mockauth_disables_the_plugin(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_served=SERVED)
    result = inner.runpytest_subprocess(
        "-p", "no:mockauth", "-p", "no:cacheprovider", timeout=TIMEOUT
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'mockauth' not found*"])


def test_marker_and_option_are_registered(pytester: pytest.Pytester) -> None:
    markers = run(pytester, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.mockauth(config=None, /, **fields):*"])
    assert markers.ret == 0
    usage = run(pytester, "--help")
    usage.stdout.fnmatch_lines(["*--mockauth-config=FILE*", "*mockauth_config*"])


def test_the_marker_passes_strict_markers(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.mockauth(seed=1)
        def test_marked(mockauth):
            assert mockauth.config.seed == 1
        """
    )
    run(inner, "--strict-markers").assert_outcomes(passed=1)


# --- a fresh provider per test, one server per session ------------------------------------


def test_each_test_gets_a_fresh_provider_on_the_same_server(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from http_helpers import client_credentials

        SEEN = []


        def test_first(mockauth, mockauth_server):
            mockauth.add_client(
                client_id="leaky", client_secret="leaky-secret", grant_types=["client_credentials"]
            )
            mockauth.add_user("leaky-user")
            status, body = client_credentials(mockauth, "leaky", "leaky-secret")
            assert status == 200, body
            SEEN.append((mockauth, mockauth_server.url))


        def test_second(mockauth, mockauth_server):
            first, url = SEEN[0]
            assert mockauth is not first
            assert mockauth.get_client("leaky") is None
            assert mockauth.find_user("leaky-user") is None
            status, body = client_credentials(mockauth, "leaky", "leaky-secret")
            assert status == 401
            assert body["error"] == "invalid_client"
            assert mockauth_server.url == url
            assert mockauth.base_url == url
            assert mockauth.issuer == first.issuer
        """
    )
    run(inner, "-p", "no:randomly").assert_outcomes(passed=2)


# --- the marker ---------------------------------------------------------------------------


def test_marker_fields_configure_the_provider(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from http_helpers import client_credentials
        from mockauth import Provider

        CLIENT = {
            "client_id": "marked",
            "client_secret": "marked-secret",
            "grant_types": ["client_credentials"],
        }


        @pytest.mark.mockauth(seed=3, clients=[CLIENT])
        def test_marked(mockauth):
            assert mockauth.config.seed == 3
            assert mockauth.client("marked").client_secret == "marked-secret"
            status, body = client_credentials(mockauth, "marked", "marked-secret")
            assert status == 200, body
            assert mockauth.add_user().sub == Provider(seed=3).add_user().sub


        def test_unmarked(mockauth):
            assert mockauth.config.seed == 0
            assert mockauth.get_client("marked") is None
        """
    )
    run(inner).assert_outcomes(passed=2)


def test_marker_config_path_is_relative_to_the_test_file(inner: pytest.Pytester) -> None:
    pkg = inner.mkdir("suite")
    (pkg / "configs").mkdir()
    (pkg / "configs" / "issuer.toml").write_text(ISSUER_TOML, encoding="utf-8")
    (pkg / "test_file_marker.py").write_text(
        """
import pathlib

import pytest
from http_helpers import client_credentials, get_json

HERE = pathlib.Path(__file__).parent


@pytest.mark.mockauth("configs/issuer.toml")
def test_relative(mockauth):
    assert mockauth.issuer.endswith("/from-file")
    assert mockauth.config.seed == 21
    status, doc = get_json(mockauth.issuer + "/.well-known/openid-configuration")
    assert doc["issuer"] == mockauth.issuer
    status, body = client_credentials(mockauth, "file-client", "file-client-secret")
    assert status == 200, body


@pytest.mark.mockauth(HERE / "configs" / "issuer.toml", seed=5)
def test_absolute_path_plus_fields(mockauth):
    assert mockauth.issuer_id == "from-file"
    assert mockauth.config.seed == 5
    assert mockauth.client("file-client")
""",
        encoding="utf-8",
    )
    # Run from the pytester root, not from suite/: the path must not depend on the cwd.
    run(inner, "suite").assert_outcomes(passed=2)


def test_class_and_function_markers_merge_field_by_field(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.mockauth(issuer_id="mod", seed=1, fake_users=1)


        def test_module_level(mockauth):
            assert (mockauth.issuer_id, mockauth.config.seed) == ("mod", 1)


        @pytest.mark.mockauth(seed=2, require_pkce=True)
        class TestClass:
            def test_class_level(self, mockauth):
                assert mockauth.issuer_id == "mod"
                assert mockauth.config.seed == 2
                assert mockauth.config.require_pkce is True

            @pytest.mark.mockauth(seed=3)
            def test_function_wins(self, mockauth):
                assert mockauth.config.seed == 3
                assert mockauth.config.require_pkce is True
                assert mockauth.issuer_id == "mod"
                assert len(mockauth.users) == 1

            @pytest.mark.mockauth(require_pkce=False, fake_users=0)
            def test_function_can_undo(self, mockauth):
                assert mockauth.config.seed == 2
                assert mockauth.config.require_pkce is False
                assert mockauth.users == []
        """
    )
    run(inner).assert_outcomes(passed=4)


def test_class_file_marker_with_function_fields(inner: pytest.Pytester) -> None:
    (inner.path / "issuer.toml").write_text(ISSUER_TOML, encoding="utf-8")
    inner.makepyfile(
        """
        import pytest


        @pytest.mark.mockauth("issuer.toml")
        class TestFromFile:
            @pytest.mark.mockauth(seed=8)
            def test_fields_over_file(self, mockauth):
                assert mockauth.issuer_id == "from-file"
                assert mockauth.config.seed == 8
                assert mockauth.client("file-client")
        """
    )
    run(inner).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("seed=3, sede=4", "*@pytest.mark.mockauth: sede: unknown key; did you mean 'seed'?*"),
        (
            'clients=[{"client_id": "c", "redirect_uris": ["/cb"]}]',
            "*@pytest.mark.mockauth: clients[[]0[]].redirect_uris[[]0[]]: '/cb' is not*",
        ),
        ('tokens={"code_ttl": 601}', "*@pytest.mark.mockauth: tokens.code_ttl: at most 600*"),
        ('"missing.toml"', "*@pytest.mark.mockauth: *missing.toml: cannot read*"),
        ("5", "*@pytest.mark.mockauth: expected a ProviderConfig or a path, got 5*"),
        ('"a.toml", "b.toml"', "*@pytest.mark.mockauth takes at most one positional argument*"),
    ],
)
def test_a_bad_marker_is_a_clear_error(inner: pytest.Pytester, marker: str, expected: str) -> None:
    inner.makepyfile(
        f"""
        import pytest

        @pytest.mark.mockauth({marker})
        def test_bad(mockauth):
            pass


        def test_good(mockauth):
            pass
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_bad*", expected])
    # The user's typo is reported without a traceback through mockauth's internals.
    assert "pytest_plugin.py" not in result.stdout.str()


# --- overriding the config -------------------------------------------------------------------


def test_mockauth_config_can_be_overridden_in_a_conftest(inner: pytest.Pytester) -> None:
    inner.makeconftest(
        """
        import pytest
        from mockauth import ProviderConfig, UserConfig


        @pytest.fixture
        def mockauth_config():
            carol = UserConfig(username="carol")
            return ProviderConfig(issuer_id="custom", seed=12, users=(carol,))
        """
    )
    inner.makepyfile(
        """
        import pytest
        from http_helpers import get_json


        def test_override(mockauth):
            assert mockauth.issuer.endswith("/custom")
            assert mockauth.user("carol").sub == "carol"
            status, doc = get_json(mockauth.issuer + "/.well-known/openid-configuration")
            assert doc["issuer"] == mockauth.issuer


        @pytest.mark.mockauth(seed=13)
        def test_marker_over_override(mockauth):
            assert (mockauth.issuer_id, mockauth.config.seed) == ("custom", 13)
            assert mockauth.user("carol")
        """
    )
    run(inner).assert_outcomes(passed=2)


CONFIGURED = """
def test_configured(mockauth):
    assert mockauth.issuer_id == "from-file"
    assert mockauth.client("file-client").client_secret == "file-client-secret"
"""


def test_mockauth_config_option(inner: pytest.Pytester) -> None:
    inner.mkdir("conf")
    (inner.path / "conf" / "issuer.toml").write_text(ISSUER_TOML, encoding="utf-8")
    inner.makepyfile(test_configured=CONFIGURED)
    run(inner, "--mockauth-config", "conf/issuer.toml").assert_outcomes(passed=1)
    run(inner).assert_outcomes(failed=1)  # without the option: the default issuer


def test_mockauth_config_ini(inner: pytest.Pytester) -> None:
    inner.mkdir("conf")
    (inner.path / "conf" / "issuer.toml").write_text(ISSUER_TOML, encoding="utf-8")
    inner.makeini("[pytest]\nmockauth_config = conf/issuer.toml\n")
    inner.makepyfile(test_configured=CONFIGURED)
    run(inner).assert_outcomes(passed=1)


def test_the_option_wins_over_the_ini(inner: pytest.Pytester) -> None:
    inner.mkdir("conf")
    (inner.path / "conf" / "issuer.toml").write_text(ISSUER_TOML, encoding="utf-8")
    (inner.path / "conf" / "other.json").write_text('{"issuer_id": "other"}', encoding="utf-8")
    inner.makeini("[pytest]\nmockauth_config = conf/other.json\n")
    inner.makepyfile(test_configured=CONFIGURED)
    run(inner, "--mockauth-config", "conf/issuer.toml").assert_outcomes(passed=1)
    run(inner).assert_outcomes(failed=1)


def test_a_bad_mockauth_config_file_is_a_clear_error(inner: pytest.Pytester) -> None:
    (inner.path / "bad.toml").write_text("[[clients]]\npublik = true\n", encoding="utf-8")
    inner.makepyfile(test_configured=CONFIGURED)
    result = run(inner, "--mockauth-config", "bad.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*bad.toml: issuers[[]0[]].clients[[]0[]].publik: unknown key; did you mean 'public'?*"]
    )


# --- errors inside the provider ---------------------------------------------------------------

BROKEN = """
from http_helpers import get_status


def broken(provider):
    provider.add_interceptor(lambda name, request: 1 / 0)
    return get_status(provider.endpoint("discovery"))


def test_passes_but_the_provider_broke(mockauth):
    assert broken(mockauth) == 500


def test_fails_on_its_own(mockauth):
    assert broken(mockauth) == 500
    assert False, "the test's own failure"


def test_afterwards(mockauth):
    assert mockauth.errors == []
"""


def test_provider_errors_fail_a_passing_test_at_teardown(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_broken=BROKEN)
    result = run(inner, "-p", "no:randomly", "-k", "passes or afterwards")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_passes_but_the_provider_broke*",
            "*ServerThreadError*",
            "*ZeroDivisionError*",
        ]
    )


def test_a_failing_test_reports_only_its_own_failure(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_broken=BROKEN)
    result = run(inner, "-p", "no:randomly", "-k", "fails_on_its_own or afterwards")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: the test's own failure*"])
    assert "ServerThreadError" not in result.stdout.str()
    assert "teardown" not in result.stdout.str()


# --- xdist ----------------------------------------------------------------------------------


def test_works_under_xdist(inner: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    inner.makepyfile(
        """
        import os

        import pytest
        from http_helpers import client_credentials, get_json


        @pytest.mark.parametrize("n", range(8))
        def test_fresh(mockauth, n):
            assert mockauth.clients == []
            mockauth.add_client(
                client_id="same", client_secret=f"secret-{n}", grant_types=["client_credentials"]
            )
            status, doc = get_json(mockauth.issuer + "/.well-known/openid-configuration")
            assert doc["issuer"] == mockauth.issuer
            status, body = client_credentials(mockauth, "same", f"secret-{n}")
            assert status == 200, body
            assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
        """
    )
    result = run(inner, "-n", "2")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*2 workers*"])
