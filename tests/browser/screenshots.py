"""Takes the README's screenshots of the login page (``python -m tests.browser.screenshots``
from the repository root, with Chromium installed); they are committed beside it."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import sync_playwright

from mockauth import Provider

from .conftest import CHROMIUM_ARGS

HERE = Path(__file__).with_name("screenshots")


def main() -> None:
    provider = Provider(login_page=True)
    provider.add_client(client_id="shop", client_secret="s" * 32, client_name="Example Shop",
                        redirect_uris=["http://127.0.0.1:5000/callback"])  # fmt: skip
    provider.add_user("alice", password="alice-pw")
    provider.add_user("bob")
    executable = shutil.which("chromium")
    assert executable, "install Chromium first (apt-get install chromium)"
    with provider.serve(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 640, "height": 720})
        query = {"response_type": "code", "client_id": "shop", "scope": "openid profile email",
                 "redirect_uri": "http://127.0.0.1:5000/callback", "state": "demo"}  # fmt: skip
        page.goto(f"{provider.endpoint('authorize')}?{urlencode(query)}")
        page.screenshot(path=str(HERE / "login-page.png"), full_page=True)
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("alert").wait_for()
        page.screenshot(path=str(HERE / "login-page-wrong-password.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
