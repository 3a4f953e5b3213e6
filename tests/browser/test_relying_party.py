"""End to end: a real relying-party web app (Flask with authlib's Flask client,
on a loopback port) and a real browser. The browser clicks the app's login
link, signs in on mockauth's page and ends on the app's page showing the user.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html import escape
from typing import Any

import pytest

from mockauth import Provider

flask = pytest.importorskip("flask")
flask_client = pytest.importorskip("authlib.integrations.flask_client")
serving = pytest.importorskip("werkzeug.serving")

SECRET = "flask-app-secret-0123456789-abcdefg"


def make_app(issuer: str) -> Any:
    """The app under test, as its authors would write it."""
    app = flask.Flask("relying-party")
    app.secret_key = "test-only-session-key"
    oauth = flask_client.OAuth(app)
    oauth.register(
        "mockauth",
        client_id="flask-app",
        client_secret=SECRET,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )

    @app.route("/")
    def home() -> str:
        user = flask.session.get("user")
        if user is None:
            return '<h1>Welcome</h1><a href="/login">Log in</a>'
        return (
            f"<h1>Hello {escape(user.get('name') or user['sub'])}</h1><p>{escape(user['sub'])}</p>"
        )

    @app.route("/login")
    def login() -> Any:
        return oauth.mockauth.authorize_redirect(flask.url_for("callback", _external=True))

    @app.route("/callback")
    def callback() -> Any:
        token = oauth.mockauth.authorize_access_token()
        flask.session["user"] = dict(token["userinfo"])
        return flask.redirect("/")

    return app


@pytest.fixture
def served_app() -> Iterator[tuple[str, Provider]]:
    provider = Provider(login_page=True)
    provider.add_user("alice", password="alice-pw", name="Alice Liddell", email="a@example.com")
    with provider.serve():
        server = serving.make_server("127.0.0.1", 0, make_app(provider.issuer), threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        provider.add_client(client_id="flask-app", client_secret=SECRET,
                            redirect_uris=[f"{url}/callback"], client_name="Flask App")  # fmt: skip
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield url, provider
        finally:
            server.shutdown()
    provider.raise_errors()


def test_the_browser_logs_in_to_the_app_through_the_login_page(
    page: Any, served_app: tuple[str, Provider]
) -> None:
    url, provider = served_app
    page.goto(url)
    page.get_by_role("link", name="Log in").click()
    assert page.get_by_test_id("client-name").inner_text() == "Flask App"
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pw")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("heading", name="Hello Alice Liddell").wait_for()
    assert page.url == url + "/"
    endpoints = [c.endpoint for c in provider.calls if c.endpoint != "discovery"]
    assert endpoints[:3] == ["authorize", "login", "token"]  # then the app reads the JWKS


def test_a_denial_reaches_the_app_as_an_error(page: Any, served_app: tuple[str, Provider]) -> None:
    url, provider = served_app
    page.goto(url)
    page.get_by_role("link", name="Log in").click()
    with page.expect_response(lambda r: "/callback" in r.url) as answer:
        page.get_by_role("button", name="Deny").click()
    assert answer.value.status == 500  # authlib raises access_denied in the app's callback
    assert "error=access_denied" in answer.value.url
    assert [c.error for c in provider.calls if c.endpoint == "login"] == ["access_denied"]
