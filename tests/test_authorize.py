"""Authorization endpoint strictness (RFC 6749 §3.1, §4.1; RFC 7636; RFC 9207; OIDC Core §3.1.2)."""

from __future__ import annotations

import base64
import html
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import jwt
import pytest

from mockauth import Client, Provider

from .helpers import SPA_REDIRECT, WEB_REDIRECT, pkce_pair, redirect_params

APP_REDIRECT = "https://app.example.com/cb"
APP_QUERY_REDIRECT = "https://app.example.com/q?tenant=1"


def authorize(http: httpx.Client, provider: Provider, **params: str) -> httpx.Response:
    return http.get(provider.endpoint("authorize"), params=params)


def base_params(client: Client, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": "openid",
    }
    params.update(extra)
    return params


def assert_error_page(response: httpx.Response) -> None:
    """RFC 6749 §4.1.2.1: an error page, never a redirect."""
    assert response.status_code == 400, (response.status_code, response.headers)
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def redeem(
    http: httpx.Client,
    provider: Provider,
    client: Client,
    code: str,
    *,
    redirect_uri: str | None = None,
    verifier: str | None = None,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri or client.redirect_uris[0],
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = None
    if client.client_secret:
        auth = (client.client_id, client.client_secret)
    else:
        data["client_id"] = client.client_id
    return http.post(provider.endpoint("token"), data=data, auth=auth)


def id_claims(provider: Provider, id_token: str, client_id: str) -> dict[str, Any]:
    keys = jwt.PyJWKSet.from_dict(provider.jwks())
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        id_token,
        key.key,
        algorithms=[key.algorithm_name],
        audience=client_id,
        issuer=provider.issuer,
        options={"verify_exp": False, "verify_iat": False},
    )
    return claims


@pytest.fixture
def app(provider: Provider) -> Client:
    """A confidential client with non-loopback redirect URIs, one with a query."""
    return provider.add_client(
        client_id="app",
        client_secret="app-secret-0123456789-abcdefghijkl",
        redirect_uris=[APP_REDIRECT, APP_QUERY_REDIRECT],
    )


# --- client and redirect_uri: an error page, never a redirect ---------------


def test_unknown_client_id_is_an_error_page(http: httpx.Client, provider: Provider) -> None:
    r = authorize(
        http, provider, response_type="code", client_id="nobody", redirect_uri=WEB_REDIRECT
    )
    assert_error_page(r)


def test_missing_client_id_is_an_error_page(http: httpx.Client, provider: Provider) -> None:
    r = authorize(http, provider, response_type="code", redirect_uri=WEB_REDIRECT)
    assert_error_page(r)


def test_missing_redirect_uri_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    params = base_params(web)
    del params["redirect_uri"]
    assert_error_page(authorize(http, provider, **params))


def test_client_without_registered_redirect_uris_is_an_error_page(
    http: httpx.Client, provider: Provider
) -> None:
    provider.add_client(client_id="bare", client_secret="bare-secret-0123456789")
    r = authorize(http, provider, response_type="code", client_id="bare", redirect_uri=WEB_REDIRECT)
    assert_error_page(r)


def test_foreign_redirect_uri_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = authorize(http, provider, **base_params(web, redirect_uri="https://evil.example/cb"))
    assert_error_page(r)


def test_another_clients_redirect_uri_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = authorize(http, provider, **base_params(web, redirect_uri=SPA_REDIRECT))
    assert_error_page(r)


def test_error_page_escapes_input(http: httpx.Client, provider: Provider) -> None:
    r = authorize(
        http, provider, response_type="code", client_id="<script>x</script>", redirect_uri="x"
    )
    assert_error_page(r)
    assert "<script>" not in r.text


@pytest.mark.parametrize(
    "uri",
    [
        APP_REDIRECT + "/",
        "HTTPS://app.example.com/cb",
        "https://APP.EXAMPLE.COM/cb",
        "https://app.example.com:443/cb",
        APP_REDIRECT + "?x=1",
        "https://app.example.com/x/../cb",
        "https://app.example.com/%2E%2E/cb",
        "https://app.example.com/%63b",
        APP_REDIRECT + "#frag",
        APP_REDIRECT + "#",
        "https://app.example.com/c",
        "https://app.example.com/cbb",
        "http://app.example.com/cb",
        "https://user@app.example.com/cb",
        "https://app.example.com.evil.example/cb",
        "javascript:alert(1)//https://app.example.com/cb",
        "javascript://app.example.com/cb",
        APP_QUERY_REDIRECT + "&extra=1",
        "https://app.example.com/q",
        "https://app.example.com/q?tenant=2",
        " " + APP_REDIRECT,
    ],
)
def test_redirect_uri_is_compared_as_an_exact_string(
    http: httpx.Client, provider: Provider, app: Client, uri: str
) -> None:
    assert_error_page(authorize(http, provider, **base_params(app, redirect_uri=uri)))


@pytest.mark.parametrize("uri", [APP_REDIRECT, APP_QUERY_REDIRECT])
def test_registered_redirect_uri_is_accepted(
    http: httpx.Client, provider: Provider, app: Client, uri: str
) -> None:
    r = authorize(http, provider, **base_params(app, redirect_uri=uri, state="s"))
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith(uri)
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    if "?" in uri:
        assert query["tenant"] == ["1"]
    assert query["state"] == ["s"]
    assert len(query["code"]) == 1


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:5000/cb",
        "http://127.0.0.1:61234/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:1/cb",
    ],
)
def test_loopback_ip_redirect_may_use_any_port(
    http: httpx.Client, provider: Provider, web: Client, uri: str
) -> None:
    """RFC 8252 §7.3: native apps get an ephemeral port on the loopback interface."""
    r = authorize(http, provider, **base_params(web, redirect_uri=uri, login_hint="alice"))
    params = redirect_params(r)
    assert r.headers["location"].startswith(uri + "?")
    # The code is bound to the exact URI that was used.
    assert redeem(http, provider, web, params["code"], redirect_uri=uri).status_code == 200


def test_ipv6_loopback_redirect_may_use_any_port(http: httpx.Client, provider: Provider) -> None:
    client = provider.add_client(
        client_id="native6",
        client_secret="native6-secret-0123456789",
        redirect_uris=["http://[::1]/cb"],
    )
    r = authorize(http, provider, **base_params(client, redirect_uri="http://[::1]:49152/cb"))
    assert r.status_code == 302
    assert r.headers["location"].startswith("http://[::1]:49152/cb?")


@pytest.mark.parametrize(
    "uri",
    [
        "HTTP://127.0.0.1:5000/cb",
        "https://127.0.0.1:5000/cb",
        "http://127.0.0.1:5000/cb/",
        "http://127.0.0.1:5000/CB",
        "http://127.0.0.1:5000/cb?x=1",
        "http://127.0.0.1:5000/cb#f",
        "http://127.0.0.1:5000/x/../cb",
        "http://127.0.0.2:5000/cb",
        "http://127.1:5000/cb",
        "http://u@127.0.0.1:5000/cb",
        "http://127.0.0.1:abc/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:/cb",
        "http://localhost:5000/cb",
    ],
)
def test_loopback_port_variance_allows_nothing_else(
    http: httpx.Client, provider: Provider, web: Client, uri: str
) -> None:
    assert_error_page(authorize(http, provider, **base_params(web, redirect_uri=uri)))


def test_localhost_name_gets_no_port_variance(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    """RFC 8252 §7.3 relaxes the port for loopback IP literals only."""
    _, challenge = pkce_pair()
    params = base_params(
        spa, redirect_uri="http://localhost:3001/callback", code_challenge=challenge
    )
    assert_error_page(authorize(http, provider, **params))


@pytest.mark.parametrize(
    "extra",
    [
        {"scope": "openid bad\\scope"},
        {"response_type": "token"},
        {"code_challenge": "short"},
        {"prompt": "none"},
        {"login_hint": "nobody"},
        {"response_mode": "bogus"},
    ],
)
def test_redirect_uri_is_checked_before_other_errors(
    http: httpx.Client, provider: Provider, web: Client, extra: dict[str, str]
) -> None:
    # The same request with the registered URI is redirected with an error ...
    good = authorize(http, provider, **base_params(web, **extra))
    assert redirect_params(good)["error"]
    # ... with a foreign one it must be a page, or the error leaks to an attacker.
    bad = authorize(
        http, provider, **base_params(web, redirect_uri="https://evil.example/", **extra)
    )
    assert_error_page(bad)


def test_duplicate_client_id_or_redirect_uri_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    url = provider.endpoint("authorize")
    for name in ("client_id", "redirect_uri"):
        params = [*base_params(web).items(), (name, base_params(web)[name])]
        assert_error_page(http.get(url, params=params))


# --- errors redirected with state and iss -----------------------------------


@pytest.mark.parametrize(
    "state",
    [
        "a&b=c+d%20e%zz",
        "ünïcødé ☃ 𝄞",
        "x" * 2048,
        "".join(chr(c) for c in range(0x21, 0x7F)),
        " leading and trailing ",
    ],
)
def test_error_redirect_carries_state_byte_for_byte_and_iss(
    http: httpx.Client, provider: Provider, web: Client, state: str
) -> None:
    r = authorize(http, provider, **base_params(web, response_type="token", state=state))
    params = redirect_params(r)
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == state
    assert params["iss"] == provider.issuer


@pytest.mark.parametrize("state", ["a&b=c+d%20e%zz", "ünïcødé ☃", "y" * 2048])
def test_success_redirect_carries_state_byte_for_byte_and_iss(
    http: httpx.Client, provider: Provider, web: Client, state: str
) -> None:
    params = redirect_params(authorize(http, provider, **base_params(web, state=state)))
    assert params["state"] == state
    assert params["iss"] == provider.issuer
    assert "error" not in params
    assert params["code"]


def test_state_round_trips_through_a_raw_query(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    """The client sends ``state`` percent-encoded with quote(); it comes back the same."""
    state = "%&=+ /?#é"
    query = urlencode(base_params(web)) + "&state=" + quote(state, safe="")
    r = http.get(provider.endpoint("authorize") + "?" + query)
    assert redirect_params(r)["state"] == state


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code token"}, "unsupported_response_type"),
        ({"response_type": "id_token"}, "unsupported_response_type"),
        ({"scope": "openid bad\\scope"}, "invalid_scope"),
        ({"scope": 'openid "quoted"'}, "invalid_scope"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://app.example/req"}, "request_uri_not_supported"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"response_mode": "bogus"}, "invalid_request"),
    ],
)
def test_other_errors_are_redirected(
    http: httpx.Client, provider: Provider, web: Client, extra: dict[str, str], error: str
) -> None:
    params = redirect_params(authorize(http, provider, **base_params(web, state="s1", **extra)))
    assert params["error"] == error
    assert params["state"] == "s1"
    assert params["iss"] == provider.issuer
    assert "code" not in params
    description = params.get("error_description", "")
    assert re.fullmatch(r"[\x20\x21\x23-\x5b\x5d-\x7e]*", description)


def test_missing_response_type_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    params = base_params(web, state="s")
    del params["response_type"]
    got = redirect_params(authorize(http, provider, **params))
    assert got["error"] == "invalid_request"
    assert got["state"] == "s"


def test_client_without_code_grant_is_unauthorized_client(
    http: httpx.Client, provider: Provider
) -> None:
    provider.add_client(
        client_id="m2m",
        client_secret="m2m-secret-0123456789",
        grant_types=["client_credentials"],
        redirect_uris=[APP_REDIRECT],
    )
    r = authorize(http, provider, response_type="code", client_id="m2m", redirect_uri=APP_REDIRECT)
    assert redirect_params(r)["error"] == "unauthorized_client"


def test_scope_outside_allowed_scopes_is_invalid_scope(
    http: httpx.Client, provider: Provider
) -> None:
    client = provider.add_client(
        client_id="narrow",
        client_secret="narrow-secret-0123456789",
        redirect_uris=[APP_REDIRECT],
        allowed_scopes=["openid", "email"],
    )
    ok = authorize(http, provider, **base_params(client, scope="openid email"))
    assert "code" in redirect_params(ok)
    bad = authorize(http, provider, **base_params(client, scope="openid admin"))
    assert redirect_params(bad)["error"] == "invalid_scope"


# --- parameters: duplicates, unknown, empty ---------------------------------


@pytest.mark.parametrize("name", ["state", "scope", "response_type", "nonce", "code_challenge"])
def test_duplicate_parameter_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client, name: str
) -> None:
    _, challenge = pkce_pair()
    base = base_params(web, state="s", nonce="n", code_challenge=challenge)
    params = [*base.items(), (name, base[name])]
    got = redirect_params(http.get(provider.endpoint("authorize"), params=params))
    assert got["error"] == "invalid_request"
    assert "code" not in got
    if name == "state":
        assert "state" not in got  # which one would be echoed is ambiguous
    else:
        assert got["state"] == "s"


def test_unknown_parameters_are_ignored(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    got = redirect_params(
        authorize(http, provider, **base_params(web, extra="x", foo_bar="1", state="s"))
    )
    assert "error" not in got
    assert got["code"]
    assert got["state"] == "s"
    assert "extra" not in got


def test_empty_parameters_count_as_absent(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    params = base_params(
        web,
        state="",
        nonce="",
        prompt="",
        max_age="",
        login_hint="",
        code_challenge="",
        code_challenge_method="",
        response_mode="",
        request="",
        extra="",
    )
    r = authorize(http, provider, **params)
    got = redirect_params(r)  # response_mode="" is query, not an error
    assert "error" not in got, got
    assert "state" not in got
    # nonce="" is no nonce; no challenge was bound, so no verifier is needed.
    response = redeem(http, provider, web, got["code"])
    assert response.status_code == 200, response.text
    claims = id_claims(provider, response.json()["id_token"], "web")
    assert "nonce" not in claims
    assert claims["sub"] == provider.default_user().sub


def test_empty_code_challenge_for_public_client_means_no_pkce(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    got = redirect_params(authorize(http, provider, **base_params(spa, code_challenge="")))
    assert got["error"] == "invalid_request"


# --- GET and form POST ------------------------------------------------------


def test_form_post_request_works(http: httpx.Client, provider: Provider, web: Client) -> None:
    verifier, challenge = pkce_pair()
    data = base_params(
        web, state="p&s", nonce="n-1", code_challenge=challenge, code_challenge_method="S256"
    )
    r = http.post(provider.endpoint("authorize"), data=data)
    got = redirect_params(r)
    assert got["state"] == "p&s"
    assert got["iss"] == provider.issuer
    response = redeem(http, provider, web, got["code"], verifier=verifier)
    assert response.status_code == 200, response.text
    assert id_claims(provider, response.json()["id_token"], "web")["nonce"] == "n-1"


def test_post_with_a_json_body_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    r = http.post(provider.endpoint("authorize"), json=base_params(web))
    assert_error_page(r)


def test_post_form_errors_redirect_too(http: httpx.Client, provider: Provider, web: Client) -> None:
    r = http.post(
        provider.endpoint("authorize"), data=base_params(web, response_type="token", state="z")
    )
    got = redirect_params(r)
    assert got["error"] == "unsupported_response_type"
    assert got["state"] == "z"


def test_post_form_with_foreign_redirect_is_an_error_page(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    data = base_params(web, redirect_uri="https://evil.example/cb")
    assert_error_page(http.post(provider.endpoint("authorize"), data=data))


def test_other_methods_are_405(http: httpx.Client, provider: Provider) -> None:
    r = http.put(provider.endpoint("authorize"), content=b"")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# --- PKCE -------------------------------------------------------------------


@pytest.mark.parametrize(
    "challenge",
    [
        "a" * 42,
        "a" * 129,
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + "=",
        "a" * 42 + " ",
        "a" * 42 + "é",
        "a" * 42 + "%",
    ],
)
def test_bad_code_challenge_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client, challenge: str
) -> None:
    got = redirect_params(
        authorize(
            http,
            provider,
            **base_params(web, code_challenge=challenge, code_challenge_method="S256"),
        )
    )
    assert got["error"] == "invalid_request"


@pytest.mark.parametrize("length", [43, 128])
def test_code_challenge_length_bounds_are_accepted(
    http: httpx.Client, provider: Provider, web: Client, length: int
) -> None:
    challenge = ("AZaz09-._~" * 13)[:length]
    got = redirect_params(authorize(http, provider, **base_params(web, code_challenge=challenge)))
    assert "error" not in got
    # No method: plain (RFC 7636 §4.3), so the verifier is the challenge itself.
    response = redeem(http, provider, web, got["code"], verifier=challenge)
    assert response.status_code == 200, response.text


def test_code_challenge_method_defaults_to_plain(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    verifier, s256_challenge = pkce_pair()
    # Sent without a method, an S256 value is taken as plain: its S256 verifier fails.
    got = redirect_params(
        authorize(http, provider, **base_params(web, code_challenge=s256_challenge))
    )
    response = redeem(http, provider, web, got["code"], verifier=verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("method", ["S512", "s256", "PLAIN", "none"])
def test_unknown_code_challenge_method_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client, method: str
) -> None:
    _, challenge = pkce_pair()
    params = base_params(web, code_challenge=challenge, code_challenge_method=method)
    assert redirect_params(authorize(http, provider, **params))["error"] == "invalid_request"


def test_code_challenge_method_without_challenge_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    params = base_params(web, code_challenge_method="S256")
    assert redirect_params(authorize(http, provider, **params))["error"] == "invalid_request"


def test_public_client_must_use_pkce(http: httpx.Client, provider: Provider, spa: Client) -> None:
    got = redirect_params(authorize(http, provider, **base_params(spa, state="s")))
    assert got["error"] == "invalid_request"
    assert got["state"] == "s"
    assert "code" not in got
    _, challenge = pkce_pair()
    params = base_params(spa, code_challenge=challenge, code_challenge_method="S256")
    assert "code" in redirect_params(authorize(http, provider, **params))


def test_require_pkce_applies_to_confidential_clients() -> None:
    provider = Provider(require_pkce=True)
    client = provider.add_client(
        client_id="c", client_secret="c-secret-0123456789", redirect_uris=[WEB_REDIRECT]
    )
    with provider.httpx_client() as h:
        got = redirect_params(authorize(h, provider, **base_params(client)))
        assert got["error"] == "invalid_request"


# --- prompt, max_age, sessions, nonce, login_hint ---------------------------


def test_prompt_none_without_session_is_login_required(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    got = redirect_params(authorize(http, provider, **base_params(web, prompt="none", state="s")))
    assert got["error"] == "login_required"
    assert got["state"] == "s"
    assert got["iss"] == provider.issuer


def test_prompt_none_with_a_session_succeeds(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    first = authorize(http, provider, **base_params(web, login_hint="bob"))
    assert provider.session_cookie in first.headers.get("set-cookie", "")
    got = redirect_params(authorize(http, provider, **base_params(web, prompt="none")))
    assert "error" not in got
    response = redeem(http, provider, web, got["code"])
    assert id_claims(provider, response.json()["id_token"], "web")["sub"] == "bob"


def test_prompt_none_with_a_session_of_another_user_is_login_required(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    redirect_params(authorize(http, provider, **base_params(web, login_hint="alice")))
    got = redirect_params(
        authorize(http, provider, **base_params(web, prompt="none", login_hint="bob"))
    )
    assert got["error"] == "login_required"


def test_prompt_none_with_a_session_of_the_hinted_user_succeeds(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    redirect_params(authorize(http, provider, **base_params(web, login_hint="bob")))
    params = base_params(web, prompt="none", login_hint="bob@example.com")
    got = redirect_params(authorize(http, provider, **params))
    assert "error" not in got
    response = redeem(http, provider, web, got["code"])
    assert id_claims(provider, response.json()["id_token"], "web")["sub"] == "bob"


def test_prompt_none_with_an_expired_session_is_login_required(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    redirect_params(authorize(http, provider, **base_params(web)))
    provider.clock.advance(provider.config.tokens.session_ttl + 1)
    got = redirect_params(authorize(http, provider, **base_params(web, prompt="none")))
    assert got["error"] == "login_required"


def test_prompt_none_with_a_forged_session_cookie_is_login_required(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    http.cookies.set(provider.session_cookie, "forged", domain="mockauth.test", path="/default")
    got = redirect_params(authorize(http, provider, **base_params(web, prompt="none")))
    assert got["error"] == "login_required"


def _auth_time(http: httpx.Client, provider: Provider, web: Client, **extra: str) -> int:
    got = redirect_params(authorize(http, provider, **base_params(web, **extra)))
    assert "error" not in got, got
    response = redeem(http, provider, web, got["code"])
    assert response.status_code == 200, response.text
    auth_time = id_claims(provider, response.json()["id_token"], "web")["auth_time"]
    assert isinstance(auth_time, int)
    return auth_time


@pytest.fixture
def frozen(provider: Provider) -> float:
    """Freeze provider time at a whole second, so ``auth_time`` arithmetic is exact."""
    return provider.clock.freeze(1_700_000_000)


def test_session_is_reused_without_prompt(
    http: httpx.Client, provider: Provider, web: Client, frozen: float
) -> None:
    first = _auth_time(http, provider, web)
    assert first == int(frozen)
    provider.clock.advance(100)
    assert _auth_time(http, provider, web) == first


def test_prompt_login_forces_a_new_auth_time(
    http: httpx.Client, provider: Provider, web: Client, frozen: float
) -> None:
    first = _auth_time(http, provider, web)
    provider.clock.advance(100)
    assert _auth_time(http, provider, web, prompt="login") == first + 100


@pytest.mark.parametrize(("max_age", "renewed"), [("10", True), ("1000", False), ("100", False)])
def test_max_age_forces_a_new_auth_time_when_exceeded(
    http: httpx.Client,
    provider: Provider,
    web: Client,
    frozen: float,
    max_age: str,
    renewed: bool,
) -> None:
    first = _auth_time(http, provider, web)
    provider.clock.advance(100)
    expected = first + 100 if renewed else first
    assert _auth_time(http, provider, web, max_age=max_age) == expected


def test_max_age_zero_is_prompt_login(
    http: httpx.Client, provider: Provider, web: Client, frozen: float
) -> None:
    """OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login."""
    _auth_time(http, provider, web)
    got = redirect_params(authorize(http, provider, **base_params(web, max_age="0", prompt="none")))
    assert got["error"] == "login_required"


def test_max_age_exceeded_with_prompt_none_is_login_required(
    http: httpx.Client, provider: Provider, web: Client, frozen: float
) -> None:
    _auth_time(http, provider, web)
    provider.clock.advance(100)
    params = base_params(web, max_age="10", prompt="none")
    assert redirect_params(authorize(http, provider, **params))["error"] == "login_required"


@pytest.mark.parametrize("nonce", ["n-0S6_WzA2Mj", "ünïcødé &=+%", "z" * 512])
def test_nonce_is_carried_into_the_id_token(
    http: httpx.Client, provider: Provider, web: Client, nonce: str
) -> None:
    got = redirect_params(authorize(http, provider, **base_params(web, nonce=nonce)))
    response = redeem(http, provider, web, got["code"])
    assert id_claims(provider, response.json()["id_token"], "web")["nonce"] == nonce


def test_no_nonce_without_one_in_the_request(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    got = redirect_params(authorize(http, provider, **base_params(web)))
    response = redeem(http, provider, web, got["code"])
    assert "nonce" not in id_claims(provider, response.json()["id_token"], "web")


@pytest.fixture
def carol(provider: Provider) -> Any:
    return provider.add_user("carol", sub="u-8f3a", email="carol@example.com", password="c-pw")


@pytest.mark.parametrize("hint", ["u-8f3a", "carol", "carol@example.com"])
def test_login_hint_picks_the_user(
    http: httpx.Client, provider: Provider, web: Client, carol: Any, hint: str
) -> None:
    got = redirect_params(authorize(http, provider, **base_params(web, login_hint=hint)))
    response = redeem(http, provider, web, got["code"])
    assert id_claims(provider, response.json()["id_token"], "web")["sub"] == "u-8f3a"


def test_without_login_hint_the_default_user_is_approved(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    got = redirect_params(authorize(http, provider, **base_params(web)))
    response = redeem(http, provider, web, got["code"])
    sub = id_claims(provider, response.json()["id_token"], "web")["sub"]
    assert sub == provider.default_user().sub == "alice"


def test_unknown_login_hint_is_login_required(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    got = redirect_params(
        authorize(http, provider, **base_params(web, login_hint="mallory", state="s"))
    )
    assert got["error"] == "login_required"
    assert got["state"] == "s"
    assert "code" not in got


# --- response modes ---------------------------------------------------------


def test_response_mode_fragment(http: httpx.Client, provider: Provider, web: Client) -> None:
    r = authorize(http, provider, **base_params(web, response_mode="fragment", state="a&b"))
    assert r.status_code == 302
    parts = urlsplit(r.headers["location"])
    assert parts.query == ""
    got = {k: v[0] for k, v in parse_qs(parts.fragment).items()}
    assert got["state"] == "a&b"
    assert got["iss"] == provider.issuer
    assert redeem(http, provider, web, got["code"]).status_code == 200


def test_response_mode_fragment_errors_use_the_fragment(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    params = base_params(web, response_mode="fragment", response_type="token", state="s")
    parts = urlsplit(authorize(http, provider, **params).headers["location"])
    got = {k: v[0] for k, v in parse_qs(parts.fragment).items()}
    assert got["error"] == "unsupported_response_type"
    assert got["state"] == "s"


def _form_fields(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {html.unescape(k): html.unescape(v) for k, v in fields}


def test_response_mode_form_post(http: httpx.Client, provider: Provider, web: Client) -> None:
    state = '"><script>alert(1)</script>&'
    r = authorize(http, provider, **base_params(web, response_mode="form_post", state=state))
    assert r.status_code == 200
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in r.text
    action = re.search(r'<form method="post" action="([^"]*)"', r.text)
    assert action is not None
    assert html.unescape(action.group(1)) == WEB_REDIRECT
    fields = _form_fields(r.text)
    assert fields["state"] == state
    assert fields["iss"] == provider.issuer
    assert redeem(http, provider, web, fields["code"]).status_code == 200


def test_response_mode_form_post_errors(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    params = base_params(web, response_mode="form_post", prompt="none", state="s")
    r = authorize(http, provider, **params)
    assert r.status_code == 200
    fields = _form_fields(r.text)
    assert fields["error"] == "login_required"
    assert fields["state"] == "s"


# --- codes ------------------------------------------------------------------


def test_codes_have_at_least_128_random_bits(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    codes = [
        redirect_params(authorize(http, provider, **base_params(web)))["code"] for _ in range(20)
    ]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code)
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
        assert len(raw) * 8 >= 128


def test_code_is_bound_to_the_client(http: httpx.Client, provider: Provider, web: Client) -> None:
    other = provider.add_client(
        client_id="other", client_secret="other-secret-0123456789", redirect_uris=[WEB_REDIRECT]
    )
    code = redirect_params(authorize(http, provider, **base_params(web)))["code"]
    response = redeem(http, provider, other, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_the_redirect_uri(
    http: httpx.Client, provider: Provider, app: Client
) -> None:
    code = redirect_params(authorize(http, provider, **base_params(app)))["code"]
    response = redeem(http, provider, app, code, redirect_uri=APP_QUERY_REDIRECT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_the_challenge(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    params = base_params(web, code_challenge=challenge, code_challenge_method="S256")
    code = redirect_params(authorize(http, provider, **params))["code"]
    response = redeem(http, provider, web, code, verifier=other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_nonce(http: httpx.Client, provider: Provider, web: Client) -> None:
    first = redirect_params(authorize(http, provider, **base_params(web, nonce="first")))["code"]
    second = redirect_params(authorize(http, provider, **base_params(web, nonce="second")))["code"]
    r2 = redeem(http, provider, web, second)
    r1 = redeem(http, provider, web, first)
    assert id_claims(provider, r1.json()["id_token"], "web")["nonce"] == "first"
    assert id_claims(provider, r2.json()["id_token"], "web")["nonce"] == "second"


def test_code_expires_through_the_clock(
    http: httpx.Client, provider: Provider, web: Client, frozen: float
) -> None:
    ttl = provider.config.tokens.code_ttl
    assert ttl <= 600
    fresh = redirect_params(authorize(http, provider, **base_params(web)))["code"]
    stale = redirect_params(authorize(http, provider, **base_params(web)))["code"]
    provider.clock.advance(ttl - 1)
    assert redeem(http, provider, web, fresh).status_code == 200
    provider.clock.advance(1)
    response = redeem(http, provider, web, stale)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_short_code_ttl_is_honoured() -> None:
    provider = Provider(tokens={"code_ttl": 5})
    client = provider.add_client(
        client_id="c", client_secret="c-secret-0123456789", redirect_uris=[WEB_REDIRECT]
    )
    provider.clock.freeze(1_700_000_000)
    with provider.httpx_client() as h:
        code = redirect_params(authorize(h, provider, **base_params(client)))["code"]
        provider.clock.advance(6)
        response = redeem(h, provider, client, code)
        assert response.json()["error"] == "invalid_grant"
