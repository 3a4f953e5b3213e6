"""The official MCP conformance suite's authorization-server scenarios
(``@modelcontextprotocol/conformance``, whose ``authorization`` command exists
from 0.2.0-alpha.7 on) against a live mockauth, with and without
``--resource``, as a public client.

The suite and the node 22 it needs are npm packages, installed on first use
from ``tests/interop/conformance/package-lock.json`` (``npm ci``) under a file
lock. The suite prints the authorization URL a person would open; with no
login page, a plain GET that follows redirects is that person.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from mockauth import Provider

from ..serve import ServeProcess

HERE = Path(__file__).parent / "conformance"
CLI = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
NODE = HERE / "node_modules" / ".bin" / "node"


@pytest.fixture(scope="session")
def conformance() -> tuple[str, str]:
    """The node binary and the suite's CLI, installed once per machine."""
    npm = shutil.which("npm")
    with open(HERE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (CLI.exists() and NODE.exists()):
            if npm is None:
                if os.environ.get("CI") == "true":
                    pytest.fail("CI needs npm for the MCP conformance suite")
                pytest.skip("npm is not on PATH")
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=HERE, check=True, timeout=300)  # fmt: skip
    return str(NODE), str(CLI)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(conformance: tuple[str, str], issuer: str, *extra: str) -> str:
    node, cli = conformance
    args = [node, cli, "authorization", "--url", issuer, "--client-id", "conformance",
            "-p", str(_free_port()), *extra]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=HERE)  # fmt: skip
    timer = threading.Timer(120, process.kill)  # bounded: never a hung suite
    timer.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            found = re.match(r"(https?://\S+/authorize\?\S+)", line.strip())
            if found:  # the "browser": approve at once (no login page), land on the callback
                httpx.get(found.group(1), follow_redirects=True, timeout=10)
        process.wait()
    finally:
        timer.cancel()
    return "".join(lines)


def _passed_with_no_warnings(output: str) -> None:
    summary = output[output.find("=== SUMMARY ===") :]
    assert "=== SUMMARY ===" in output, output
    total = re.search(r"Total: (\d+) passed, (\d+) failed", summary)
    assert total is not None, output
    assert int(total.group(1)) >= 3, summary
    assert total.group(2) == "0", output
    assert "warning" not in summary.lower(), summary


@pytest.mark.parametrize("resource", [None, "https://mcp.example.test/mcp"])
def test_the_official_suite_passes_with_no_warnings(
    conformance: tuple[str, str], resource: str | None
) -> None:
    provider = Provider()
    # The suite uses `none` whenever the server lists it: a public client with PKCE.
    provider.add_client(client_id="conformance", public=True,
                        redirect_uris=["http://127.0.0.1/callback"])  # fmt: skip
    with provider.serve():
        output = _run(conformance, provider.issuer, *(["--resource", resource] if resource else []))
    _passed_with_no_warnings(output)
    # it really ran the flows against mockauth
    provider.calls.assert_called("token", status=200, client_id="conformance")
    if resource:
        token_call = provider.calls.filter("token", status=200)[-1]
        assert token_call.params.get("resource") == resource


def test_the_official_suite_passes_against_mockauth_serve(
    conformance: tuple[str, str], tmp_path: Path
) -> None:
    """The standalone server, configured from a file, as the issue's users run it."""
    config = tmp_path / "conformance.toml"
    config.write_text(
        '[[clients]]\nclient_id = "conformance"\npublic = true\n'
        'redirect_uris = ["http://127.0.0.1/callback"]\n'
    )
    with ServeProcess("--config", str(config), "--quiet") as served:
        output = _run(conformance, f"{served.url}/default", "--resource", f"{served.url}/mcp")
        calls = httpx.get(f"{served.admin_url}/issuers/default/calls",
                          headers={"X-Mockauth-Admin-Token": str(served.token)}).json()  # fmt: skip
    _passed_with_no_warnings(output)
    tokens = [c for c in calls["calls"] if c["endpoint"] == "token" and c["status"] == 200]
    assert tokens
    assert tokens[-1]["params"]["resource"] == f"{served.url}/mcp"
