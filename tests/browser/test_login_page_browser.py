"""The login page in a real browser (headless Chromium, Playwright), driven by
accessible names as browser test suites do: signing in by typing, by Enter
and by the one-click button, a wrong password, Deny, the SSO session,
``prompt=login`` and ``prompt=none``, and the whole flow with JavaScript off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from mockauth import Provider

from ..helpers import pkce_pair

SECRET = "browser-secret-0123456789-abcdefgh"


@pytest.fixture
def provider(callback_url: str) -> Iterator[Provider]:
    p = Provider(login_page=True)
    p.add_client(client_id="web", client_secret=SECRET, redirect_uris=[callback_url],
                 client_name="Browser Test App")  # fmt: skip
    p.add_user("alice", password="alice-pw", name="Alice Liddell")
    p.add_user("bob")
    with p.serve():
        yield p
    p.raise_errors()


class App:
    """The relying party's side: the authorization URL, and the callback the
    browser lands on (``callback_url``, a page on loopback)."""

    def __init__(self, provider: Provider, page: Any) -> None:
        self.provider = provider
        self.page = page
        self.callback = provider.client("web").redirect_uris[0]
        self.verifier, self.challenge = pkce_pair()

    def login(self, **extra: str) -> None:
        params = {"response_type": "code", "client_id": "web", "redirect_uri": self.callback,
                  "scope": "openid profile", "state": "st-1", "code_challenge": self.challenge,
                  "code_challenge_method": "S256", **extra}  # fmt: skip
        self.page.goto(f"{self.provider.endpoint('authorize')}?{urlencode(params)}")

    def landed(self) -> dict[str, str]:
        """The query the browser came back to the app with."""
        self.page.wait_for_url(re.compile("^" + re.escape(self.callback)))
        return {k: v[0] for k, v in parse_qs(urlsplit(self.page.url).query).items()}

    def tokens(self, landed: dict[str, str]) -> Any:
        return httpx.post(self.provider.endpoint("token"), auth=("web", SECRET), data={
            "grant_type": "authorization_code", "code": landed["code"],
            "redirect_uri": self.callback, "code_verifier": self.verifier}).json()  # fmt: skip

    def sub(self, landed: dict[str, str]) -> str:
        tokens = self.tokens(landed)
        claims = self.provider.tokens.decode(tokens["id_token"], audience="web")
        return str(claims["sub"])


@pytest.fixture
def app(provider: Provider, page: Any) -> App:
    return App(provider, page)


def test_sign_in_by_typing(app: App, page: Any, provider: Provider) -> None:
    app.login()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pw")
    page.get_by_role("button", name="Sign in", exact=True).click()
    landed = app.landed()
    assert (landed["state"], landed["iss"]) == ("st-1", provider.issuer)
    assert app.sub(landed) == "alice"
    assert page.get_by_role("heading", name="Back at the app").is_visible()


def test_enter_presses_sign_in(app: App, page: Any) -> None:
    app.login(login_hint="alice")
    assert page.get_by_label("Username").input_value() == "alice"  # pre-filled
    page.get_by_label("Password").fill("alice-pw")
    page.get_by_label("Password").press("Enter")
    assert app.sub(app.landed()) == "alice"


def test_the_one_click_button(app: App, page: Any) -> None:
    app.login()
    page.get_by_role("button", name="Sign in as bob").click()
    assert app.sub(app.landed()) == "bob"
    app.login(prompt="login")  # the test ids are there too
    assert page.get_by_test_id("sign-in-as-alice").is_visible()


def test_a_wrong_password_is_an_alert_and_the_page_stays(app: App, page: Any) -> None:
    app.login()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in", exact=True).click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "Wrong password for alice."
    assert "/cb" not in page.url
    page.get_by_label("Password").fill("alice-pw")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert app.sub(app.landed()) == "alice"


def test_deny(app: App, page: Any, provider: Provider) -> None:
    app.login()
    page.get_by_role("button", name="Deny").click()
    landed = app.landed()
    assert (landed["error"], landed["state"], landed["iss"]) == (
        "access_denied", "st-1", provider.issuer)  # fmt: skip


def test_the_session_skips_the_page_until_prompt_login(app: App, page: Any) -> None:
    app.login()
    page.get_by_role("button", name="Sign in as bob").click()
    app.landed()
    app.login()
    assert app.sub(app.landed()) == "bob"  # SSO: straight back, no page
    app.login(prompt="login")
    assert page.get_by_role("button", name="Sign in", exact=True).is_visible()


def test_prompt_none_without_a_session(app: App) -> None:
    app.login(prompt="none")
    assert app.landed()["error"] == "login_required"


def test_it_works_with_javascript_off(chromium: Any, provider: Provider) -> None:
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        app = App(provider, page)
        app.login()
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("alice-pw")
        page.get_by_role("button", name="Sign in", exact=True).click()
        assert app.sub(app.landed()) == "alice"
    finally:
        context.close()


def test_the_page_renders_and_names_the_app(app: App, page: Any, tmp_path: Any) -> None:
    app.login()
    assert page.title() == "Sign in to Browser Test App"
    assert page.get_by_test_id("client-name").inner_text() == "Browser Test App"
    assert page.get_by_test_id("scopes").inner_text().split() == ["openid", "profile"]
    shot = page.screenshot(path=str(tmp_path / "login.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


def test_claims_typed_in_the_page(app: App, page: Any, provider: Provider) -> None:
    app.login()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Claims (JSON)").fill('{"groups": ["admin"]}')
    page.get_by_role("button", name="Sign in", exact=True).click()
    tokens = app.tokens(app.landed())
    assert provider.tokens.decode(tokens["id_token"], audience="web")["groups"] == ["admin"]


def test_consent_allow_and_deny(page: Any, callback_url: str) -> None:
    provider = Provider(login_page=True, require_consent=True)
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[callback_url],
                        client_name="Consent App")  # fmt: skip
    provider.add_user("bob")
    with provider.serve():
        app = App(provider, page)
        app.login()
        page.get_by_role("button", name="Sign in as bob").click()
        assert page.get_by_role("heading", name="Allow access?").is_visible()
        page.get_by_role("button", name="Allow").click()
        assert app.sub(app.landed()) == "bob"
        app.login(prompt="consent")
        page.get_by_role("button", name="Deny").click()
        assert app.landed()["error"] == "access_denied"


def test_the_device_verification_page(page: Any) -> None:
    from mockauth.device import GRANT_TYPE

    provider = Provider(login_page=True)
    provider.add_client(client_id="tv", client_secret=SECRET, grant_types=[GRANT_TYPE])
    provider.add_user("alice", password="alice-pw")
    with provider.serve():
        started = httpx.post(provider.endpoint("device_authorization"),
                             auth=("tv", SECRET)).json()  # fmt: skip
        page.goto(started["verification_uri"])
        page.get_by_label("Code").fill(started["user_code"])
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("alice-pw")
        page.get_by_role("button", name="Allow").click()
        page.get_by_role("heading", name="Device connected").wait_for()
        tokens = httpx.post(provider.endpoint("token"), auth=("tv", SECRET), data={
            "grant_type": GRANT_TYPE, "device_code": started["device_code"]}).json()  # fmt: skip
        assert provider.tokens.decode(tokens["access_token"])["sub"] == "alice"
