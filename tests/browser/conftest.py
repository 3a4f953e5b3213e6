"""A real browser for the login page's tests: Debian's Chromium (``apt-get install
chromium``; ``.ci/run`` installs it) driven by Playwright with
``executable_path`` (Playwright's own browser download is not reachable here).
Run as root with apt-get, the first test installs it; without Chromium the
tests are skipped, except on CI, where that is a failure.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

#: Flags for a headless Chromium on a closed network (no background lookups).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _installed_chromium() -> str | None:
    """Chromium's path, installing Debian's package first when this process may
    (root, with apt-get), once per machine under a file lock."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    with open(Path(__file__).with_name(".install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shutil.which("chromium") is None:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for command in (["apt-get", "update", "-qq"],
                            ["apt-get", "install", "-y", "-qq", "chromium"]):  # fmt: skip
                subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module. Not per session: Playwright's sync
    API keeps an event loop running in the thread while it is open, and other
    tests' ``asyncio.run()`` must not meet it."""
    executable = _installed_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Chromium for the browser tests (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, JavaScript on."""
    context = chromium.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>App</title><h1>Back at the app</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def callback_url() -> Iterator[str]:
    """A relying party's redirect URI on loopback, answering every GET with a page."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cb"
    finally:
        server.shutdown()
        server.server_close()
