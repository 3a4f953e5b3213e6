"""Token endpoint strictness (RFC 6749 §2.3, §3.2, §4-§6; RFC 7636 §4.6; RFC 9700)."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from mockauth import Client, Provider

from .helpers import (
    WEB_REDIRECT,
    code_data,
    code_flow,
    get_code,
    pkce_pair,
    post_as,
    refresh,
    secret_auth,
    userinfo_status,
)

DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
RFC6749_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
}


def basic(client_id: str, secret: str, *, scheme: str = "Basic") -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"{scheme} {raw}"}


def post_token(
    http: httpx.Client,
    provider: Provider,
    data: dict[str, str],
    *,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return http.post(provider.endpoint("token"), data=data, auth=auth, headers=headers)


def post_raw(
    http: httpx.Client, provider: Provider, client: Client, body: bytes, content_type: str
) -> httpx.Response:
    """A token request with a hand-made body and Content-Type, Basic auth as ``client``."""
    return http.post(
        provider.endpoint("token"),
        content=body,
        headers={"Content-Type": content_type},
        auth=secret_auth(client),
    )


def client_credentials(
    http: httpx.Client,
    provider: Provider,
    *,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: str,
) -> httpx.Response:
    """A client_credentials token request; ``extra`` goes into the form body."""
    data = {"grant_type": "client_credentials", **extra}
    return post_token(http, provider, data, auth=auth, headers=headers)


def assert_error(response: httpx.Response, error: str, status: int = 400) -> dict[str, Any]:
    """An RFC 6749 §5.2 error: status, JSON, no-store, legal characters."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert ERROR_CODE.fullmatch(body["error"])
    assert DESCRIPTION.fullmatch(body.get("error_description", ""))
    return body


def code_request(
    http: httpx.Client, provider: Provider, client: Client, **extra: str
) -> tuple[str, str]:
    """An authorization code with an S256 challenge: ``(code, verifier)``."""
    verifier, challenge = pkce_pair()
    code = get_code(http, provider, client, challenge=challenge, **extra)["code"]
    return code, verifier


def redeem(
    http: httpx.Client,
    provider: Provider,
    client: Client,
    code: str,
    verifier: str | None,
    **extra: str,
) -> httpx.Response:
    return post_as(http, provider, "token", client, code_data(client, code, verifier, **extra))


def introspect(http: httpx.Client, provider: Provider, client: Client, token: str) -> Any:
    r = http.post(
        provider.endpoint("introspect"),
        data={"token": token},
        auth=secret_auth(client),
    )
    assert r.status_code == 200, r.text
    return r.json()


def assert_token_response(response: httpx.Response) -> dict[str, Any]:
    """RFC 6749 §5.1 as real clients need it (DESIGN: interoperability)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert isinstance(body["access_token"], str)
    assert body["access_token"]
    assert body["token_type"] == "Bearer"
    assert type(body["expires_in"]) is int
    assert body["expires_in"] > 0
    if "scope" in body:
        assert isinstance(body["scope"], str)
        assert body["scope"] == body["scope"].strip()
        assert "  " not in body["scope"]
    if "refresh_token" in body:
        assert isinstance(body["refresh_token"], str)
    return body


# --- method, body, headers --------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post_is_allowed(http: httpx.Client, provider: Provider, method: str) -> None:
    r = http.request(method, provider.endpoint("token"))
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert r.headers["cache-control"] == "no-store"


def test_get_with_valid_parameters_is_still_405(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    assert service.client_secret is not None
    r = http.get(
        provider.endpoint("token"),
        params={
            "grant_type": "client_credentials",
            "client_id": service.client_id,
            "client_secret": service.client_secret,
        },
    )
    assert r.status_code == 405


def test_json_body_is_invalid_request(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = http.post(
        provider.endpoint("token"),
        json={"grant_type": "client_credentials"},
        auth=secret_auth(service),
    )
    assert_error(r, "invalid_request")


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "invalid/@@##", ""])
def test_non_form_body_is_invalid_request(
    http: httpx.Client, provider: Provider, service: Client, content_type: str
) -> None:
    r = post_raw(http, provider, service, b"grant_type=client_credentials", content_type)
    assert_error(r, "invalid_request")


def test_form_body_with_charset_is_accepted(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    content_type = "application/x-www-form-urlencoded; charset=UTF-8"
    r = post_raw(http, provider, service, b"grant_type=client_credentials", content_type)
    assert_token_response(r)


def test_unknown_grant_type_is_unsupported_grant_type(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    auth = secret_auth(service)
    for grant in ("magic", "urn:example:grant", "implicit", "Client_Credentials"):
        r = post_token(http, provider, {"grant_type": grant}, auth=auth)
        assert_error(r, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = post_token(http, provider, {}, auth=secret_auth(service))
    assert_error(r, "invalid_request")


def test_duplicate_parameters_are_invalid_request(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    body = b"grant_type=client_credentials&grant_type=client_credentials"
    r = post_raw(http, provider, service, body, "application/x-www-form-urlencoded")
    assert_error(r, "invalid_request")


def test_empty_parameters_are_absent(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, scope="", extra="", code="", auth=secret_auth(service))
    assert_token_response(r)


@pytest.mark.parametrize(
    "bad_value",
    ['quote"back\\slash', "ünïcødé ☃", "tab\tnew\nline\r", "\x00\x1b", "\\" * 3000 + "é"],
)
def test_error_and_description_use_only_legal_characters(
    http: httpx.Client, provider: Provider, service: Client, web: Client, bad_value: str
) -> None:
    """RFC 6749 §5.2: error and error_description are %x20-21 / %x23-5B / %x5D-7E."""
    responses = [
        post_token(http, provider, {"grant_type": bad_value}, auth=(service.client_id, "wrong")),
        post_token(http, provider, {"grant_type": bad_value}, auth=secret_auth(service)),
        client_credentials(http, provider, scope=bad_value, auth=secret_auth(service)),
        post_token(
            http,
            provider,
            {"grant_type": "authorization_code", "code": bad_value, "redirect_uri": bad_value},
            auth=secret_auth(web),
        ),
        client_credentials(http, provider, client_id=bad_value),
    ]
    for r in responses:
        assert r.status_code in (400, 401), r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["error"] in RFC6749_ERRORS, body
        assert DESCRIPTION.fullmatch(body.get("error_description", "")), body


# --- client authentication --------------------------------------------------


def test_wrong_secret_via_basic_is_401_with_basic_challenge(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, auth=(service.client_id, "wrong"))
    assert_error(r, "invalid_client", 401)
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Basic ")
    assert re.search(r'realm="[^"]+"', challenge)


def test_unknown_client_via_basic_is_401_with_basic_challenge(
    http: httpx.Client, provider: Provider
) -> None:
    r = client_credentials(http, provider, auth=("ghost", "x"))
    assert_error(r, "invalid_client", 401)
    assert r.headers["www-authenticate"].startswith("Basic ")


def test_wrong_secret_via_body_is_401(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, client_id=service.client_id, client_secret="wrong")
    assert_error(r, "invalid_client", 401)


def test_secret_via_body_works(http: httpx.Client, provider: Provider, service: Client) -> None:
    client_id, client_secret = secret_auth(service)
    r = client_credentials(http, provider, client_id=client_id, client_secret=client_secret)
    assert_token_response(r)


@pytest.mark.parametrize(
    "secret_of",
    [
        lambda s: s[:-1],
        lambda s: s + "x",
        lambda s: s.upper(),
        lambda s: "",
        lambda s: quote_plus(s) + "%00",
    ],
)
def test_near_miss_secrets_are_rejected(
    http: httpx.Client, provider: Provider, service: Client, secret_of: Callable[[str], str]
) -> None:
    assert service.client_secret is not None
    r = client_credentials(
        http, provider, headers=basic(service.client_id, secret_of(service.client_secret))
    )
    assert_error(r, "invalid_client", 401)


def test_no_client_authentication_is_401(http: httpx.Client, provider: Provider) -> None:
    assert_error(client_credentials(http, provider), "invalid_client", 401)


def test_confidential_client_without_secret_is_401(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, client_id=service.client_id)
    assert_error(r, "invalid_client", 401)


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic ",
        "Basic Zm9v",  # "foo": no colon
        "Basic //8=",  # not UTF-8
        "Basic Zm9vOmJhcg",  # missing padding
        "Basic Zm9v OmJhcg==",
        "Basic *****",
        "Basic Zm9vOmJhcg==garbage",
    ],
)
def test_malformed_basic_credentials_are_400(
    http: httpx.Client, provider: Provider, header: str
) -> None:
    r = client_credentials(http, provider, headers={"Authorization": header})
    assert_error(r, "invalid_request")


@pytest.mark.parametrize("scheme", ["Digest", "Bearer", "Basicx"])
def test_other_authorization_schemes_are_rejected(
    http: httpx.Client, provider: Provider, service: Client, scheme: str
) -> None:
    assert service.client_secret is not None
    r = client_credentials(
        http, provider, headers=basic(service.client_id, service.client_secret, scheme=scheme)
    )
    assert r.status_code in (400, 401)
    assert r.json()["error"] in ("invalid_request", "invalid_client")


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_basic_scheme_is_case_insensitive(
    http: httpx.Client, provider: Provider, service: Client, scheme: str
) -> None:
    assert service.client_secret is not None
    r = client_credentials(
        http, provider, headers=basic(service.client_id, service.client_secret, scheme=scheme)
    )
    assert_token_response(r)


ODD_ID = "app+id-~.%41_x"
ODD_SECRET = "s3cr+et-~:%2F%zz /é"


@pytest.fixture
def odd(provider: Provider) -> Client:
    """A client whose id and secret need encoding in a Basic header."""
    return provider.add_client(
        client_id=ODD_ID,
        client_secret=ODD_SECRET,
        grant_types=["client_credentials"],
    )


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda s: s, id="raw"),
        pytest.param(quote_plus, id="form-urlencoded"),
        pytest.param(lambda s: quote(s, safe=""), id="quote"),
        pytest.param(quote, id="quote-default-safe"),
    ],
)
def test_basic_credentials_in_the_encodings_clients_send(
    http: httpx.Client, provider: Provider, odd: Client, encode: Callable[[str], str]
) -> None:
    """RFC 6749 §2.3.1 says form-encode; real clients also send raw and quote()-d values."""
    r = client_credentials(http, provider, headers=basic(encode(ODD_ID), encode(ODD_SECRET)))
    assert_token_response(r)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda s: s, id="raw"),
        pytest.param(quote_plus, id="form-urlencoded"),
        pytest.param(lambda s: quote(s, safe=""), id="quote"),
    ],
)
def test_encoded_basic_credentials_still_need_the_right_secret(
    http: httpx.Client, provider: Provider, odd: Client, encode: Callable[[str], str]
) -> None:
    r = client_credentials(
        http, provider, headers=basic(encode(ODD_ID), encode(ODD_SECRET[:-1] + "x"))
    )
    assert_error(r, "invalid_client", 401)


def test_client_id_with_a_colon_works_form_encoded(http: httpx.Client, provider: Provider) -> None:
    provider.add_client(
        client_id="urn:app:1", client_secret="colon-secret", grant_types=["client_credentials"]
    )
    r = client_credentials(
        http, provider, headers=basic(quote_plus("urn:app:1"), quote_plus("colon-secret"))
    )
    assert_token_response(r)


def test_odd_credentials_work_in_the_body(
    http: httpx.Client, provider: Provider, odd: Client
) -> None:
    r = client_credentials(http, provider, client_id=ODD_ID, client_secret=ODD_SECRET)
    assert_token_response(r)


def test_basic_plus_body_secret_is_400(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    client_id, client_secret = secret_auth(service)
    r = client_credentials(
        http, provider, auth=(client_id, client_secret), client_secret=client_secret
    )
    assert_error(r, "invalid_request")


def test_body_client_id_differing_from_basic_is_400(
    http: httpx.Client, provider: Provider, service: Client, web: Client
) -> None:
    r = client_credentials(http, provider, auth=secret_auth(service), client_id=web.client_id)
    assert_error(r, "invalid_request")


def test_body_client_id_equal_to_basic_is_accepted(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, auth=secret_auth(service), client_id=service.client_id)
    assert_token_response(r)


def test_public_client_with_empty_basic_secret_is_accepted(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    code, verifier = code_request(http, provider, spa)
    r = post_token(http, provider, code_data(spa, code, verifier), headers=basic("spa", ""))
    assert_token_response(r)


def test_public_client_with_a_basic_secret_is_401(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    code, verifier = code_request(http, provider, spa)
    r = post_token(http, provider, code_data(spa, code, verifier), headers=basic("spa", "x"))
    assert_error(r, "invalid_client", 401)


def test_public_client_with_a_body_secret_is_401(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    code, verifier = code_request(http, provider, spa)
    data = code_data(spa, code, verifier, client_id="spa", client_secret="x")
    assert_error(post_token(http, provider, data), "invalid_client", 401)


def test_registered_auth_method_is_enforced(http: httpx.Client, provider: Provider) -> None:
    provider.add_client(
        client_id="post-only",
        client_secret="post-only-secret",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post",
    )
    r = client_credentials(http, provider, auth=("post-only", "post-only-secret"))
    assert_error(r, "invalid_client", 401)
    r = client_credentials(http, provider, client_id="post-only", client_secret="post-only-secret")
    assert_token_response(r)


# --- authorization code -----------------------------------------------------


def test_code_is_single_use_and_replay_revokes_its_tokens(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = code_request(http, provider, web, login_hint="alice")
    first = assert_token_response(redeem(http, provider, web, code, verifier))
    assert userinfo_status(http, provider, first["access_token"]) == 200
    assert introspect(http, provider, web, first["access_token"])["active"] is True

    assert_error(redeem(http, provider, web, code, verifier), "invalid_grant")

    assert userinfo_status(http, provider, first["access_token"]) == 401
    assert introspect(http, provider, web, first["access_token"]) == {"active": False}
    assert introspect(http, provider, web, first["refresh_token"]) == {"active": False}
    assert_error(refresh(http, provider, web, first["refresh_token"]), "invalid_grant")


def test_code_replay_also_revokes_tokens_refreshed_from_it(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = code_request(http, provider, web)
    first = assert_token_response(redeem(http, provider, web, code, verifier))
    second = assert_token_response(refresh(http, provider, web, first["refresh_token"]))
    assert_error(redeem(http, provider, web, code, verifier), "invalid_grant")
    assert userinfo_status(http, provider, second["access_token"]) == 401
    assert_error(refresh(http, provider, web, second["refresh_token"]), "invalid_grant")


def test_replay_does_not_touch_other_grants(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    other = code_flow(http, provider, web)
    code, verifier = code_request(http, provider, web)
    assert_token_response(redeem(http, provider, web, code, verifier))
    assert_error(redeem(http, provider, web, code, verifier), "invalid_grant")
    assert userinfo_status(http, provider, other["access_token"]) == 200


def test_unknown_code_is_invalid_grant(http: httpx.Client, provider: Provider, web: Client) -> None:
    assert_error(redeem(http, provider, web, "no-such-code", None), "invalid_grant")
    assert_error(redeem(http, provider, web, "x" * 10_000, None), "invalid_grant")


def test_missing_code_is_invalid_request(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    data = {"grant_type": "authorization_code", "redirect_uri": WEB_REDIRECT}
    r = post_token(http, provider, data, auth=secret_auth(web))
    assert_error(r, "invalid_request")


def test_concurrent_redemptions_of_one_code_succeed_once(provider: Provider, web: Client) -> None:
    n = 16
    with provider.serve() as server, httpx.Client(timeout=30) as live:
        assert provider.issuer.startswith(server.url)
        code, verifier = code_request(live, provider, web)
        data = code_data(web, code, verifier)
        barrier = threading.Barrier(n)

        def attempt(_: int) -> httpx.Response:
            barrier.wait(timeout=10)
            return live.post(provider.endpoint("token"), data=data, auth=secret_auth(web))

        with ThreadPoolExecutor(n) as pool:
            responses = list(pool.map(attempt, range(n)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == n - 1, statuses
    for r in responses:
        if r.status_code == 400:
            assert r.json()["error"] == "invalid_grant"


def test_code_of_another_client_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client, other: Client
) -> None:
    code, verifier = code_request(http, provider, web)
    assert_error(redeem(http, provider, other, code, verifier), "invalid_grant")
    # The code is burnt: the rightful client cannot use it either afterwards.
    assert_error(redeem(http, provider, web, code, verifier), "invalid_grant")


def test_code_with_missing_redirect_uri_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code, verifier = code_request(http, provider, web)
    data = code_data(web, code, verifier)
    del data["redirect_uri"]
    r = post_token(http, provider, data, auth=secret_auth(web))
    assert_error(r, "invalid_grant")


@pytest.mark.parametrize(
    "uri", [WEB_REDIRECT + "/", "http://127.0.0.1:5001/cb", "http://127.0.0.1:5000/cb?x", "x"]
)
def test_code_with_different_redirect_uri_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client, uri: str
) -> None:
    code, verifier = code_request(http, provider, web)
    assert_error(redeem(http, provider, web, code, verifier, redirect_uri=uri), "invalid_grant")


def test_expired_code_is_invalid_grant(http: httpx.Client, provider: Provider, web: Client) -> None:
    provider.clock.freeze(1_700_000_000)
    code, verifier = code_request(http, provider, web)
    provider.clock.advance(provider.config.tokens.code_ttl)
    assert_error(redeem(http, provider, web, code, verifier), "invalid_grant")


# --- PKCE at the token endpoint ---------------------------------------------


def test_missing_verifier_is_invalid_grant(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    code, _ = code_request(http, provider, spa)
    assert_error(redeem(http, provider, spa, code, None), "invalid_grant")


@pytest.mark.parametrize(
    "make_wrong",
    [
        lambda v: pkce_pair()[0],
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
        lambda v: v + "x",
        lambda v: "short",
        lambda v: v[:42],
    ],
)
def test_wrong_verifier_is_invalid_grant(
    http: httpx.Client, provider: Provider, spa: Client, make_wrong: Callable[[str], str]
) -> None:
    code, verifier = code_request(http, provider, spa)
    assert_error(redeem(http, provider, spa, code, make_wrong(verifier)), "invalid_grant")


def test_plain_challenge_verifier_is_compared_exactly(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    verifier, _ = pkce_pair()
    code = get_code(http, provider, web, code_challenge=verifier, code_challenge_method="plain")[
        "code"
    ]
    assert_token_response(redeem(http, provider, web, code, verifier))


def test_verifier_without_challenge_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code = get_code(http, provider, web)["code"]
    verifier, _ = pkce_pair()
    assert_error(redeem(http, provider, web, code, verifier), "invalid_grant")


def test_code_without_challenge_works_without_verifier(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    code = get_code(http, provider, web)["code"]
    assert_token_response(redeem(http, provider, web, code, None))


@pytest.mark.parametrize(
    "first_try",
    [
        pytest.param(lambda: pkce_pair()[0], id="wrong-verifier"),
        pytest.param(lambda: None, id="missing-verifier"),
    ],
)
def test_failed_pkce_try_burns_the_code(
    http: httpx.Client, provider: Provider, spa: Client, first_try: Callable[[], str | None]
) -> None:
    code, verifier = code_request(http, provider, spa)
    assert_error(redeem(http, provider, spa, code, first_try()), "invalid_grant")
    assert_error(redeem(http, provider, spa, code, verifier), "invalid_grant")


# --- refresh tokens ---------------------------------------------------------


def test_refresh_token_is_bound_to_its_client(
    http: httpx.Client, provider: Provider, web: Client, other: Client
) -> None:
    tokens = code_flow(http, provider, web)
    assert_error(refresh(http, provider, other, tokens["refresh_token"]), "invalid_grant")
    # The rightful client still can: a foreign try does not burn the token.
    assert_token_response(refresh(http, provider, web, tokens["refresh_token"]))


def test_public_client_refresh_is_bound_to_its_client(
    http: httpx.Client, provider: Provider, spa: Client, web: Client
) -> None:
    tokens = code_flow(http, provider, spa)
    assert_error(refresh(http, provider, web, tokens["refresh_token"]), "invalid_grant")
    assert_token_response(refresh(http, provider, spa, tokens["refresh_token"]))


def test_refresh_scope_may_shrink(http: httpx.Client, provider: Provider, web: Client) -> None:
    tokens = code_flow(http, provider, web, scope="openid profile email")
    smaller = assert_token_response(
        refresh(http, provider, web, tokens["refresh_token"], scope="openid email")
    )
    assert smaller["scope"].split() == ["openid", "email"]
    info = introspect(http, provider, web, smaller["access_token"])
    assert set(info["scope"].split()) == {"openid", "email"}
    # Without a scope the original grant's scope applies again (RFC 6749 §6).
    again = assert_token_response(refresh(http, provider, web, smaller["refresh_token"]))
    assert set(again["scope"].split()) == {"openid", "profile", "email"}


@pytest.mark.parametrize("scope", ["openid profile email phone", "admin", "openid admin"])
def test_refresh_scope_may_not_widen(
    http: httpx.Client, provider: Provider, web: Client, scope: str
) -> None:
    tokens = code_flow(http, provider, web, scope="openid profile email")
    assert_error(
        refresh(http, provider, web, tokens["refresh_token"], scope=scope), "invalid_scope"
    )
    # A rejected request does not burn the refresh token.
    assert_token_response(refresh(http, provider, web, tokens["refresh_token"]))


def test_refresh_rotates_the_refresh_token(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web)
    new = assert_token_response(refresh(http, provider, web, tokens["refresh_token"]))
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    assert_token_response(refresh(http, provider, web, new["refresh_token"]))


def test_reuse_of_an_old_refresh_token_revokes_the_family(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    first = code_flow(http, provider, web)
    second = assert_token_response(refresh(http, provider, web, first["refresh_token"]))
    assert userinfo_status(http, provider, second["access_token"]) == 200

    assert_error(refresh(http, provider, web, first["refresh_token"]), "invalid_grant")

    assert_error(refresh(http, provider, web, second["refresh_token"]), "invalid_grant")
    assert userinfo_status(http, provider, second["access_token"]) == 401
    assert userinfo_status(http, provider, first["access_token"]) == 401
    assert introspect(http, provider, web, second["refresh_token"]) == {"active": False}


def test_family_revocation_leaves_other_grants_alone(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    bystander = code_flow(http, provider, web)
    first = code_flow(http, provider, web)
    assert_token_response(refresh(http, provider, web, first["refresh_token"]))
    assert_error(refresh(http, provider, web, first["refresh_token"]), "invalid_grant")
    assert userinfo_status(http, provider, bystander["access_token"]) == 200
    assert_token_response(refresh(http, provider, web, bystander["refresh_token"]))


def test_two_concurrent_refreshes_one_wins(provider: Provider, web: Client) -> None:
    with provider.serve(), httpx.Client(timeout=30) as live:
        tokens = code_flow(live, provider, web)
        barrier = threading.Barrier(2)

        def attempt(_: int) -> httpx.Response:
            barrier.wait(timeout=10)
            return refresh(live, provider, web, tokens["refresh_token"])

        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(attempt, range(2)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 400], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 400)
        assert loser.json()["error"] == "invalid_grant"
        # The reuse revoked the family, the winner's new refresh token included.
        winner = next(r for r in responses if r.status_code == 200).json()
        assert_error(refresh(live, provider, web, winner["refresh_token"]), "invalid_grant")


def test_expired_refresh_token_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web)
    provider.clock.advance(provider.config.tokens.refresh_token_ttl + 1)
    assert_error(refresh(http, provider, web, tokens["refresh_token"]), "invalid_grant")


def test_unknown_refresh_token_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    assert_error(refresh(http, provider, web, "nope"), "invalid_grant")


def test_access_token_is_not_a_refresh_token(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web)
    assert_error(refresh(http, provider, web, tokens["access_token"]), "invalid_grant")


def test_refresh_without_rotation_returns_the_same_token() -> None:
    provider = Provider(tokens={"rotate_refresh_tokens": False})
    client = provider.add_client(
        client_id="web", client_secret="web-secret-0123456789", redirect_uris=[WEB_REDIRECT]
    )
    provider.add_user("alice", password="alice-pw")
    with provider.httpx_client() as h:
        tokens = code_flow(h, provider, client)
        again = assert_token_response(refresh(h, provider, client, tokens["refresh_token"]))
        assert again["refresh_token"] == tokens["refresh_token"]
        assert_token_response(refresh(h, provider, client, tokens["refresh_token"]))


# --- password and client_credentials ----------------------------------------


def test_password_grant_checks_the_password(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    auth = secret_auth(web)
    ok = post_token(
        http,
        provider,
        {"grant_type": "password", "username": "alice", "password": "alice-pw", "scope": "openid"},
        auth=auth,
    )
    body = assert_token_response(ok)
    assert introspect(http, provider, web, body["access_token"])["sub"] == "alice"
    for username, password in [
        ("alice", "bob-pw"),
        ("alice", "alice-pw "),
        ("alice", "ALICE-PW"),
        ("bob", "alice-pw"),
        ("mallory", "alice-pw"),
    ]:
        r = post_token(
            http,
            provider,
            {"grant_type": "password", "username": username, "password": password},
            auth=auth,
        )
        assert_error(r, "invalid_grant")


def test_password_grant_by_email(http: httpx.Client, provider: Provider, web: Client) -> None:
    r = post_token(
        http,
        provider,
        {"grant_type": "password", "username": "bob@example.com", "password": "bob-pw"},
        auth=secret_auth(web),
    )
    body = assert_token_response(r)
    assert introspect(http, provider, web, body["access_token"])["sub"] == "bob"


def test_password_grant_for_user_without_password_is_invalid_grant(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    provider.add_user("nopw", sub="nopw")
    auth = secret_auth(web)
    for password in ("x", "None"):
        data = {"grant_type": "password", "username": "nopw", "password": password}
        assert_error(post_token(http, provider, data, auth=auth), "invalid_grant")
    # An empty password is an absent one (RFC 6749 §3.2: empty = absent).
    data = {"grant_type": "password", "username": "nopw", "password": ""}
    assert_error(post_token(http, provider, data, auth=auth), "invalid_request")


def test_client_credentials_for_public_clients_is_refused(
    http: httpx.Client, provider: Provider, spa: Client
) -> None:
    r = client_credentials(http, provider, client_id="spa")
    assert_error(r, "unauthorized_client")


def test_client_credentials_token_is_for_the_client(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, auth=secret_auth(service))
    body = assert_token_response(r)
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    assert "id_token" not in body
    info = introspect(http, provider, service, body["access_token"])
    assert info["sub"] == "service"
    assert info["client_id"] == "service"


@pytest.mark.parametrize(
    ("grant", "extra"),
    [
        ("password", {"username": "alice", "password": "alice-pw"}),
        ("authorization_code", {"code": "x", "redirect_uri": WEB_REDIRECT}),
        ("refresh_token", {"refresh_token": "x"}),
    ],
)
def test_grant_not_registered_for_client_is_unauthorized_client(
    http: httpx.Client, provider: Provider, service: Client, grant: str, extra: dict[str, str]
) -> None:
    r = post_token(
        http,
        provider,
        {"grant_type": grant, **extra},
        auth=secret_auth(service),
    )
    assert_error(r, "unauthorized_client")


def test_client_credentials_not_registered_is_unauthorized_client(
    http: httpx.Client, provider: Provider
) -> None:
    provider.add_client(
        client_id="codeonly",
        client_secret="codeonly-secret",
        grant_types=["authorization_code"],
        redirect_uris=[WEB_REDIRECT],
    )
    r = client_credentials(http, provider, auth=("codeonly", "codeonly-secret"))
    assert_error(r, "unauthorized_client")


# --- response shape ---------------------------------------------------------


def test_code_token_response_shape(http: httpx.Client, provider: Provider, web: Client) -> None:
    code, verifier = code_request(http, provider, web, scope="openid profile")
    r = redeem(http, provider, web, code, verifier)
    body = assert_token_response(r)
    assert body["scope"] == "openid profile"
    assert body["expires_in"] == provider.config.tokens.access_token_ttl
    assert isinstance(body["id_token"], str)
    assert isinstance(body["refresh_token"], str)
    assert r.headers["pragma"] == "no-cache"


def test_token_response_for_every_grant_has_the_same_shape(
    http: httpx.Client, provider: Provider, web: Client, service: Client
) -> None:
    auth = secret_auth(web)
    responses = [
        redeem(http, provider, web, *code_request(http, provider, web)),
        post_token(
            http,
            provider,
            {"grant_type": "password", "username": "bob", "password": "bob-pw", "scope": "email"},
            auth=auth,
        ),
        client_credentials(http, provider, scope="read write", auth=secret_auth(service)),
    ]
    tokens = assert_token_response(responses[0])
    responses.append(refresh(http, provider, web, tokens["refresh_token"]))
    for r in responses:
        assert_token_response(r)
    assert responses[1].json()["scope"] == "email"
    assert responses[2].json()["scope"] == "read write"


def test_no_scope_means_no_scope_member(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = client_credentials(http, provider, auth=secret_auth(service))
    body = assert_token_response(r)
    assert body.get("scope", "") == ""


def test_cache_control_no_store_on_every_error(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    responses = [
        http.get(provider.endpoint("token")),
        http.post(provider.endpoint("token"), json={}),
        post_token(http, provider, {"grant_type": "x"}, auth=("web", "wrong")),
        post_token(http, provider, {"grant_type": "x"}, headers={"Authorization": "Basic //8="}),
        post_token(http, provider, {"grant_type": "x"}, auth=secret_auth(web)),
        redeem(http, provider, web, "nope", None),
    ]
    for r in responses:
        assert r.status_code >= 400
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("application/json")


def test_refresh_tokens_may_need_offline_access() -> None:
    """``tokens.refresh_tokens_need_offline_access``: a refresh token only when the
    grant's scope has offline_access (OIDC Core §11), kept across a narrowing refresh."""
    provider = Provider(tokens={"refresh_tokens_need_offline_access": True})
    web = provider.add_client(client_id="web", client_secret="web-secret-0123456789-abcdefghijkl",
                              redirect_uris=[WEB_REDIRECT])  # fmt: skip
    provider.add_user("alice")
    with provider.httpx_client() as http:
        without = code_flow(http, provider, web, scope="openid profile")
        assert "refresh_token" not in without
        offline = code_flow(http, provider, web, scope="openid offline_access")
        assert offline["refresh_token"]
        narrowed = refresh(http, provider, web, offline["refresh_token"], scope="openid")
        assert narrowed.status_code == 200
        assert narrowed.json()["scope"] == "openid"
        assert narrowed.json()["refresh_token"]  # the grant still has offline_access
    default = Provider()
    web = default.add_client(client_id="web", client_secret="web-secret-0123456789-abcdefghijkl",
                             redirect_uris=[WEB_REDIRECT])  # fmt: skip
    with default.httpx_client() as http:
        assert code_flow(http, default, web, scope="openid profile")["refresh_token"]
