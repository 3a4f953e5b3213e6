"""The login page (``login_page = true``), driven over HTTP as a browser without
JavaScript would: the page's contract (labels, ids, test ids, the first submit
button, escaping, no external assets), signing in by typing and by one click,
a wrong password, unknown users, Deny, the SSO session and ``prompt``, the
anti-forgery token, and the page switched off.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from mockauth import ConfigError, LiveServer, Provider, ProviderConfig, UnknownUserError

from .helpers import pkce_pair, redirect_params

CALLBACK = "http://127.0.0.1:5000/cb"
SECRET = "login-secret-0123456789-abcdefghij"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(login_page=True)
    p.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK],
                 client_name='Shop <"&> App')  # fmt: skip
    p.add_user("alice", password="alice-pw", email="alice@example.com")
    p.add_user("bob")
    with p.serve():
        yield p
    p.raise_errors()


class Page(HTMLParser):
    """The parts of the page a browser test reads: controls by id and name,
    labels, buttons in order, alerts and every external reference."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str]] = {}
        self.labels: dict[str, str] = {}
        self.buttons: list[dict[str, str]] = []
        self.hidden: dict[str, str] = {}
        self.alerts: list[str] = []
        self.external: list[str] = []
        self.forms: list[dict[str, str]] = []
        self._label: str | None = None
        self._button: dict[str, str] | None = None
        self._alert = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("src", "href"):
            if key in a:
                self.external.append(a[key])
        if tag == "form":
            self.forms.append(a)
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "input":
            self.inputs[a["id"]] = a
        elif tag == "label":
            self._label = a["for"]
        elif tag == "button":
            self._button = {**a, "text": ""}
        elif a.get("role") == "alert":
            self._alert = True
            self.alerts.append("")

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self.labels[self._label] = self.labels.get(self._label, "") + data
        if self._button is not None:
            self._button["text"] += data
        if self._alert:
            self.alerts[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None
        elif tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None
        elif tag == "p":
            self._alert = False


class Browser:
    """A cookie-keeping client that does not follow redirects (the test reads them)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.http = httpx.Client(follow_redirects=False)
        self.verifier, self.challenge = pkce_pair()

    def authorize(self, **extra: str) -> httpx.Response:
        params = {"response_type": "code", "client_id": "web", "redirect_uri": CALLBACK,
                  "scope": "openid email", "state": "s-1", "code_challenge": self.challenge,
                  "code_challenge_method": "S256", **extra}  # fmt: skip
        return self.http.get(self.provider.endpoint("authorize"), params=params)

    def submit(self, page: httpx.Response, **fields: str) -> httpx.Response:
        form = Page(page.text)
        return self.http.post(form.forms[0]["action"], data={**form.hidden, **fields})

    def tokens(self, landed: httpx.Response) -> Any:
        code = redirect_params(landed)["code"]
        return httpx.post(self.provider.endpoint("token"), auth=("web", SECRET), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": self.verifier}).json()  # fmt: skip


@pytest.fixture
def browser(provider: Provider) -> Browser:
    return Browser(provider)


def test_the_page_keeps_its_contract(browser: Browser) -> None:
    shown = browser.authorize(login_hint="alice")
    assert shown.status_code == 200
    assert shown.headers["Content-Type"].startswith("text/html")
    assert shown.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in shown.headers["Content-Security-Policy"]
    page = Page(shown.text)
    assert page.labels == {
        "username": "Username", "password": "Password", "claims": "Claims (JSON)"}  # fmt: skip
    assert re.search(r'<textarea id="claims" name="claims"[^>]*data-testid="claims"', shown.text)
    assert page.inputs["username"]["name"] == "username"
    assert page.inputs["username"]["value"] == "alice"  # login_hint pre-fills it
    assert (page.inputs["password"]["name"], page.inputs["password"]["type"]) == (
        "password", "password")  # fmt: skip
    assert [b["text"] for b in page.buttons] == [
        "Sign in", "Deny", "Sign in as alice", "Sign in as bob"]  # fmt: skip
    assert [b["data-testid"] for b in page.buttons] == [
        "sign-in", "deny", "sign-in-as-alice", "sign-in-as-bob"]  # fmt: skip
    assert all(b["type"] == "submit" for b in page.buttons)  # Sign in first: Enter presses it
    assert not any("required" in i for i in page.inputs.values())  # Deny works with them empty
    (form,) = page.forms
    assert form["method"] == "post"  # a password never goes into a URL
    assert page.external == []  # no external assets: it loads with no internet
    assert "Shop &lt;&quot;&amp;&gt; App" in shown.text  # the client's name, escaped
    assert "<li>openid</li><li>email</li>" in shown.text  # the scopes asked for
    cookie = next(c for c in browser.http.cookies.jar if c.name == "mockauth_login")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert "SameSite=Lax" in shown.headers["Set-Cookie"]


def test_sign_in_by_typing_completes_the_flow(browser: Browser, provider: Provider) -> None:
    page = browser.authorize()
    landed = browser.submit(page, username="alice", password="alice-pw", action="sign-in")
    assert landed.status_code in (302, 303)
    assert landed.headers["Location"].startswith(CALLBACK + "?")
    params = redirect_params(landed)
    assert (params["state"], params["iss"]) == ("s-1", provider.issuer)
    tokens = browser.tokens(landed)
    claims = provider.tokens.decode(tokens["id_token"], audience="web")
    assert (claims["sub"], claims["email"]) == ("alice", "alice@example.com")
    session = next(c for c in browser.http.cookies.jar if c.name == provider.session_cookie)
    assert "SameSite=Lax" in landed.headers["Set-Cookie"]
    assert session.value


def test_one_click_signs_in_with_every_field_empty(browser: Browser, provider: Provider) -> None:
    landed = browser.submit(browser.authorize(), user="bob")
    assert landed.status_code == 302
    assert provider.tokens.decode(browser.tokens(landed)["access_token"])["sub"] == "bob"


def test_a_wrong_password_shows_the_form_again_with_an_alert(browser: Browser) -> None:
    page = browser.authorize()
    again = browser.submit(page, username="alice", password="nope", action="sign-in")
    assert again.status_code == 200
    shown = Page(again.text)
    assert shown.alerts == ["Wrong password for alice."]
    assert shown.inputs["username"]["value"] == "alice"
    assert shown.inputs["password"].get("value", "") == ""  # never echoed
    assert "Location" not in again.headers
    landed = browser.submit(again, username="alice", password="alice-pw", action="sign-in")
    assert landed.status_code == 302  # the same page, signed in on the second try


def test_an_empty_username_is_said(browser: Browser) -> None:
    again = browser.submit(browser.authorize(), username=" ", action="sign-in")
    assert Page(again.text).alerts == ["Enter a username."]


def test_an_unknown_username_signs_in_as_a_new_user(browser: Browser, provider: Provider) -> None:
    landed = browser.submit(browser.authorize(), username="carol", action="sign-in")
    assert provider.tokens.decode(browser.tokens(landed)["access_token"])["sub"] == "carol"
    assert provider.find_user("carol") is not None


def test_known_users_only_refuses_an_unknown_username() -> None:
    provider = Provider(login_page=True, known_users_only=True)
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    with provider.serve():
        browser = Browser(provider)
        again = browser.submit(browser.authorize(), username="mallory<b>", action="sign-in")
        assert Page(again.text).alerts == ["No user 'mallory<b>'."]
        assert "mallory&lt;b&gt;" in again.text  # escaped, in the alert and the field
    assert provider.find_user("mallory<b>") is None


def test_deny_redirects_with_access_denied_state_and_iss(
    browser: Browser, provider: Provider
) -> None:
    landed = browser.submit(browser.authorize(), action="deny")
    assert landed.status_code == 302
    params = redirect_params(landed)
    assert (params["error"], params["state"], params["iss"]) == (
        "access_denied", "s-1", provider.issuer)  # fmt: skip
    assert "code" not in params


def test_a_used_or_forged_form_is_a_page_not_a_redirect(browser: Browser) -> None:
    page = browser.authorize()
    assert browser.submit(page, user="bob").status_code == 302
    replayed = browser.submit(page, user="bob")
    assert replayed.status_code == 400
    assert "expired or was used" in replayed.text
    fresh = browser.authorize(prompt="login")
    forged = Page(fresh.text).hidden
    stranger = httpx.post(Page(fresh.text).forms[0]["action"], data={**forged, "user": "bob"})
    assert stranger.status_code == 400  # no cookie: another site's auto-submitted form
    assert "anti-forgery" in stranger.text
    wrong = browser.http.post(Page(fresh.text).forms[0]["action"],
                              data={**forged, "csrf": "x" * 32, "user": "bob"})  # fmt: skip
    assert wrong.status_code == 400
    assert browser.submit(fresh, user="bob").status_code == 302  # the page itself still works


def test_two_pages_in_two_tabs_both_work(browser: Browser) -> None:
    first, second = browser.authorize(), browser.authorize()
    assert browser.submit(first, user="alice", password="alice-pw").status_code == 302
    assert browser.submit(second, user="bob").status_code == 302


def test_the_session_skips_the_page_until_prompt_login_or_max_age(
    browser: Browser, provider: Provider
) -> None:
    browser.submit(browser.authorize(), user="bob")
    skipped = browser.authorize()
    assert skipped.status_code == 302  # SSO: no page
    assert provider.tokens.decode(browser.tokens(skipped)["access_token"])["sub"] == "bob"
    assert browser.authorize(prompt="login").status_code == 200
    assert browser.authorize(login_hint="alice").status_code == 200  # someone else: the page
    assert browser.authorize(max_age="60").status_code == 302
    provider.clock.advance(61)
    assert browser.authorize(max_age="60").status_code == 200


def test_prompt_none_without_a_session_is_login_required(
    browser: Browser, provider: Provider
) -> None:
    answer = browser.authorize(prompt="none")
    assert answer.status_code == 302
    params = redirect_params(answer)
    assert (params["error"], params["state"], params["iss"]) == (
        "login_required", "s-1", provider.issuer)  # fmt: skip
    browser.submit(browser.authorize(), user="bob")
    assert "code" in redirect_params(browser.authorize(prompt="none"))


def test_end_session_clears_the_session(browser: Browser, provider: Provider) -> None:
    landed = browser.submit(browser.authorize(), user="bob")
    id_token = browser.tokens(landed)["id_token"]
    browser.http.get(provider.endpoint("end_session"), params={"id_token_hint": id_token})
    assert browser.authorize().status_code == 200  # signed out: the page again


def test_a_pushed_request_shows_the_page_too(browser: Browser, provider: Provider) -> None:
    pushed = httpx.post(provider.endpoint("par"), auth=("web", SECRET), data={
        "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid",
        "state": "p-1", "code_challenge": browser.challenge, "code_challenge_method": "S256",
    }).json()  # fmt: skip
    by_reference = {"client_id": "web", "request_uri": pushed["request_uri"]}
    page = browser.http.get(provider.endpoint("authorize"), params=by_reference)
    assert page.status_code == 200
    landed = browser.submit(page, action="deny")
    assert redirect_params(landed)["state"] == "p-1"  # the pushed request's own state


def test_the_journal_redacts_the_password(browser: Browser, provider: Provider) -> None:
    browser.submit(browser.authorize(), username="alice", password="alice-pw", action="sign-in")
    (login,) = [c for c in provider.calls if c.endpoint == "login"]
    assert login.params["password"] == "[redacted]"
    assert "alice-pw" not in repr(provider.calls)


def test_without_the_page_authorize_approves_at_once_and_login_is_404() -> None:
    provider = Provider()
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    with provider.serve():
        browser = Browser(provider)
        assert browser.authorize().status_code == 302
        assert httpx.post(provider.issuer + "/login", data={"user": "x"}).status_code == 404
        assert "login" not in re.findall(r'"(\w+)_endpoint"', httpx.get(
            provider.endpoint("discovery")).text)  # fmt: skip


@pytest.mark.parametrize(
    "error",
    ["access_denied", "login_required", "interaction_required", "server_error",
     "temporarily_unavailable"],
)  # fmt: skip
def test_a_rule_makes_the_login_end_in_an_error(
    browser: Browser, provider: Provider, error: str
) -> None:
    """A scenario rule at ``login``: whatever the user does, the login ends in
    ``error``, redirected with ``state`` and ``iss`` like the real ones."""
    provider.fail("login", error=error, times=1)
    landed = browser.submit(browser.authorize(), username="alice", password="alice-pw")
    assert landed.status_code == 302
    params = redirect_params(landed)
    assert (params["error"], params["state"], params["iss"]) == (error, "s-1", provider.issuer)
    again = browser.submit(browser.authorize(), user="bob")  # the rule is used up
    assert "code" in redirect_params(again)


# --- claims -------------------------------------------------------------------------


def test_typed_claims_go_into_the_id_token_and_userinfo(
    browser: Browser, provider: Provider
) -> None:
    typed = '{"groups": ["admin", "ops"], "email": "override@example.com", "tenant": 7}'
    landed = browser.submit(browser.authorize(), username="alice", password="alice-pw",
                            claims=typed, action="sign-in")  # fmt: skip
    tokens = browser.tokens(landed)
    claims = provider.tokens.decode(tokens["id_token"], audience="web")
    assert (claims["groups"], claims["email"], claims["tenant"]) == (
        ["admin", "ops"], "override@example.com", 7)  # fmt: skip
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = httpx.get(provider.endpoint("userinfo"), headers=bearer).json()
    assert (info["sub"], info["groups"], info["email"]) == (
        "alice", ["admin", "ops"], "override@example.com")  # fmt: skip
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = httpx.post(provider.endpoint("token"), auth=("web", SECRET), data=refresh).json()
    assert provider.tokens.decode(refreshed["id_token"], audience="web")["groups"] == [
        "admin", "ops"]  # fmt: skip
    # The SSO session keeps the login's claims; a new login has its own (none here).
    again = browser.tokens(browser.authorize())
    assert provider.tokens.decode(again["id_token"], audience="web")["tenant"] == 7
    plain = browser.tokens(browser.submit(browser.authorize(prompt="login"), user="alice"))
    assert "groups" not in provider.tokens.decode(plain["id_token"], audience="web")


def test_config_claims_of_a_user_come_with_an_interactive_login() -> None:
    provider = Provider(ProviderConfig.from_mapping({"login_page": True, "users": [
        {"username": "dana", "claims": {"groups": ["staff"], "name": "Dana"}}]}))  # fmt: skip
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    with provider.serve():
        browser = Browser(provider)
        landed = browser.submit(browser.authorize(scope="openid profile"), username="dana",
                                claims='{"groups": ["staff", "oncall"]}')  # fmt: skip
        claims = provider.tokens.decode(browser.tokens(landed)["id_token"], audience="web")
    assert (claims["name"], claims["groups"]) == ("Dana", ["staff", "oncall"])  # typed win


@pytest.mark.parametrize(
    ("typed", "alert"),
    [
        ("{nope", "Claims are not JSON: Expecting property name enclosed in double quotes "
                  "(line 1, column 2)."),
        ('["admin"]', 'Claims: must be a JSON object, like {"groups": ["admin"]}.'),
        ('{"sub": "root"}', "Claims: 'sub' is set by the provider."),
        ('{"iss": "x"}', "Claims: 'iss' is set by the provider."),
    ],
)  # fmt: skip
def test_bad_claims_show_the_form_again(browser: Browser, typed: str, alert: str) -> None:
    again = browser.submit(browser.authorize(), username="alice", password="alice-pw",
                           claims=typed, action="sign-in")  # fmt: skip
    assert again.status_code == 200
    assert Page(again.text).alerts == [alert]
    assert html.escape(typed) in again.text  # what was typed stays, escaped
    landed = browser.submit(again, username="alice", password="alice-pw", action="sign-in")
    assert landed.status_code == 302


# --- next_login ---------------------------------------------------------------------


def test_next_login_completes_the_next_authorize_at_once(
    browser: Browser, provider: Provider
) -> None:
    provider.next_login("bob", claims={"groups": ["beta"]})
    provider.next_login("alice")
    first = browser.authorize()
    assert first.status_code == 302  # no page: scripted
    claims = provider.tokens.decode(browser.tokens(first)["id_token"], audience="web")
    assert (claims["sub"], claims["groups"]) == ("bob", ["beta"])
    second = browser.authorize(prompt="login")
    assert provider.tokens.decode(browser.tokens(second)["access_token"])["sub"] == "alice"
    assert browser.authorize(prompt="login").status_code == 200  # the queue is empty: the page


def test_next_login_without_the_page_and_its_errors() -> None:
    provider = Provider()
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    provider.add_user("erin")
    with provider.serve():
        browser = Browser(provider)
        provider.next_login("erin", claims={"roles": ["reader"]})
        landed = browser.authorize()
        claims = provider.tokens.decode(browser.tokens(landed)["id_token"], audience="web")
        assert (claims["sub"], claims["roles"]) == ("erin", ["reader"])
    with pytest.raises(UnknownUserError):
        provider.next_login("nobody")
    with pytest.raises(ConfigError, match="'aud' is set by the provider"):
        provider.next_login("erin", claims={"aud": "x"})
    assert provider.store.next_logins == []  # nothing queued by the refused calls


def test_next_login_over_the_admin_api() -> None:
    provider = Provider(login_page=True)
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    provider.add_user("frank")
    token = "admin-token-0123456789-abcdefgh"
    with LiveServer([provider], admin_token=token) as server:
        url = f"{server.admin_url}/issuers/default/next_login"
        headers = {"X-Mockauth-Admin-Token": token}
        queued = httpx.post(url, json={"user": "frank", "claims": {"team": "a"}}, headers=headers)
        assert (queued.status_code, queued.json()) == (
            201,
            {"sub": "frank", "claims": {"team": "a"}},
        )
        assert httpx.post(url, json={"user": "nobody"}, headers=headers).status_code == 404
        refused = httpx.post(url, json={"claims": {"exp": 1}}, headers=headers)
        assert (refused.status_code, refused.json()["key"]) == (400, "claims")
        browser = Browser(provider)
        landed = browser.authorize()
        claims = provider.tokens.decode(browser.tokens(landed)["id_token"], audience="web")
    assert (claims["sub"], claims["team"]) == ("frank", "a")


# --- consent ---------------------------------------------------------------------------


def test_consent_is_asked_once_per_user_client_and_scopes() -> None:
    provider = Provider(login_page=True, require_consent=True)
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK],
                        client_name="Consent <App>")  # fmt: skip
    provider.add_user("alice")
    with provider.serve():
        browser = Browser(provider)
        asked = browser.submit(browser.authorize(), user="alice")
        assert asked.status_code == 200  # signed in: now the consent page
        shown = Page(asked.text)
        assert [b["text"] for b in shown.buttons] == ["Allow", "Deny"]
        assert [b["data-testid"] for b in shown.buttons] == ["allow", "deny"]
        assert "Consent &lt;App&gt;" in asked.text
        assert "<li>openid</li><li>email</li>" in asked.text
        landed = browser.submit(asked, action="allow")
        assert "code" in redirect_params(landed)
        assert browser.authorize().status_code == 302  # allowed before: SSO, no page
        wider = browser.authorize(scope="openid email profile")
        assert wider.status_code == 200  # a new scope: asked again
        denied = browser.submit(wider, action="deny")
        params = redirect_params(denied)
        assert (params["error"], params["state"], params["iss"]) == (
            "access_denied", "s-1", provider.issuer)  # fmt: skip
        silent = redirect_params(browser.authorize(scope="openid profile", prompt="none"))
        assert silent["error"] == "consent_required"
        assert browser.authorize(prompt="consent").status_code == 200  # forced


def test_prompt_consent_and_per_client_consent(browser: Browser, provider: Provider) -> None:
    browser.submit(browser.authorize(), user="bob")
    forced = browser.authorize(prompt="consent")  # the login page is on: asked
    assert Page(forced.text).buttons[0]["text"] == "Allow"
    assert "code" in redirect_params(browser.submit(forced, action="allow"))
    no_page = Provider()  # without the login page, prompt=consent approves (MCP clients send it)
    no_page.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    asking = no_page.add_client(client_id="asking", client_secret=SECRET,
                                redirect_uris=[CALLBACK], require_consent=True)  # fmt: skip
    with no_page.serve():
        plain = Browser(no_page)
        assert plain.authorize(prompt="consent").status_code == 302
        page = plain.http.get(no_page.endpoint("authorize"), params={
            "response_type": "code", "client_id": asking.client_id, "redirect_uri": CALLBACK,
            "code_challenge": plain.challenge, "code_challenge_method": "S256"})  # fmt: skip
        assert page.status_code == 200  # this client asks for consent, page or not
        assert Page(page.text).buttons[0]["data-testid"] == "allow"


# --- the device verification page ----------------------------------------------------------


def _device_start(provider: Provider) -> Any:
    return httpx.post(provider.endpoint("device_authorization"), auth=("tv", SECRET)).json()


def test_the_device_page_asks_for_the_code_then_allow_or_deny() -> None:
    from mockauth.device import GRANT_TYPE

    provider = Provider(login_page=True)
    provider.add_client(client_id="tv", client_secret=SECRET, grant_types=[GRANT_TYPE])
    provider.add_user("alice", password="alice-pw")
    with provider.serve():
        browser = Browser(provider)
        started = _device_start(provider)
        asked = browser.http.get(provider.endpoint("device_verification"))
        shown = Page(asked.text)
        assert shown.labels == {"user_code": "Code"}
        assert [b["text"] for b in shown.buttons] == ["Continue"]
        wrong = browser.http.get(asked.url, params={"user_code": "BCDF-GHJK"})
        assert Page(wrong.text).alerts == ["No device is waiting for the code BCDF-GHJK."]
        connect = browser.http.get(asked.url, params={"user_code": started["user_code"]})
        page = Page(connect.text)
        assert [b["text"] for b in page.buttons] == ["Allow", "Deny"]
        assert set(page.labels.values()) == {"Username", "Password"}
        bad = browser.submit(connect, username="alice", password="no", action="allow")
        assert Page(bad.text).alerts == ["Wrong password for alice."]
        done = browser.submit(bad, username="alice", password="alice-pw", action="allow")
        assert "Device connected" in done.text
        token = httpx.post(provider.endpoint("token"), auth=("tv", SECRET), data={
            "grant_type": GRANT_TYPE, "device_code": started["device_code"]}).json()  # fmt: skip
        assert provider.tokens.decode(token["access_token"])["sub"] == "alice"
        denied = _device_start(provider)
        page2 = browser.http.get(asked.url, params={"user_code": denied["user_code"]})
        assert "Device not connected" in browser.submit(page2, action="deny").text
        polled = httpx.post(provider.endpoint("token"), auth=("tv", SECRET), data={
            "grant_type": GRANT_TYPE, "device_code": denied["device_code"]}).json()  # fmt: skip
        assert polled["error"] == "access_denied"
        forged = Page(browser.http.get(asked.url, params={
            "user_code": _device_start(provider)["user_code"]}).text).hidden  # fmt: skip
        stranger = httpx.post(asked.url, data={**forged, "action": "allow", "user": "alice"})
        assert stranger.status_code == 400  # no cookie: another site's form


def test_the_device_page_knows_the_signed_in_user() -> None:
    from mockauth.device import GRANT_TYPE

    provider = Provider(login_page=True)
    provider.add_client(client_id="tv", client_secret=SECRET, grant_types=[GRANT_TYPE])
    provider.add_client(client_id="web", client_secret=SECRET, redirect_uris=[CALLBACK])
    provider.add_user("bob")
    with provider.serve():
        browser = Browser(provider)
        browser.submit(browser.authorize(), user="bob")  # a login session in this browser
        started = _device_start(provider)
        connect = browser.http.get(provider.endpoint("device_verification"),
                                   params={"user_code": started["user_code"]})  # fmt: skip
        assert 'data-testid="user">bob<' in connect.text
        assert "username" not in Page(connect.text).inputs
        assert "Device connected" in browser.submit(connect, action="allow").text
        device = provider.store.device_by_user_code(started["user_code"].replace("-", ""))
        assert device is not None
        assert device.sub == "bob"


def test_a_queued_login_whose_user_was_removed_is_login_required(
    browser: Browser, provider: Provider
) -> None:
    provider.next_login("bob")
    provider.remove_user(provider.user("bob").sub)
    params = redirect_params(browser.authorize())
    assert (params["error"], params["state"]) == ("login_required", "s-1")
    assert "no longer registered" in params["error_description"]
