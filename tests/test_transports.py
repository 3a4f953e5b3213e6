"""In-process transports over the same core: httpx (sync and async), requests, authlib."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import requests
from requests.adapters import HTTPAdapter

from mockauth import Client, Provider
from mockauth.http import Request, Response, json_response
from mockauth.transports import AsyncHttpxTransport, HttpxTransport, RequestsAdapter

from .helpers import code_data, code_flow, pkce_pair, secret_auth

SERVICE_SECRET = "service-secret-0123456789-abcdefgh"


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _check_access_token(provider: Provider, token: str, *, sub: str, aud: str) -> None:
    """The token verifies against the published JWKS, with the claims we asked for."""
    header = jwt.get_unverified_header(token)
    key = next(k for k in provider.jwks()["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=[key["alg"]],
        audience=aud,
        issuer=provider.issuer,
        options={"verify_exp": False},
    )
    assert claims["sub"] == sub


def _authorize_params(client: Client, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": "openid profile email",
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def _requests_authorize(
    session: requests.Session, provider: Provider, client: Client, challenge: str, **extra: str
) -> requests.Response:
    """GET /authorize through a requests session without following the redirect."""
    return session.get(
        provider.endpoint("authorize"),
        params=_authorize_params(client, challenge, **extra),
        allow_redirects=False,
    )


def _multi_header_jwks(name: str, request: Request) -> Response | None:
    """An interceptor answering /jwks with one header sent twice (X-Multi: one, two)."""
    if name != "jwks":
        return None
    response = json_response({"ok": True})
    response.headers.add("X-Multi", "one")
    response.headers.add("X-Multi", "two")
    return response


# --- httpx (sync) -----------------------------------------------------------------


def test_httpx_client_credentials(provider: Provider) -> None:
    with provider.httpx_client() as http:
        response = http.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=("service", SERVICE_SECRET),
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert "refresh_token" not in body
        _check_access_token(provider, body["access_token"], sub="service", aud="api")
        wrong = http.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=("service", "not-the-secret"),
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
    assert provider.errors == []


def test_httpx_code_flow_and_userinfo(provider: Provider, web: Client, spa: Client) -> None:
    with provider.httpx_client() as http:
        for client in (web, spa):
            tokens = code_flow(http, provider, client, login_hint="bob")
            info = http.get(
                provider.endpoint("userinfo"),
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert info.status_code == 200, info.text
            assert info.json()["sub"] == "bob"
            assert info.json()["email"] == "bob@example.com"
            # userinfo by POST with a form body too (OIDC Core §5.3.1)
            posted = http.post(
                provider.endpoint("userinfo"), data={"access_token": tokens["access_token"]}
            )
            assert posted.json()["sub"] == "bob"
    assert provider.errors == []


def test_httpx_keeps_the_session_cookie(provider: Provider, web: Client) -> None:
    _, challenge = pkce_pair()
    with provider.httpx_client() as http:
        first = http.get(
            provider.endpoint("authorize"),
            params=_authorize_params(web, challenge, login_hint="bob"),
        )
        assert first.status_code == 302
        assert "code" in _query(first.headers["location"])
        assert provider.session_cookie in http.cookies
        again = http.get(
            provider.endpoint("authorize"), params=_authorize_params(web, challenge, prompt="none")
        )
        assert again.status_code == 302
        params = _query(again.headers["location"])
        assert "error" not in params, params
        assert params["code"]
    # A client without the cookie is not logged in.
    with provider.httpx_client() as fresh:
        denied = fresh.get(
            provider.endpoint("authorize"), params=_authorize_params(web, challenge, prompt="none")
        )
        assert _query(denied.headers["location"])["error"] == "login_required"


def test_httpx_head_on_discovery_has_no_body(provider: Provider) -> None:
    url = provider.issuer + "/.well-known/openid-configuration"
    with provider.httpx_client() as http:
        head = http.head(url)
        get = http.get(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert get.json()["issuer"] == provider.issuer
    assert head.headers["content-type"] == get.headers["content-type"] == "application/json"


def test_httpx_repeated_headers(provider: Provider) -> None:
    seen: list[str | None] = []

    def hook(name: str, request: Request) -> Response | None:
        seen.append(request.headers.get("X-Probe"))
        return _multi_header_jwks(name, request)

    provider.add_interceptor(hook)
    with provider.httpx_client() as http:
        response = http.get(provider.endpoint("jwks"), headers=[("X-Probe", "a"), ("X-Probe", "b")])
        assert response.headers.get_list("x-multi") == ["one", "two"]
        assert seen == ["a,b"]
        # Two Authorization headers are not two chances: the joined value is malformed.
        twice = http.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            headers=[
                ("Authorization", httpx.BasicAuth("service", SERVICE_SECRET)._auth_header),
                ("Authorization", "Basic Zm9vOmJhcg=="),
            ],
        )
        assert twice.status_code == 400, twice.text
        assert twice.json()["error"] == "invalid_request"
    assert provider.errors == []


# --- httpx (async) ----------------------------------------------------------------


def test_async_httpx_flows(provider: Provider, web: Client) -> None:
    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {}
        async with provider.async_httpx_client() as http:
            cc = await http.post(
                provider.endpoint("token"),
                data={"grant_type": "client_credentials"},
                auth=("service", SERVICE_SECRET),
            )
            results["cc"] = cc
            verifier, challenge = pkce_pair()
            auth = await http.get(
                provider.endpoint("authorize"),
                params=_authorize_params(web, challenge, login_hint="alice"),
            )
            code = _query(auth.headers["location"])["code"]
            token = await http.post(
                provider.endpoint("token"),
                data=code_data(web, code, verifier),
                auth=secret_auth(web),
            )
            results["token"] = token
            access = token.json()["access_token"]
            results["userinfo"] = await http.get(
                provider.endpoint("userinfo"), headers={"Authorization": f"Bearer {access}"}
            )
            # the session cookie is kept: prompt=none succeeds
            silent = await http.get(
                provider.endpoint("authorize"),
                params=_authorize_params(web, challenge, prompt="none"),
            )
            results["silent"] = _query(silent.headers["location"])
            head = await http.head(provider.issuer + "/.well-known/openid-configuration")
            results["head"] = head
            # several requests in flight at once on one event loop
            many = await asyncio.gather(*(http.get(provider.endpoint("jwks")) for _ in range(5)))
            results["many"] = [r.status_code for r in many]
        return results

    results = asyncio.run(run())
    assert results["cc"].status_code == 200, results["cc"].text
    _check_access_token(provider, results["cc"].json()["access_token"], sub="service", aud="api")
    assert results["token"].status_code == 200, results["token"].text
    assert {"access_token", "id_token", "refresh_token"} <= set(results["token"].json())
    assert results["userinfo"].json()["sub"] == "alice"
    assert "code" in results["silent"]
    assert "error" not in results["silent"]
    assert results["head"].status_code == 200
    assert results["head"].content == b""
    assert results["many"] == [200] * 5
    assert provider.errors == []


def test_async_transport_is_an_httpx_transport(provider: Provider) -> None:
    async def run() -> httpx.Response:
        transport = AsyncHttpxTransport(provider)
        async with httpx.AsyncClient(transport=transport, base_url=provider.issuer) as http:
            return await http.get("/jwks")

    response = asyncio.run(run())
    assert response.json() == provider.jwks()


# --- requests -----------------------------------------------------------------------


def test_requests_session_flows(provider: Provider, web: Client) -> None:
    session = provider.requests_session()
    with session:
        cc = session.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=("service", SERVICE_SECRET),
        )
        assert cc.status_code == 200, cc.text
        _check_access_token(provider, cc.json()["access_token"], sub="service", aud="api")

        verifier, challenge = pkce_pair()
        auth = _requests_authorize(session, provider, web, challenge, login_hint="alice")
        assert auth.status_code == 302
        data = code_data(web, _query(auth.headers["Location"])["code"], verifier)
        token = session.post(provider.endpoint("token"), data=data, auth=secret_auth(web))
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        info = session.get(
            provider.endpoint("userinfo"), headers={"Authorization": f"Bearer {access}"}
        )
        assert info.status_code == 200
        assert info.json()["sub"] == "alice"
        # The same code again: invalid_grant, and the transport reports the 400 faithfully.
        replay = session.post(provider.endpoint("token"), data=data, auth=secret_auth(web))
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"
    assert provider.errors == []


def test_requests_session_keeps_the_session_cookie(provider: Provider, web: Client) -> None:
    _, challenge = pkce_pair()
    with provider.requests_session() as session:
        first = _requests_authorize(session, provider, web, challenge, login_hint="bob")
        assert first.status_code == 302
        assert session.cookies.get(provider.session_cookie)
        again = _requests_authorize(session, provider, web, challenge, prompt="none")
        params = _query(again.headers["Location"])
        assert "error" not in params, params
        assert params["code"]
    with provider.requests_session() as fresh:
        denied = _requests_authorize(fresh, provider, web, challenge, prompt="none")
        assert _query(denied.headers["Location"])["error"] == "login_required"


def test_requests_session_logout_clears_the_cookie(provider: Provider, web: Client) -> None:
    _, challenge = pkce_pair()
    with provider.requests_session() as session:
        _requests_authorize(session, provider, web, challenge, login_hint="bob")
        assert session.cookies.get(provider.session_cookie)
        out = session.get(provider.endpoint("end_session"), allow_redirects=False)
        assert out.status_code == 200
        after = _requests_authorize(session, provider, web, challenge, prompt="none")
        assert _query(after.headers["Location"])["error"] == "login_required"


def test_requests_head_and_repeated_headers(provider: Provider) -> None:
    with provider.requests_session() as session:
        head = session.head(provider.issuer + "/.well-known/openid-configuration")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["Content-Type"] == "application/json"
        provider.add_interceptor(_multi_header_jwks)
        multi = session.get(provider.endpoint("jwks"))
        assert multi.headers["X-Multi"] == "one, two"
        assert multi.raw.headers.getlist("X-Multi") == ["one", "two"]


def test_requests_session_only_intercepts_the_provider(provider: Provider) -> None:
    session = provider.requests_session()
    assert isinstance(session.get_adapter(provider.endpoint("token")), RequestsAdapter)
    for url in (
        "http://example.invalid/default/token",
        "http://mockauth.test.example/default/token",
        "http://mockauth.test:8080/default/token",
        "https://mockauth.test/default/token",
    ):
        adapter = session.get_adapter(url)
        assert not isinstance(adapter, RequestsAdapter), url
        assert isinstance(adapter, HTTPAdapter)
    # A real request to another host goes over the network, to whoever answers there.
    other = Provider(issuer_id="other")
    with other.serve() as server:
        response = session.get(server.url + "/other/.well-known/openid-configuration")
        assert response.json()["issuer"] == other.issuer != provider.issuer
        assert not isinstance(session.get_adapter(server.url), RequestsAdapter)
    assert provider.errors == []
    session.close()


def test_requests_adapter_mounted_by_hand(provider: Provider) -> None:
    with requests.Session() as session:
        session.mount(provider.base_url + "/", RequestsAdapter(provider))
        response = session.get(provider.endpoint("jwks"))
        assert response.json() == provider.jwks()


# --- authlib ------------------------------------------------------------------------


def _authlib_oauth2_client() -> Any:
    """authlib's httpx ``OAuth2Client``, imported without its deprecation notice
    (authlib installs an "always" filter of its own, so ours must come after it).
    """
    with warnings.catch_warnings():
        import authlib.deprecate  # noqa: F401

        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client


def test_authlib_oauth2_client_in_process(provider: Provider) -> None:
    OAuth2Client = _authlib_oauth2_client()
    with OAuth2Client(
        client_id="service",
        client_secret=SERVICE_SECRET,
        transport=HttpxTransport(provider),
    ) as client:
        token = client.fetch_token(provider.endpoint("token"), grant_type="client_credentials")
        assert token["token_type"] == "Bearer"
        _check_access_token(provider, token["access_token"], sub="service", aud="api")
        # the client then presents the token it fetched: introspection by the resource server
        intro = client.post(
            provider.endpoint("introspect"),
            data={"token": token["access_token"]},
            auth=("service", SERVICE_SECRET),
        )
        assert intro.json()["active"] is True
        assert intro.json()["client_id"] == "service"
    assert provider.errors == []


def test_authlib_wrong_secret_is_an_oauth_error(provider: Provider) -> None:
    from authlib.integrations.base_client.errors import OAuthError

    OAuth2Client = _authlib_oauth2_client()

    with (
        OAuth2Client(
            client_id="service", client_secret="wrong", transport=HttpxTransport(provider)
        ) as client,
        pytest.raises(OAuthError) as info,
    ):
        client.fetch_token(provider.endpoint("token"), grant_type="client_credentials")
    assert info.value.error == "invalid_client"
