"""Real OAuth clients meeting scripted token-endpoint faults.

Every fault runs through authlib's requests ``OAuth2Session``, authlib's httpx
``OAuth2Client`` and requests-oauthlib. The tests assert the exception each
library documents for the case (INTEROP.md, "Exceptions by case") with its
fields, that the journal shows the call the rule answered, and that the same
session works once the rule is used up: the failure came from the script.

Then the client side of resilience: a retry loop recovering from scripted 503s,
429s and dropped connections, honouring ``Retry-After`` (sleeps are recorded,
never slept); urllib3's own ``Retry`` doing the same under requests; and
auto-refresh of a token the provider's clock expired, then refused by a
scripted ``invalid_grant``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

import httpx
import jwt
import pytest
import requests
import urllib3.util.retry
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client as AuthlibHttpxClient
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import (
    CustomOAuth2Error,
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    MissingTokenError,
    UnauthorizedClientError,
)
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session as OAuthlibSession

from mockauth import Client, Provider, User
from mockauth.faults import Fault, HttpFault, Truncated, proxy_error, rate_limited
from mockauth.scenarios import Match, Rule

from .. import helpers
from ..helpers import WEB_REDIRECT
from .support import authorize, bearer_get

T = TypeVar("T")

LIBRARIES = ("authlib-requests", "authlib-httpx", "requests-oauthlib")
SHORT_LIVED = pytest.mark.mockauth(tokens={"access_token_ttl": 30})
SCOPE = "openid profile email"


@dataclass
class TokenClient:
    """One library's client_credentials client, so each case runs through all three."""

    library: str
    session: Any
    fetch: Callable[[], dict[str, Any]]

    def raise_for_transient_status(self) -> None:
        """Make 429 and 5xx answers raise the HTTP library's error, response attached.

        authlib raises for 5xx itself but turns a JSON 429 into ``OAuthError``;
        oauthlib ignores the status altogether (a 503 is ``MissingTokenError``).
        Both libraries take compliance hooks, which keep the status and
        ``Retry-After`` in reach of a retry policy.
        """
        self.session.register_compliance_hook("access_token_response", _raise_for_transient)


def _raise_for_transient(response: Any) -> Any:
    if response.status_code == 429 or response.status_code >= 500:
        response.raise_for_status()
    return response


@pytest.fixture(params=LIBRARIES)
def token_client(
    request: pytest.FixtureRequest,
    mockauth: Provider,
    service_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TokenClient]:
    """The service client's token fetch through authlib (requests, httpx) or requests-oauthlib."""
    client_id, secret = service_client.client_id, service_client.client_secret
    url = mockauth.endpoint("token")
    session: Any
    if request.param == "requests-oauthlib":
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        session = OAuthlibSession(client=BackendApplicationClient(client_id=client_id))
        fetch = functools.partial(
            session.fetch_token, url, client_id=client_id, client_secret=secret
        )
    else:
        cls = AuthlibSession if request.param == "authlib-requests" else AuthlibHttpxClient
        session = cls(client_id, secret, token_endpoint=url)
        fetch = functools.partial(session.fetch_token, grant_type="client_credentials")
    with session:
        yield TokenClient(request.param, session, fetch)


def script(provider: Provider, fault: Fault | Mapping[str, Any]) -> Rule:
    """Answer the next token request with ``fault``: ``fail(...)`` keywords or a fault object."""
    if isinstance(fault, Fault):
        return provider.add_rule(Rule(Match(endpoint="token"), fault, times=1))
    return provider.fail("token", times=1, **fault)


def statuses(provider: Provider, endpoint: str = "token") -> list[int | None]:
    """The statuses the provider answered ``endpoint`` with, oldest first (None: dropped)."""
    return [call.status for call in provider.calls.filter(endpoint)]


# --- each library's own exception for each fault -------------------------------------


@dataclass(frozen=True)
class Expect:
    """The exception a library raises, and attribute paths that must have these values."""

    raises: type[BaseException]
    fields: Mapping[str, Any] = field(default_factory=dict)


def oauth_errors(error: str, oauthlib_cls: type[BaseException], **fields: Any) -> dict[str, Expect]:
    """authlib's one ``OAuthError`` and oauthlib's class per error code, same fields."""
    return {
        "authlib": Expect(OAuthError, {"error": error, **fields}),
        "requests-oauthlib": Expect(oauthlib_cls, {"error": error, **fields}),
    }


# oauthlib parses any body it cannot use as JSON as a form, finds no token, and
# reports that, whatever the status was.
MISSING_TOKEN = Expect(MissingTokenError, {"error": "missing_token"})
NOT_JSON = {"authlib": Expect(ValueError), "requests-oauthlib": MISSING_TOKEN}


@dataclass(frozen=True)
class Case:
    fault: Fault | Mapping[str, Any]
    status: int | None  # as the journal records it; None: no response at all
    error: str | None  # the OAuth error code the journal records
    expect: Mapping[str, Expect]  # by library; "authlib" stands for both authlib clients


CASES = {
    "invalid_client": Case(
        {"error": "invalid_client"},
        401,
        "invalid_client",
        oauth_errors("invalid_client", InvalidClientError),
    ),
    "invalid_grant": Case(
        {"error": "invalid_grant"},
        400,
        "invalid_grant",
        oauth_errors("invalid_grant", InvalidGrantError),
    ),
    "invalid_scope": Case(
        {"error": "invalid_scope", "description": "scope 'admin' is not granted"},
        400,
        "invalid_scope",
        oauth_errors(
            "invalid_scope", InvalidScopeError, description="scope 'admin' is not granted"
        ),
    ),
    "unauthorized_client": Case(
        {"error": "unauthorized_client"},
        400,
        "unauthorized_client",
        oauth_errors("unauthorized_client", UnauthorizedClientError),
    ),
    "proxy_502_html": Case(
        proxy_error(),
        502,
        None,
        {
            "authlib-requests": Expect(requests.HTTPError, {"response.status_code": 502}),
            "authlib-httpx": Expect(httpx.HTTPStatusError, {"response.status_code": 502}),
            "requests-oauthlib": MISSING_TOKEN,
        },
    ),
    "200_not_json": Case(
        HttpFault(200, "<html><body>Welcome!</body></html>", content_type="text/html"),
        200,
        None,
        NOT_JSON,
    ),
    "200_empty": Case(HttpFault(200), 200, None, NOT_JSON),
    "200_truncated": Case(Truncated(), 200, None, NOT_JSON),
    # A JSON 429: both libraries see an OAuth error and drop the response, so
    # neither the status nor Retry-After reaches the caller (see the retry tests).
    "429_retry_after": Case(
        rate_limited(7),
        429,
        "rate_limited",
        {
            "authlib": Expect(OAuthError, {"error": "rate_limited"}),
            "requests-oauthlib": Expect(CustomOAuth2Error, {"error": "rate_limited"}),
        },
    ),
    "dropped": Case(
        {"drop": True},
        None,
        None,
        {
            "authlib-requests": Expect(requests.ConnectionError, {"response": None}),
            "authlib-httpx": Expect(httpx.RemoteProtocolError),
            "requests-oauthlib": Expect(requests.ConnectionError, {"response": None}),
        },
    ),
}


def attribute(obj: Any, path: str) -> Any:
    return functools.reduce(getattr, path.split("."), obj)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_library_raises_its_own_exception(
    mockauth: Provider, token_client: TokenClient, service_client: Client, case: Case
) -> None:
    library = token_client.library
    expect = case.expect.get(library) or case.expect[library.partition("-")[0]]
    rule = script(mockauth, case.fault)

    with pytest.raises(expect.raises) as caught:
        token_client.fetch()
    for path, value in expect.fields.items():
        assert attribute(caught.value, path) == value, path
    if isinstance(caught.value, (requests.RequestException, httpx.HTTPError)):
        assert caught.value.request is not None
        assert str(caught.value.request.url) == mockauth.endpoint("token")

    [call] = mockauth.calls.assert_called(
        "token", times=1, grant_type="client_credentials", client_id=service_client.client_id
    )
    assert call.rule is rule
    assert (call.status, call.error) == (case.status, case.error)

    # The rule is used up: the same session now gets a real token.
    token = token_client.fetch()
    assert bearer_get(mockauth, "userinfo", token["access_token"]).status_code == 200
    assert statuses(mockauth) == [case.status, 200]


# --- retrying ------------------------------------------------------------------------


TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """A dropped or refused connection, or an HTTP status worth another try."""
    if isinstance(exc, (requests.ConnectionError, httpx.TransportError)):
        return True
    response = getattr(exc, "response", None)
    return response is not None and response.status_code in TRANSIENT_STATUSES


def retry_after(exc: BaseException) -> float | None:
    """``Retry-After`` in seconds (RFC 9110 §10.2.3; delay-seconds form only)."""
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    return float(value) if value is not None and value.strip().isdigit() else None


def retrying(
    call: Callable[[], T], *, attempts: int, sleep: Callable[[float], None], backoff: float = 0.5
) -> T:
    """Call ``call`` until it succeeds, at most ``attempts`` times (tenacity's
    ``stop_after_attempt``); between tries wait what the server asked for, else
    an exponential backoff. Anything that is not transient is raised at once.
    """
    attempt = 1
    while True:
        try:
            return call()
        except Exception as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            sleep(retry_after(exc) or backoff * 2 ** (attempt - 1))
            attempt += 1


GATEWAY_429 = HttpFault(429, "Too Many Requests", headers={"Retry-After": "3"})

RETRY_SCRIPTS = {
    # outcomes, the statuses the journal shows, the sleeps the loop asks for
    "503-503-real": ([503, 503, "real"], [503, 503, 200], [0.5, 1.0]),
    "json-429-real": ([rate_limited(7), "real"], [429, 200], [7.0]),
    "gateway-429-502-real": ([GATEWAY_429, proxy_error(), "real"], [429, 502, 200], [3.0, 1.0]),
    "drop-real": ([{"drop": True}, "real"], [None, 200], [0.5]),
}


@pytest.mark.parametrize(
    ("outcomes", "expected_statuses", "sleeps"), RETRY_SCRIPTS.values(), ids=RETRY_SCRIPTS.keys()
)
def test_retry_loop_recovers(
    mockauth: Provider,
    token_client: TokenClient,
    outcomes: list[Any],
    expected_statuses: list[int | None],
    sleeps: list[float],
) -> None:
    rule = mockauth.fail("token", sequence=outcomes)
    token_client.raise_for_transient_status()
    slept: list[float] = []

    token = retrying(token_client.fetch, attempts=4, sleep=slept.append)

    assert slept == sleeps
    assert bearer_get(mockauth, "userinfo", token["access_token"]).status_code == 200
    assert statuses(mockauth) == expected_statuses
    assert all(call.rule is rule for call in mockauth.calls.filter("token"))


def test_retry_loop_gives_up_after_its_attempts(
    mockauth: Provider, token_client: TokenClient
) -> None:
    mockauth.fail("token", sequence=[503, 503, 503])
    token_client.raise_for_transient_status()
    slept: list[float] = []

    with pytest.raises((requests.HTTPError, httpx.HTTPStatusError)) as caught:
        retrying(token_client.fetch, attempts=3, sleep=slept.append)
    assert caught.value.response is not None
    assert caught.value.response.status_code == 503
    assert slept == [0.5, 1.0]
    assert statuses(mockauth) == [503, 503, 503]


def test_retry_loop_does_not_retry_an_oauth_error(
    mockauth: Provider, token_client: TokenClient
) -> None:
    mockauth.fail("token", error="invalid_client", times=1)
    token_client.raise_for_transient_status()
    slept: list[float] = []

    with pytest.raises((OAuthError, InvalidClientError)) as caught:
        retrying(token_client.fetch, attempts=3, sleep=slept.append)
    assert getattr(caught.value, "error", None) == "invalid_client"
    assert slept == []
    assert statuses(mockauth) == [401]


@pytest.mark.parametrize("token_client", ["authlib-requests", "requests-oauthlib"], indirect=True)
def test_urllib3_retry_honours_retry_after(
    mockauth: Provider, token_client: TokenClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What requests users reach for: urllib3's Retry on the session's adapter.
    # Its sleeps go through the retry module's ``time``: record them instead.
    slept: list[float] = []
    monkeypatch.setattr(
        urllib3.util.retry, "time", SimpleNamespace(sleep=slept.append, time=time.time)
    )
    retry = urllib3.util.retry.Retry(
        total=3,
        status_forcelist=[429, 503],
        allowed_methods=None,  # POST too: a client_credentials request is safe to repeat
        backoff_factor=0.5,
    )
    token_client.session.mount(mockauth.base_url + "/", HTTPAdapter(max_retries=retry))
    mockauth.fail("token", sequence=[rate_limited(7), 503, "real"])

    token = token_client.fetch()

    assert slept == [7, 1.0]  # Retry-After, then the backoff for the second failure
    assert statuses(mockauth) == [429, 503, 200]
    assert bearer_get(mockauth, "userinfo", token["access_token"]).status_code == 200


# --- auto-refresh meeting a scripted invalid_grant -----------------------------------


def authlib_code_flow(provider: Provider, session: Any) -> dict[str, Any]:
    """authorization URL -> /authorize -> fetch_token, with PKCE."""
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(
        provider.endpoint("authorize"), code_verifier=verifier, login_hint="alice"
    )
    token: dict[str, Any] = session.fetch_token(
        authorization_response=authorize(url), code_verifier=verifier
    )
    return token


def assert_refresh_refused(provider: Provider, rule: Rule) -> None:
    """Since the last ``clear_calls``: one refresh, refused by ``rule``, and nothing else."""
    [call] = provider.calls
    assert (call.endpoint, call.grant_type) == ("token", "refresh_token")
    assert (call.status, call.error) == (400, "invalid_grant")
    assert call.rule is rule
    provider.calls.assert_not_called("userinfo")


@SHORT_LIVED
@pytest.mark.parametrize(
    "session_cls", [AuthlibSession, AuthlibHttpxClient], ids=["requests", "httpx"]
)
def test_authlib_auto_refresh_then_scripted_invalid_grant(
    mockauth: Provider, web_client: Client, alice: User, session_cls: type[Any]
) -> None:
    # authlib judges expiry by wall time with a leeway of 60 s: a 30 s token is
    # due for refresh before every request. Advancing the provider's clock past
    # 30 s kills it at the provider too, so only a real refresh lets a request through.
    updates: list[dict[str, Any]] = []
    rule = mockauth.fail(
        "token", grant_type="refresh_token", error="invalid_grant", after=1, times=1
    )
    with session_cls(
        web_client.client_id,
        web_client.client_secret,
        scope=SCOPE,
        redirect_uri=WEB_REDIRECT,
        code_challenge_method="S256",
        token_endpoint=mockauth.endpoint("token"),
        update_token=lambda token, **kwargs: updates.append(dict(token)),
    ) as session:
        first = authlib_code_flow(mockauth, session)
        mockauth.clock.advance(31)
        assert bearer_get(mockauth, "userinfo", first["access_token"]).status_code == 401

        info = session.get(mockauth.endpoint("userinfo"))
        assert info.status_code == 200, info.text
        assert info.json()["sub"] == alice.sub
        [refreshed] = updates
        assert refreshed["access_token"] != first["access_token"]
        [real] = mockauth.calls.filter("token", grant_type="refresh_token")
        assert (real.status, real.rule) == (200, None)  # after=1 let the first one through

        mockauth.clock.advance(31)
        mockauth.clear_calls()
        with pytest.raises(OAuthError) as caught:
            session.get(mockauth.endpoint("userinfo"))
        assert caught.value.error == "invalid_grant"
        assert len(updates) == 1
        assert session.token["access_token"] == refreshed["access_token"]
    assert_refresh_refused(mockauth, rule)


@SHORT_LIVED
def test_requests_oauthlib_auto_refresh_then_scripted_invalid_grant(
    mockauth: Provider, web_client: Client, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests-oauthlib compares the saved expires_at with wall time, no leeway:
    # the saved token's expires_at and the provider's clock move by the same amount.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with httpx.Client() as http:
        token = helpers.code_flow(http, mockauth, web_client, scope=SCOPE, login_hint="alice")
    exp = jwt.decode(token["access_token"], options={"verify_signature": False})["exp"]
    rule = mockauth.fail(
        "token", grant_type="refresh_token", error="invalid_grant", after=1, times=1
    )
    updated: list[dict[str, Any]] = []
    session = OAuthlibSession(
        web_client.client_id,
        token={**token, "expires_at": exp - 31},
        scope=SCOPE.split(),
        auto_refresh_url=mockauth.endpoint("token"),
        auto_refresh_kwargs={
            "client_id": web_client.client_id,
            "client_secret": web_client.client_secret,
        },
        token_updater=updated.append,
    )
    with session:
        mockauth.clock.advance(31)
        info = session.get(mockauth.endpoint("userinfo"))
        assert info.status_code == 200, info.text
        assert info.json()["sub"] == alice.sub
        [refreshed] = updated
        assert refreshed["access_token"] != token["access_token"]

        mockauth.clock.advance(31)
        session.token = {**session.token, "expires_at": session.token["expires_at"] - 31}
        mockauth.clear_calls()
        with pytest.raises(InvalidGrantError) as caught:
            session.get(mockauth.endpoint("userinfo"))
        assert caught.value.error == "invalid_grant"
        assert len(updated) == 1
        assert session.token["access_token"] == refreshed["access_token"]
    assert_refresh_refused(mockauth, rule)
