"""The seams the next capabilities plug into, each with its use today:
the authorization request as a value and who approves it, the token
response and its sender constraint, the claims policy, and the one place
that verifies JWTs signed by client keys.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey

from mockauth import Client, Provider
from mockauth.endpoints.authorize.interaction import (
    AUTO_APPROVE,
    Approved,
    authenticator_for,
    use_authenticator,
)
from mockauth.endpoints.authorize.request import (
    AuthorizationRequest,
    client_and_redirect,
    validate,
)
from mockauth.errors import AccessDenied, InvalidClient, InvalidRequest, OAuthError
from mockauth.http import Params, Request, Response, html_page, query_params
from mockauth.jose import first_use, verify_client_jwt
from mockauth.services import Services
from mockauth.store import AccessRecord
from mockauth.tokens.claims import ClaimsContext
from mockauth.tokens.response import TokenGrant, issue

from .helpers import WEB_REDIRECT, code_flow, redirect_params, secret_auth


def authorize_params(**extra: str) -> Params:
    query = str(
        httpx.QueryParams(
            {"client_id": "web", "redirect_uri": WEB_REDIRECT, "response_type": "code", **extra}
        )
    )
    return query_params(Request("GET", "/default/authorize", query=query))


# --- the authorization request ------------------------------------------------------------


def test_an_authorization_request_is_a_value(provider: Provider) -> None:
    s = provider.services
    params = authorize_params(
        scope="openid email openid",
        state="st",
        nonce="n",
        prompt="login",
        max_age="60",
        login_hint="bob",
        resource="https://api.test/",
    )
    areq = validate(s, params, client_and_redirect(s, params))
    assert isinstance(areq, AuthorizationRequest)
    assert (areq.client.client_id, areq.redirect_uri, areq.redirect_uri_sent) == (
        "web",
        WEB_REDIRECT,
        True,
    )
    assert (areq.response_type, areq.response_mode, areq.hybrid) == ("code", "query", False)
    assert areq.scope == ("openid", "email")
    assert (areq.state, areq.nonce, areq.login_hint) == ("st", "n", "bob")
    assert (areq.prompt, areq.max_age) == (frozenset({"login"}), 60)
    assert areq.audience == ("https://api.test/",)
    assert areq.dpop_jkt is None


def test_who_asks_is_checked_before_anything_else(provider: Provider) -> None:
    s = provider.services
    with pytest.raises(InvalidRequest) as bad_target:
        client_and_redirect(s, authorize_params(redirect_uri="http://evil.test/cb"))
    assert bad_target.value.redirect is False  # shown as a page, never redirected
    target = client_and_redirect(s, authorize_params())
    with pytest.raises(OAuthError) as bad_request:
        validate(s, authorize_params(response_type="token"), target)
    assert (bad_request.value.error, bad_request.value.redirect) == (
        "unsupported_response_type",
        True,
    )


class Refuses:
    """An authenticator that turns everyone away."""

    def authenticate(self, s: Services, request: Request, areq: AuthorizationRequest) -> Approved:
        raise AccessDenied("nobody gets in today")


class ShowsAPage:
    """An authenticator that answers with a page (as a login page will)."""

    seen: list[AuthorizationRequest]

    def __init__(self) -> None:
        self.seen = []

    def authenticate(
        self, s: Services, request: Request, areq: AuthorizationRequest
    ) -> Approved | Response:
        self.seen.append(areq)
        return html_page("Sign in", f"Sign in to {areq.client.client_id}")


def test_the_authenticator_decides(provider: Provider, http: httpx.Client, web: Client) -> None:
    s = provider.services
    assert authenticator_for(s) is AUTO_APPROVE
    use_authenticator(s, Refuses())
    query = {"client_id": "web", "redirect_uri": WEB_REDIRECT, "response_type": "code"}
    r = http.get(provider.endpoint("authorize"), params={**query, "state": "s1"})
    assert redirect_params(r) == {
        "error": "access_denied",
        "error_description": "nobody gets in today",
        "state": "s1",
        "iss": provider.issuer,
    }
    page = ShowsAPage()
    use_authenticator(s, page)
    r = http.get(provider.endpoint("authorize"), params={**query, "scope": "openid"})
    assert (r.status_code, "Sign in to web" in r.text) == (200, True)
    assert [a.scope for a in page.seen] == [("openid",)]
    use_authenticator(s, None)
    assert code_flow(http, provider, web)["token_type"] == "Bearer"  # approves at once again


# --- the token response and its sender constraint ------------------------------------------


class KeyBound:
    """A made-up sender constraint standing in for DPoP: a key thumbprint in ``cnf``."""

    token_type = "PoP"

    def __init__(self, jkt: str) -> None:
        self.jkt = jkt

    def confirm(self, claims: dict[str, Any]) -> None:
        claims["cnf"] = {"jkt": self.jkt}

    def verify(self, request: Request, record: AccessRecord) -> None:
        return None


def test_a_sender_constraint_binds_the_token(provider: Provider, service: Client) -> None:
    s = provider.services
    grant = TokenGrant(
        client=service,
        sub="service",
        scope=("read",),
        audience=("api",),
        grant_id="g1",
        auth_time=None,
        user_bound=False,
        issued_token_type="urn:ietf:params:oauth:token-type:access_token",
    )
    response = issue(s, grant, KeyBound("thumb-1"))
    data = response.to_dict()
    assert data["token_type"] == "PoP"
    assert data["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert (data["scope"], "refresh_token" in data, "id_token" in data) == ("read", False, False)
    claims = jwt.decode(data["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": "thumb-1"}
    with provider.httpx_client() as http:
        info = http.post(
            provider.endpoint("introspect"),
            data={"token": data["access_token"]},
            auth=secret_auth(service),
        ).json()
    assert (info["active"], info["token_type"]) == (True, "PoP")


def test_the_default_response_is_bearer(provider: Provider, web: Client) -> None:
    grant = TokenGrant(
        client=web,
        sub="alice",
        scope=("openid",),
        audience=("web",),
        grant_id="g2",
        auth_time=1,
        user_bound=True,
    )
    data = issue(provider.services, grant).to_dict()
    assert data["token_type"] == "Bearer"
    assert "issued_token_type" not in data
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(data)


# --- the claims policy -------------------------------------------------------------------------


class ScpAndRoles:
    """A preset-like policy: ``scp`` as a list, ``roles`` from the user, no ``scope``."""

    def __init__(self) -> None:
        self.contexts: list[ClaimsContext] = []

    def access_token(self, claims: dict[str, Any], context: ClaimsContext) -> dict[str, Any]:
        self.contexts.append(context)
        shaped = {k: v for k, v in claims.items() if k != "scope"}
        shaped["scp"] = list(context.scope)
        if context.user is not None:
            shaped["roles"] = list(context.user.claims.get("roles", []))
        return shaped

    def id_token(self, claims: dict[str, Any], context: ClaimsContext) -> dict[str, Any]:
        return {**claims, "tid": "tenant-1"}


def test_the_claims_policy_shapes_the_tokens() -> None:
    policy = ScpAndRoles()
    provider = Provider(claims=policy)
    web = provider.add_client(client_id="web", redirect_uris=[WEB_REDIRECT])
    provider.add_user("carol", claims={"roles": ["admin"]})
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, web, scope="openid profile")
        access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        assert (access["scp"], access["roles"], "scope" in access) == (
            ["openid", "profile"],
            ["admin"],
            False,
        )
        id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        assert id_claims["tid"] == "tenant-1"
        # the provider still knows the token it shaped
        r = http.get(
            provider.endpoint("userinfo"),
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert r.status_code == 200
    assert policy.contexts[0].client_id == "web"
    minted = jwt.decode(
        provider.issue_token("carol", scope="read"), options={"verify_signature": False}
    )
    assert minted["scp"] == ["read"]


# --- JWTs signed by client keys -----------------------------------------------------------------


@pytest.fixture
def keyed() -> tuple[Provider, Client, Any, dict[str, Any]]:
    """A provider and a client that registered the public half of an EC key."""
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = {
        **jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True),
        "kid": "client-key-1",
        "use": "sig",
        "alg": "ES256",
    }
    provider = Provider()
    client = provider.add_client(
        client_id="signer", jwks={"keys": [public_jwk]}, grant_types=["client_credentials"]
    )
    return provider, client, private, public_jwk


def assertion(provider: Provider, **overrides: Any) -> dict[str, Any]:
    now = int(provider.clock.now())
    claims = {
        "iss": "signer",
        "sub": "signer",
        "aud": provider.endpoint("token"),
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


def test_a_jwt_signed_by_the_clients_key_verifies(keyed: Any) -> None:
    provider, client, private, _ = keyed
    token = jwt.encode(assertion(provider), private, "ES256", headers={"kid": "client-key-1"})
    s = provider.services
    claims = verify_client_jwt(
        token, client, audience=provider.endpoint("token"), now=s.clock.now(), error=InvalidClient
    )
    assert claims["sub"] == "signer"
    # Replay is the caller's judgement: the first use is new, the second is not.
    assert first_use(s.store, client.client_id, claims, s.clock.now())
    assert not first_use(s.store, client.client_id, claims, s.clock.now())
    assert first_use(s.store, "another-client", claims, s.clock.now())
    with pytest.raises(InvalidClient, match="jti must be"):
        first_use(s.store, "x", {**claims, "jti": 7}, s.clock.now(), InvalidClient)


def test_a_real_library_signs_what_verifies(keyed: Any) -> None:
    provider, client, _, public_jwk = keyed
    key = ECKey.generate_key("P-256", parameters={"kid": "joserfc-key"})
    client = provider.add_client(
        client_id="other-signer", jwks={"keys": [key.as_dict(private=False)]}
    )
    token = joserfc_jwt.encode(
        {"alg": "ES256", "kid": "joserfc-key"},
        assertion(provider, iss="other-signer", sub="other-signer"),
        key,
    )
    claims = verify_client_jwt(
        token, client, audience=provider.endpoint("token"), now=provider.clock.now()
    )
    assert claims["iss"] == "other-signer"
    assert public_jwk["kid"] == "client-key-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aud": "https://elsewhere.test/token"}, "(?i)audience"),
        ({"exp": 1}, "expired"),
        ({"nbf": 2**31}, "not valid yet"),
        ({"jti": None}, "jti"),
    ],
)
def test_client_jwts_are_checked(keyed: Any, change: dict[str, Any], message: str) -> None:
    provider, client, private, _ = keyed
    claims = {k: v for k, v in assertion(provider, **change).items() if v is not None}
    token = jwt.encode(claims, private, "ES256", headers={"kid": "client-key-1"})
    with pytest.raises(InvalidClient, match=message):
        verify_client_jwt(
            token,
            client,
            audience=provider.endpoint("token"),
            now=provider.clock.now(),
            error=InvalidClient,
        )


def test_client_jwt_keys_and_algorithms_are_checked(keyed: Any) -> None:
    provider, client, private, _ = keyed
    audience = provider.endpoint("token")
    now = provider.clock.now()
    unknown_kid = jwt.encode(assertion(provider), private, "ES256", headers={"kid": "nope"})
    with pytest.raises(InvalidClient, match="no key of the client"):
        verify_client_jwt(unknown_kid, client, audience=audience, now=now, error=InvalidClient)
    unsigned = jwt.encode(assertion(provider), None, "none")
    with pytest.raises(InvalidClient, match="not accepted"):
        verify_client_jwt(unsigned, client, audience=audience, now=now, error=InvalidClient)
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(assertion(provider), other, "ES256", headers={"kid": "client-key-1"})
    with pytest.raises(InvalidClient, match="invalid"):
        verify_client_jwt(forged, client, audience=audience, now=now, error=InvalidClient)


def test_client_secret_jwt_is_keyed_with_the_secret(provider: Provider, web: Client) -> None:
    assert web.client_secret is not None
    claims = assertion(provider, iss="web", sub="web")
    token = jwt.encode(claims, web.client_secret, "HS256")
    checked = verify_client_jwt(
        token, web, audience=provider.endpoint("token"), now=provider.clock.now()
    )
    assert checked["iss"] == "web"
    with pytest.raises(OAuthError, match="no jwks or jwks_uri"):
        verify_client_jwt(
            jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), "ES256"),
            web,
            audience=provider.endpoint("token"),
            now=time.time(),
        )


def test_the_providers_own_tokens_go_through_the_same_place(provider: Provider) -> None:
    token = provider.issue_token("alice")
    claims = provider.tokens.decode(token)
    assert claims["sub"] == "alice"
    bad = provider.forge(token, "alg_none")
    with pytest.raises(OAuthError, match="not accepted"):
        provider.tokens.decode(bad)


# --- a fault that is a function ----------------------------------------------------------------


def test_a_callback_fault_answers_or_passes_on(provider: Provider, http: httpx.Client) -> None:
    from mockauth.faults import Callback, FaultContext
    from mockauth.scenarios import Rule

    seen: list[str] = []

    def only_for_bob(ctx: FaultContext) -> Response | None:
        seen.append(ctx.params.get("login_hint", ""))
        if ctx.params.get("login_hint") == "bob":
            raise AccessDenied("bob is locked out")  # rendered as the endpoint renders it
        return None  # everyone else gets the real answer

    provider.add_rule(Rule("authorize", Callback(only_for_bob)))
    params = {"client_id": "web", "redirect_uri": WEB_REDIRECT, "response_type": "code"}
    bob = redirect_params(
        http.get(provider.endpoint("authorize"), params={**params, "login_hint": "bob"})
    )
    alice = redirect_params(
        http.get(provider.endpoint("authorize"), params={**params, "login_hint": "alice"})
    )
    assert (bob["error"], "code" in alice) == ("access_denied", True)
    assert seen == ["bob", "alice"]
    assert [c.error for c in provider.calls] == ["access_denied", None]
    assert "callback only_for_bob" in provider.rules[0].describe()
