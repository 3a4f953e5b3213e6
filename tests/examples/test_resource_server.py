"""The resource-server example against the live provider: every forged token is refused.

``resource_server.ResourceServer`` runs under ``werkzeug.test.Client`` and
fetches keys from the ``mockauth`` fixture's JWKS with ``PyJWKClient``. Its
clock is the provider's, so moving ``mockauth.clock`` moves time for both.
Each forgery of :data:`mockauth.faults.TOKEN_FAULTS` is applied to a genuine
access token; the ones that only concern ID tokens (``at_hash``, ``c_hash``,
``nonce``, ``azp``) are shown to leave an access token as valid as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from werkzeug.http import parse_dict_header
from werkzeug.test import Client, TestResponse

from mockauth import MockauthError, Provider, User
from mockauth.faults import TOKEN_FAULTS, Fault, HttpFault, proxy_error
from mockauth.forge import forge
from mockauth.scenarios import Match, Rule

from .resource_server import REQUIRED_CLAIMS, ResourceServer

API = "https://api.example.test"
SCOPE = "profile:read"
ALICE = {"name": "Alice A", "plan": "pro"}

ApiFactory = Callable[..., Client]


@pytest.fixture
def alice(mockauth: Provider) -> User:
    return mockauth.add_user("alice", sub="alice-sub-0001", name="Alice A")


@pytest.fixture
def make_api(mockauth: Provider, alice: User) -> ApiFactory:
    """A test client for a fresh resource server; keyword arguments go to ``PyJWKClient``."""

    def make(**jwks_options: Any) -> Client:
        app = ResourceServer(
            issuer=mockauth.issuer,
            audience=API,
            jwks=jwt.PyJWKClient(mockauth.endpoint("jwks"), **jwks_options),
            accounts={alice.sub: ALICE},
            scope=SCOPE,
            clock=mockauth.clock.now,
        )
        return Client(app)

    return make


@pytest.fixture
def api(make_api: ApiFactory) -> Client:
    return make_api()


def mint(provider: Provider, user: User, **kwargs: Any) -> str:
    """A genuine access token for ``user``, for this API, as a web app would hold it."""
    kwargs.setdefault("scope", f"openid {SCOPE}")
    return provider.issue_token(user.sub, client_id="web-app", audience=API, **kwargs)


def get_me(api: Client, token: str | None = None, scheme: str = "Bearer") -> TestResponse:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return api.get("/me", headers=headers)


def challenge(response: TestResponse) -> dict[str, str | None]:
    """The parameters of the response's ``WWW-Authenticate: Bearer`` challenge."""
    scheme, _, params = response.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return parse_dict_header(params)


def assert_invalid_token(response: TestResponse, reason: str) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    found = challenge(response)
    assert found["realm"] == "api"
    assert found["error"] == "invalid_token"
    assert reason in (found["error_description"] or ""), found


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


# --- the genuine token ----------------------------------------------------------------


@pytest.mark.parametrize(
    "alg",
    [
        pytest.param(alg, marks=pytest.mark.mockauth(tokens={"signing_alg": alg}))
        for alg in ("RS256", "PS256", "ES256", "EdDSA")
    ],
)
def test_genuine_token_is_accepted(mockauth: Provider, api: Client, alice: User, alg: str) -> None:
    token = mint(mockauth, alice)
    assert jwt.get_unverified_header(token)["alg"] == alg

    response = get_me(api, token)
    assert response.status_code == 200, response.headers.get("WWW-Authenticate")
    assert response.json == {"sub": alice.sub, **ALICE}
    mockauth.calls.assert_called("jwks", times=1)


@pytest.mark.parametrize(
    ("token", "scheme"), [(None, "Bearer"), ("", "Bearer"), ("YWxpY2U6cHc=", "Basic")]
)
def test_no_bearer_token_is_a_bare_challenge(api: Client, token: str | None, scheme: str) -> None:
    # RFC 6750 §3.1: without credentials the challenge carries no error code.
    response = get_me(api, token, scheme)
    assert response.status_code == 401
    assert challenge(response) == {"realm": "api"}


def test_garbage_is_an_invalid_token(api: Client) -> None:
    assert_invalid_token(get_me(api, "not-a-jwt"), "Not enough segments")


def test_insufficient_scope_is_403(mockauth: Provider, api: Client, alice: User) -> None:
    token = forge(mockauth, mint(mockauth, alice), "set_claim", claim="scope", value="openid")
    response = get_me(api, token)
    assert response.status_code == 403
    assert challenge(response) == {
        "realm": "api",
        "error": "insufficient_scope",
        "scope": SCOPE,
    }


def test_id_token_is_not_an_access_token(mockauth: Provider, api: Client, alice: User) -> None:
    # Everything but typ would pass: same key, iss, aud, and the RFC 9068 claims.
    id_token = mockauth.issue_id_token(
        alice.sub, client_id=API, claims={"jti": "id-1", "client_id": "web-app", "scope": SCOPE}
    )
    key = jwt.PyJWKClient(mockauth.endpoint("jwks")).get_signing_key_from_jwt(id_token)
    jwt.decode(
        id_token,
        key,
        algorithms=[key.algorithm_name],
        audience=API,
        issuer=mockauth.issuer,
        options={"require": REQUIRED_CLAIMS},
    )
    assert jwt.get_unverified_header(id_token)["typ"] == "JWT"

    assert_invalid_token(get_me(api, id_token), "typ")


# --- every forgery mockauth makes -----------------------------------------------------

# name: (kind, claim, value, what the error description says)
REJECTED: dict[str, tuple[str, str | None, Any, str]] = {
    "expired": ("expired", None, None, "token expired"),
    "not_yet_valid": ("not_yet_valid", None, None, "token not valid yet"),
    "issued_in_future": ("issued_in_future", None, None, "token issued in the future"),
    "wrong_iss": ("wrong_iss", None, None, "Invalid issuer"),
    "wrong_aud": ("wrong_aud", None, None, "Audience doesn't match"),
    "wrong_sub": ("wrong_sub", None, None, "unknown subject"),
    "bad_signature": ("bad_signature", None, None, "Signature verification failed"),
    "unknown_kid": ("unknown_kid", None, None, "Unable to find a signing key"),
    "no_kid": ("no_kid", None, None, "Unable to find a signing key"),
    "alg_none": ("alg_none", None, None, "alg value is not allowed"),
    "hs256_public_key": ("hs256_public_key", None, None, "alg value is not allowed"),
    **{
        f"missing_{claim}": ("missing_claim", claim, None, f"missing the {claim} claim")
        for claim in REQUIRED_CLAIMS
    },
    "exp_not_a_number": ("set_claim", "exp", "tomorrow", "exp is not a number"),
    "aud_list_without_us": ("set_claim", "aud", ["other-api"], "Audience doesn't match"),
}

# These change only what an ID token carries; RFC 9068 §4 asks a resource server
# to check none of it, and the missing_* ones find nothing to remove.
ID_TOKEN_ONLY = {
    "wrong_azp": {"azp"},
    "wrong_at_hash": {"at_hash"},
    "missing_at_hash": set(),
    "wrong_c_hash": {"c_hash"},
    "missing_c_hash": set(),
    "wrong_nonce": {"nonce"},
    "missing_nonce": set(),
}


def test_every_token_fault_is_covered() -> None:
    covered = {kind for kind, *_ in REJECTED.values()} | set(ID_TOKEN_ONLY)
    assert covered == set(TOKEN_FAULTS)


@pytest.mark.parametrize(("kind", "claim", "value", "reason"), REJECTED.values(), ids=REJECTED)
def test_forged_token_is_rejected(
    mockauth: Provider,
    api: Client,
    alice: User,
    kind: str,
    claim: str | None,
    value: Any,
    reason: str,
) -> None:
    genuine = mint(mockauth, alice)
    assert get_me(api, genuine).status_code == 200  # the control, through the same server

    forged = forge(mockauth, genuine, kind, claim=claim, value=value)
    assert forged != genuine
    assert_invalid_token(get_me(api, forged), reason)


@pytest.mark.parametrize(("kind", "changed"), ID_TOKEN_ONLY.items(), ids=ID_TOKEN_ONLY)
def test_id_token_forgeries_leave_an_access_token_valid(
    mockauth: Provider, api: Client, alice: User, kind: str, changed: set[str]
) -> None:
    genuine = mint(mockauth, alice)
    if not changed:  # nothing to remove from an access token: mockauth says so
        with pytest.raises(MockauthError, match="has no"):
            forge(mockauth, genuine, kind)
        return
    forged = forge(mockauth, genuine, kind)
    before, after = claims_of(genuine), claims_of(forged)
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == changed
    assert jwt.get_unverified_header(forged) == jwt.get_unverified_header(genuine)

    assert get_me(api, forged).status_code == 200


def test_minted_expired_token_is_rejected(mockauth: Provider, api: Client, alice: User) -> None:
    assert_invalid_token(get_me(api, mint(mockauth, alice, expires_in=-60)), "token expired")


def test_minted_not_yet_valid_token_is_rejected(
    mockauth: Provider, api: Client, alice: User
) -> None:
    token = mint(mockauth, alice, not_before=60)
    assert_invalid_token(get_me(api, token), "token not valid yet")


def test_exp_and_nbf_have_no_leeway(mockauth: Provider, api: Client, alice: User) -> None:
    mockauth.clock.freeze()
    token = mint(mockauth, alice, expires_in=300, not_before=60)
    claims = claims_of(token)

    mockauth.clock.move_to(claims["nbf"] - 1)
    assert_invalid_token(get_me(api, token), "token not valid yet")
    mockauth.clock.move_to(claims["nbf"])
    assert get_me(api, token).status_code == 200
    mockauth.clock.move_to(claims["exp"] - 1)
    assert get_me(api, token).status_code == 200
    mockauth.clock.move_to(claims["exp"])
    assert_invalid_token(get_me(api, token), "token expired")


# --- keys: rotation and outages -------------------------------------------------------


def test_token_signed_with_a_rotated_key(
    mockauth: Provider, make_api: ApiFactory, alice: User
) -> None:
    api = make_api(cooldown_duration=0)
    old = mint(mockauth, alice)
    assert get_me(api, old).status_code == 200

    mockauth.rotate_keys()
    new = mint(mockauth, alice)
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert get_me(api, new).status_code == 200
    assert get_me(api, old).status_code == 200  # the old key is still published
    mockauth.calls.assert_called("jwks", times=2)


def test_default_cooldown_refuses_a_fresh_key_for_a_while(
    mockauth: Provider, api: Client, alice: User
) -> None:
    # PyJWKClient does not refetch within 30 s of its last fetch: a resource
    # server with the defaults refuses tokens signed right after a rotation.
    assert get_me(api, mint(mockauth, alice)).status_code == 200
    mockauth.rotate_keys()
    assert_invalid_token(get_me(api, mint(mockauth, alice)), "Unable to find a signing key")
    mockauth.calls.assert_called("jwks", times=1)


OUTAGES: dict[str, tuple[Fault | dict[str, Any], dict[str, Any]]] = {
    "dropped": ({"drop": True}, {}),
    # The same client asks again once the provider is back: 0.2 s is ample on loopback.
    "slow": ({"delay": 1.0}, {"timeout": 0.2}),
    "proxy_502": (proxy_error(), {}),
    "not_json": (HttpFault(200, "<html>Maintenance</html>", content_type="text/html"), {}),
}


@pytest.mark.parametrize(("fault", "jwks_options"), OUTAGES.values(), ids=OUTAGES)
def test_jwks_outage_is_503_until_the_provider_is_back(
    mockauth: Provider,
    make_api: ApiFactory,
    alice: User,
    fault: Fault | dict[str, Any],
    jwks_options: dict[str, Any],
) -> None:
    if isinstance(fault, Fault):
        rule = mockauth.add_rule(Rule(Match(endpoint="jwks"), fault, times=1))
    else:
        rule = mockauth.fail("jwks", times=1, **fault)
    api = make_api(**jwks_options)
    token = mint(mockauth, alice)

    response = get_me(api, token)
    assert response.status_code == 503
    assert response.json == {"error": "temporarily_unavailable"}
    assert rule.used == 1

    assert get_me(api, token).status_code == 200
