"""``mockauth serve`` as users run it: a subprocess on an ephemeral loopback port."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests_oauth2client as roc

from mockauth import Provider, ProviderConfig, load_config
from mockauth.cli import _is_loopback, build_parser, demo_config, serve

from .serve import PYTHON_M, TIMEOUT, ServeProcess

SCRIPT = shutil.which("mockauth", path=str(Path(sys.executable).parent))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``mockauth serve --port 0 ARGS...``; every process is killed at the end."""
    with ExitStack() as stack:

        def _start(*args: str, command: tuple[str, ...] = PYTHON_M) -> ServeProcess:
            return stack.enter_context(ServeProcess(*args, cwd=tmp_path, command=command))

        yield _start


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PYTHON_M, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def client_credentials(token_endpoint: str, client_id: str, secret: str) -> int:
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).encode()
    try:
        with urllib.request.urlopen(token_endpoint, data=body, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the banner and the demo config ------------------------------------------------------------


def test_banner_and_discovery(start: Any) -> None:
    served = start()
    assert "TEST ONLY" in served.banner[0]
    assert served.port > 0
    issuer = f"{served.url}/default"
    assert f"Issuer {issuer}" in served.banner
    doc = get_json(f"{issuer}/.well-known/openid-configuration")
    assert doc["issuer"] == issuer
    assert get_json(f"{served.url}/.well-known/oauth-authorization-server/default") == doc


def test_banner_shows_the_demo_credentials_and_they_work(start: Any) -> None:
    served = start()
    demo = demo_config().issuers[0]
    assert demo.clients
    for client in demo.clients:
        assert f"client     {client.client_id}  (" in served.text
        if client.client_secret:
            assert f"secret   {client.client_secret}" in served.text
    for user in demo.users:
        assert f"user       {user.username}" in served.text
    service = next(c for c in demo.clients if c.grant_types == ("client_credentials",))
    assert service.client_id
    assert service.client_secret
    token = f"{served.url}/default/token"
    assert client_credentials(token, service.client_id, service.client_secret) == 200
    assert client_credentials(token, service.client_id, "wrong-secret") == 401


def test_the_demo_device_exchange_and_signer_clients_work(start: Any) -> None:
    """The demo's device client, token-exchange gateway and private_key_jwt signer,
    the signer with the key file the banner names."""
    served = start()
    base = f"{served.url}/default"
    demo = {c.client_id: c for c in demo_config().issuers[0].clients}
    with httpx.Client(timeout=10) as http:
        started = http.post(f"{base}/device_authorization", data={"client_id": "demo-device"})
        device = started.json()
        # with no login page, opening the complete URI approves as the default user
        assert http.get(device["verification_uri_complete"]).status_code == 200
        polled = http.post(f"{base}/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"], "client_id": "demo-device",
        })  # fmt: skip
        assert polled.status_code == 200, polled.text

        service = demo["demo-service"]
        subject = http.post(f"{base}/token", data={"grant_type": "client_credentials"},
                            auth=(service.client_id, service.client_secret or ""))  # fmt: skip
        gateway = demo["demo-gateway"]
        exchange = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject.json()["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "audience": "orders",
        }
        gateway_auth = (gateway.client_id, gateway.client_secret or "")
        exchanged = http.post(f"{base}/token", auth=gateway_auth, data=exchange)
        assert exchanged.status_code == 200, exchanged.text
        assert exchanged.json()["issued_token_type"].endswith(":access_token")

    key_line = next(line for line in served.banner if line.strip().startswith("key "))
    key_file = Path(key_line.split(None, 1)[1])
    private = json.loads(key_file.read_text())
    assert "d" in private  # the private half, for the user's client
    signer = roc.OAuth2Client(f"{base}/token", auth=roc.PrivateKeyJwt("demo-signer", private),
                              testing=True)  # fmt: skip
    assert signer.client_credentials().access_token


def test_sigterm_exits_cleanly(start: Any) -> None:
    served = start()
    returncode, rest, stderr = served.stop(signal.SIGTERM)
    assert returncode == 0
    assert "stopped" in rest
    assert "Traceback" not in stderr
    assert "warning" not in stderr  # 127.0.0.1 is loopback


def test_ctrl_c_exits_cleanly(start: Any) -> None:
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored here, and a child process inherits that")
    served = start()
    returncode, rest, stderr = served.stop(signal.SIGINT)
    assert returncode == 0
    assert "stopped" in rest
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr


# --- --config, --seed, --public-url ---------------------------------------------------------------

MULTI = """
[[issuers]]
issuer_id = "a"

[[issuers.clients]]
client_id = "client-a"
client_secret = "secret-a"
grant_types = ["client_credentials"]

[[issuers]]
issuer_id = "b"

[[issuers.clients]]
client_id = "client-b"
client_secret = "secret-b"
grant_types = ["client_credentials"]
"""


def test_config_with_two_issuers_serves_both(start: Any, tmp_path: Path) -> None:
    served = start("--config", str(write(tmp_path / "multi.toml", MULTI)))
    for name in ("a", "b"):
        issuer = f"{served.url}/{name}"
        assert f"Issuer {issuer}" in served.banner
        assert f"client     client-{name}  (confidential)" in served.text
        assert f"    secret   secret-{name}" in served.text
        doc = get_json(f"{issuer}/.well-known/openid-configuration")
        assert doc["issuer"] == issuer
        assert client_credentials(doc["token_endpoint"], f"client-{name}", f"secret-{name}") == 200
    # Each issuer knows only its own clients.
    assert client_credentials(f"{served.url}/a/token", "client-b", "secret-b") == 401
    assert get_json(served.url + "/")["issuers"] == [f"{served.url}/a", f"{served.url}/b"]
    assert "default" not in served.text


def test_a_relative_config_path_is_read_from_the_cwd(start: Any, tmp_path: Path) -> None:
    write(tmp_path / "multi.toml", MULTI)
    served = start("--config", "multi.toml")
    assert f"Issuer {served.url}/a" in served.banner


SEEDED = """
fake_users = 2

[[clients]]
redirect_uris = ["http://127.0.0.1:5000/cb"]
"""


def test_seed_changes_generated_identities(start: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "seeded.toml", SEEDED)
    config = load_config(path).issuers[0]
    banners = {}
    for seed in (1, 2):
        served = start("--config", str(path), "--seed", str(seed))
        expected = Provider(config, seed=seed)
        for client in expected.clients:
            assert f"client     {client.client_id}  (confidential)" in served.text
            assert f"    secret   {client.client_secret}" in served.text
        for user in expected.users:
            assert f"  user       {user.username}  (sub {user.sub})" in served.text
        banners[seed] = [line for line in served.banner if line.lstrip().startswith("client")]
    assert banners[1] != banners[2]


def test_without_seed_the_config_seed_is_used(start: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "seeded.toml", "seed = 7\n" + SEEDED)
    served = start("--config", str(path))
    expected = Provider(ProviderConfig.from_file(path))
    assert f"client     {expected.clients[0].client_id}  (confidential)" in served.text


def test_public_url_is_the_issuer_base(start: Any) -> None:
    served = start("--public-url", "http://mockauth.test:9999/")
    assert "Issuer http://mockauth.test:9999/default" in served.banner
    doc = get_json(f"{served.url}/default/.well-known/openid-configuration")
    assert doc["issuer"] == "http://mockauth.test:9999/default"


def test_resource_flag_serves_a_protected_resource(start: Any, tmp_path: Path) -> None:
    config = write(tmp_path / "r.toml", """
        [[resources]]
        path = "/api"
        scopes = ["api:read"]
    """)  # fmt: skip
    served = start("--config", str(config), "--resource", "/mcp")
    for path in ("/api", "/mcp"):
        assert f"  resource   {served.url}{path}" in served.text
    assert "  (scopes api:read)" in served.text
    prm = get_json(f"{served.url}/.well-known/oauth-protected-resource/mcp")
    assert prm == {**prm, "resource": f"{served.url}/mcp",
                   "authorization_servers": [f"{served.url}/default"]}  # fmt: skip
    challenge = httpx.get(f"{served.url}/api")
    assert challenge.status_code == 401
    assert 'scope="api:read"' in challenge.headers["WWW-Authenticate"]


def test_login_page_flag_shows_the_sign_in_page(start: Any) -> None:
    served = start("--login-page")
    client = next(c for c in demo_config().issuers[0].clients if c.redirect_uris and c.public)
    assert client.client_id
    page = httpx.get(f"{served.url}/default/authorize", params={
        "response_type": "code", "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0], "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    })  # fmt: skip
    assert page.status_code == 200, page.text
    assert 'data-testid="sign-in"' in page.text


def test_a_bad_resource_flag_exits_2(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--resource", "mcp", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("mockauth: error: --resource: resources[0].path: ")
    assert "Traceback" not in result.stderr


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        ("bad.toml", '[[clients]]\nredirect_uris = ["/cb"]\n', "clients[0].redirect_uris[0]"),
        ("bad.toml", "[tokens]\ncode_ttl = 601\n", "tokens.code_ttl"),
        ("bad.json", '{"issuers": [{"sede": 1}]}', "issuers[0].sede"),
        ("bad.toml", 'seed = 1\n[[issuers]]\nissuer_id = "a"\n', "seed"),
        ("bad.toml", "seed = = 1\n", "invalid TOML"),
        ("bad.ini", "seed = 1\n", "unknown file type"),
    ],
)
def test_a_bad_config_exits_2_naming_the_key(
    tmp_path: Path, name: str, text: str, key: str
) -> None:
    write(tmp_path / name, text)
    result = run("serve", "--port", "0", "--config", name, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"mockauth: error: {name}: ")
    assert key in result.stderr
    assert "Traceback" not in result.stderr
    assert "Listening" not in result.stdout


def test_a_missing_config_exits_2(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--config", "absent.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "absent.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_clashing_users_exit_2_without_a_traceback(tmp_path: Path) -> None:
    write(
        tmp_path / "clash.toml",
        """
        [[users]]
        username = "a"
        sub = "same"

        [[users]]
        username = "b"
        sub = "same"
        """,
    )
    result = run("serve", "--port", "0", "--config", "clash.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("mockauth: error: clash.toml: ")
    assert "'b'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "in use" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: mockauth" in result.stderr


# --- wide hosts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def test_a_wide_host_is_warned_about() -> None:
    # 192.0.2.1 (TEST-NET-1, RFC 5737) is not this machine's: the warning is printed,
    # then the bind fails, so nothing is exposed and no traffic is sent.
    args = build_parser().parse_args(["serve", "--host", "192.0.2.1", "--port", "0"])
    out, err = io.StringIO(), io.StringIO()
    assert serve(args, out, err) == 2
    assert "warning: binding 192.0.2.1" in err.getvalue()
    assert "TEST-ONLY" in err.getvalue()
    assert "cannot serve on 192.0.2.1:0" in err.getvalue()


def test_a_loopback_host_is_not_warned_about(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = argparse.Namespace(
            config=None, host="127.0.0.1", port=port, seed=None, public_url=None, verbose=False
        )
        out, err = io.StringIO(), io.StringIO()
        assert serve(args, out, err) == 2  # the port is taken: it stops before serving
    assert "warning" not in err.getvalue()


# --- version and console script -------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"mockauth {importlib.metadata.version('mockauth')}"


def test_console_script_is_installed(tmp_path: Path) -> None:
    assert SCRIPT is not None, f"no mockauth script beside {sys.executable}"
    result = subprocess.run(
        [SCRIPT, "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0
    assert result.stdout.startswith("mockauth ")


def test_console_script_serves(start: Any) -> None:
    assert SCRIPT is not None
    served = start(command=(SCRIPT,))
    doc = get_json(f"{served.url}/default/.well-known/openid-configuration")
    assert doc["issuer"] == f"{served.url}/default"
    returncode, rest, _ = served.stop(signal.SIGTERM)
    assert returncode == 0
    assert "stopped" in rest


def test_mockauth_serve_tunes_the_collector_of_its_own_process() -> None:
    import gc

    from mockauth.cli import COLLECT_EVERY, tune_collector

    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold() == (COLLECT_EVERY, before[1], before[2])
        assert gc.get_freeze_count() > 0  # the start-up objects are left out of collections
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_fixture_leaves_the_collector_alone(mockauth: Any) -> None:
    import gc

    assert gc.get_threshold()[0] != 20_000
