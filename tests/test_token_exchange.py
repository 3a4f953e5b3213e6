"""Token exchange (RFC 8693): impersonation and delegation, every token type a
client may present or ask for, narrowing, ``may_act``, and every error §2.2.2
names; requests-oauth2client over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import requests_oauth2client as roc
from cryptography.hazmat.primitives.asymmetric import ec

from mockauth import LiveServer, Provider
from mockauth.grants.token_exchange import (
    ACCESS_TOKEN,
    GRANT_TYPE,
    ID_TOKEN,
    JWT,
    REFRESH_TOKEN,
)

SECRET = "gateway-secret-0123456789abcdef"
API = "https://api.example.test/"
IDP = "https://idp.example.test"
IDP_KEY = ec.generate_private_key(ec.SECP256R1())
IDP_JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(IDP_KEY.public_key())), "kid": "idp"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(trusted_issuers=[{"issuer": IDP, "jwks": {"keys": [IDP_JWK]}}])
    p.add_client(client_id="gateway", client_secret=SECRET,
                 grant_types=[GRANT_TYPE, "refresh_token"])  # fmt: skip
    p.add_client(client_id="bounded", client_secret=SECRET, grant_types=[GRANT_TYPE],
                 audience=[API, "orders"])  # fmt: skip
    p.add_user("alice", email="alice@example.com")
    with LiveServer([p]):
        yield p


def _exchange(provider: Provider, client: str = "gateway", **data: Any) -> httpx.Response:
    return httpx.post(
        provider.endpoint("token"), data={"grant_type": GRANT_TYPE, **data}, auth=(client, SECRET)
    )


def _ok(provider: Provider, client: str = "gateway", **data: Any) -> dict[str, Any]:
    answer = _exchange(provider, client, **data)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _claims(provider: Provider, token: str) -> dict[str, Any]:
    return provider.tokens.decode(token, client_secret=provider.client_secret)


def _subject(provider: Provider, **options: Any) -> dict[str, str]:
    token = provider.issue_token("alice", client_id="web", **options)
    return {"subject_token": token, "subject_token_type": ACCESS_TOKEN}


def test_requests_oauth2client_impersonation(provider: Provider) -> None:
    client = roc.OAuth2Client(provider.endpoint("token"), auth=("gateway", SECRET), testing=True)
    subject = provider.issue_token("alice", client_id="web", scope="openid read")
    token = client.token_exchange(subject_token=subject, subject_token_type="access_token",
                                  audience="orders")  # fmt: skip
    claims = _claims(provider, str(token.access_token))
    assert (claims["sub"], claims["aud"], claims["client_id"]) == (
        provider.user("alice").sub,
        "orders",
        "gateway",
    )
    assert "act" not in claims  # impersonation: no actor
    assert token.refresh_token is None
    assert token.kwargs["issued_token_type"] == ACCESS_TOKEN


def test_requests_oauth2client_delegation(provider: Provider) -> None:
    client = roc.OAuth2Client(provider.endpoint("token"), auth=("gateway", SECRET), testing=True)
    subject = provider.issue_token("alice", client_id="web")
    actor = provider.issue_token("svc-a", client_id="gateway")
    token = client.token_exchange(subject_token=subject, subject_token_type="access_token",
                                  actor_token=actor, actor_token_type="access_token")  # fmt: skip
    assert _claims(provider, str(token.access_token))["act"] == {"sub": "svc-a"}


def test_the_response_members(provider: Provider) -> None:
    body = _ok(provider, **_subject(provider, scope="read"))
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert body["scope"] == "read"
    assert "refresh_token" not in body


def test_an_earlier_actor_is_nested(provider: Provider) -> None:
    svc_a, svc_b = provider.issue_token("svc-a"), provider.issue_token("svc-b")
    first = _ok(provider, **_subject(provider), actor_token=svc_a, actor_token_type=ACCESS_TOKEN)
    second = _ok(
        provider, subject_token=first["access_token"], subject_token_type=ACCESS_TOKEN,
        actor_token=svc_b, actor_token_type=ACCESS_TOKEN,
    )  # fmt: skip
    assert _claims(provider, second["access_token"])["act"] == {
        "sub": "svc-b",
        "act": {"sub": "svc-a"},
    }
    # exchanged again with no actor: the chain is kept, not laundered away
    third = _ok(provider, subject_token=second["access_token"], subject_token_type=ACCESS_TOKEN)
    assert _claims(provider, third["access_token"])["act"]["sub"] == "svc-b"


def test_an_external_actor_names_its_issuer(provider: Provider) -> None:
    now = provider.clock.now()
    actor = jwt.encode({"iss": IDP, "sub": "robot", "exp": now + 60}, IDP_KEY, "ES256",
                       headers={"kid": "idp"})  # fmt: skip
    body = _ok(provider, **_subject(provider), actor_token=actor, actor_token_type=JWT)
    assert _claims(provider, body["access_token"])["act"] == {"sub": "robot", "iss": IDP}


def test_may_act_names_who_may_act(provider: Provider) -> None:
    subject = _subject(provider, claims={"may_act": {"sub": "svc-a"}})
    allowed = _ok(provider, **subject, actor_token=provider.issue_token("svc-a"),
                  actor_token_type=ACCESS_TOKEN)  # fmt: skip
    assert _claims(provider, allowed["access_token"])["act"] == {"sub": "svc-a"}
    refused = _exchange(provider, **subject, actor_token=provider.issue_token("svc-b"),
                        actor_token_type=ACCESS_TOKEN).json()  # fmt: skip
    assert refused["error"] == "invalid_request"
    assert "may_act does not name the actor_token's sub" in refused["error_description"]
    # with no actor token the client is the one acting
    alone = _exchange(provider, **subject).json()
    assert "may_act does not name the client's sub" in alone["error_description"]
    mine = _subject(provider, claims={"may_act": {"sub": "gateway"}})
    assert _exchange(provider, **mine).status_code == 200


def test_audience_and_resource_narrowing_and_invalid_target(provider: Provider) -> None:
    both = _ok(provider, "bounded", **_subject(provider), audience="orders", resource=API)
    assert _claims(provider, both["access_token"])["aud"] == [API, "orders"]
    one = _ok(provider, "bounded", **_subject(provider), audience="orders")
    assert _claims(provider, one["access_token"])["aud"] == "orders"
    refused = _exchange(provider, "bounded", **_subject(provider), audience="payroll")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_target")
    assert "payroll" in refused.json()["error_description"]


def test_scope_narrows_never_widens(provider: Provider) -> None:
    subject = _subject(provider, scope="openid read write")
    narrowed = _ok(provider, **subject, scope="read")
    assert narrowed["scope"] == "read"
    whole = _ok(provider, **subject)
    assert whole["scope"] == "openid read write"
    wider = _exchange(provider, **subject, scope="read admin").json()
    assert wider["error"] == "invalid_scope"
    assert "admin" in wider["error_description"]


def test_an_id_token_is_not_an_access_token(provider: Provider) -> None:
    body = _ok(provider, **_subject(provider, scope="openid email"), requested_token_type=ID_TOKEN)
    assert (body["issued_token_type"], body["token_type"]) == (ID_TOKEN, "N_A")
    claims = _claims(provider, body["access_token"])
    assert (claims["aud"], claims["email"]) == ("gateway", "alice@example.com")
    targeted = _exchange(provider, **_subject(provider), requested_token_type=ID_TOKEN,
                         audience="orders")  # fmt: skip
    assert targeted.json()["error"] == "invalid_target"


def test_a_refresh_token_can_be_asked_for_and_used(provider: Provider) -> None:
    body = _ok(provider, **_subject(provider, scope="read"), requested_token_type=REFRESH_TOKEN)
    assert (body["issued_token_type"], body["token_type"]) == (REFRESH_TOKEN, "N_A")
    used = httpx.post(
        provider.endpoint("token"),
        auth=("gateway", SECRET),
        data={"grant_type": "refresh_token", "refresh_token": body["access_token"]},
    )
    assert used.status_code == 200
    assert _claims(provider, used.json()["access_token"])["sub"] == provider.user("alice").sub
    delegated = _exchange(
        provider,
        **_subject(provider),
        requested_token_type=REFRESH_TOKEN,
        actor_token=provider.issue_token("svc"),
        actor_token_type=ACCESS_TOKEN,
    )
    assert "cannot carry the act claim" in delegated.json()["error_description"]
    no_refresh = _exchange(provider, "bounded", **_subject(provider),
                           requested_token_type=REFRESH_TOKEN).json()  # fmt: skip
    assert "may not hold refresh tokens" in no_refresh["error_description"]


def test_jwt_is_a_jwt_even_when_access_tokens_are_opaque(provider: Provider) -> None:
    opaque = Provider(tokens={"access_token_format": "opaque"})
    opaque.add_client(client_id="gateway", client_secret=SECRET, grant_types=[GRANT_TYPE])
    opaque.add_user("alice")
    with LiveServer([opaque]):
        subject = _subject(opaque)
        default = _ok(opaque, **subject)
        assert default["access_token"].count(".") != 2
        asked = _ok(opaque, **_subject(opaque), requested_token_type=JWT)
        assert asked["issued_token_type"] == JWT
        assert asked["token_type"] == "Bearer"
        assert jwt.get_unverified_header(asked["access_token"])["typ"] == "at+jwt"
        # an opaque subject token is verified by the provider's records
        assert _claims(opaque, asked["access_token"])["sub"] == opaque.user("alice").sub


def test_every_presentable_token_type(provider: Provider) -> None:
    now = provider.clock.now()
    idp_token = jwt.encode({"iss": IDP, "sub": "ext-user", "exp": now + 60, "scope": "read"},
                           IDP_KEY, "ES256", headers={"kid": "idp"})  # fmt: skip
    own_refresh = _ok(provider, **_subject(provider), requested_token_type=REFRESH_TOKEN)
    presented = {
        ACCESS_TOKEN: provider.issue_token("alice"),
        ID_TOKEN: provider.issue_id_token("alice"),
        JWT: idp_token,
        REFRESH_TOKEN: own_refresh["access_token"],
    }
    subs = {}
    for token_type, token in presented.items():
        body = _ok(provider, subject_token=token, subject_token_type=token_type)
        subs[token_type] = _claims(provider, body["access_token"])["sub"]
    alice = provider.user("alice").sub
    assert subs == {ACCESS_TOKEN: alice, ID_TOKEN: alice, JWT: "ext-user", REFRESH_TOKEN: alice}
    # an external token presented as an access token is verified by its issuer too
    assert _ok(provider, subject_token=idp_token, subject_token_type=ACCESS_TOKEN)


def _error(provider: Provider, **data: Any) -> str:
    answer = _exchange(provider, **data)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request"), answer.text
    description: str = answer.json()["error_description"]
    return description


def test_bad_subject_and_actor_tokens_are_invalid_request(provider: Provider) -> None:
    token = provider.issue_token("alice")
    now = provider.clock.now()
    stranger = jwt.encode({"iss": "https://stranger.test", "sub": "x", "exp": now + 60},
                          ec.generate_private_key(ec.SECP256R1()), "ES256")  # fmt: skip
    cases = {
        "missing parameter: subject_token": {"subject_token_type": ACCESS_TOKEN},
        "missing parameter: subject_token_type": {"subject_token": token},
        "SAML assertions are not supported":
            {"subject_token": token, "subject_token_type": ACCESS_TOKEN[:-12] + "saml2"},
        "not a token type this server knows":
            {"subject_token": token, "subject_token_type": "urn:example:cookie"},
        "the subject_token is invalid":
            {"subject_token": "nonsense", "subject_token_type": ACCESS_TOKEN},
        "is not trusted": {"subject_token": stranger, "subject_token_type": JWT},
        "not a JWT": {"subject_token": "abc", "subject_token_type": JWT},
        "not a refresh token of this provider":
            {"subject_token": "abc", "subject_token_type": REFRESH_TOKEN},
        "missing parameter: actor_token_type":
            {"subject_token": token, "subject_token_type": ACCESS_TOKEN, "actor_token": token},
        "actor_token_type is sent only with an actor_token":
            {"subject_token": token, "subject_token_type": ACCESS_TOKEN, "actor_token_type": JWT},
        "requested_token_type": {"subject_token": token, "subject_token_type": ACCESS_TOKEN,
                                 "requested_token_type": "urn:example:session"},
        "the actor_token is invalid": {"subject_token": token, "subject_token_type": ACCESS_TOKEN,
                                       "actor_token": "x.y.z", "actor_token_type": ACCESS_TOKEN},
    }  # fmt: skip
    for message, data in cases.items():
        assert message in _error(provider, **data), message


def test_a_forged_expired_or_revoked_subject_is_refused(provider: Provider) -> None:
    token = provider.issue_token("alice")
    forged = provider.forge(token, "bad_signature")
    assert "invalid" in _error(provider, subject_token=forged, subject_token_type=ACCESS_TOKEN)
    provider.revoke_tokens(user="alice")
    assert "revoked" in _error(provider, subject_token=token, subject_token_type=ACCESS_TOKEN)
    assert "revoked" in _error(provider, subject_token=token, subject_token_type=JWT)
    later = provider.issue_token("alice", expires_in=60)
    provider.clock.advance(61)
    assert "expired" in _error(provider, subject_token=later, subject_token_type=ACCESS_TOKEN)


def test_another_clients_refresh_token_is_refused(provider: Provider) -> None:
    body = _ok(provider, **_subject(provider), requested_token_type=REFRESH_TOKEN)
    provider.add_client(client_id="thief", client_secret=SECRET, grant_types=[GRANT_TYPE])
    answer = _exchange(provider, "thief", subject_token=body["access_token"],
                       subject_token_type=REFRESH_TOKEN).json()  # fmt: skip
    assert "issued to another client" in answer["error_description"]


def test_the_grant_is_opt_in_and_keycloak_extras_are_ignored(provider: Provider) -> None:
    provider.add_client(client_id="plain", client_secret=SECRET)
    refused = _exchange(provider, "plain", **_subject(provider)).json()
    assert refused["error"] == "unauthorized_client"
    body = _ok(provider, **_subject(provider), requested_subject="bob", requested_issuer="google",
               subject_issuer="idp")  # fmt: skip
    assert _claims(provider, body["access_token"])["sub"] == provider.user("alice").sub


def test_subject_and_actor_tokens_are_redacted_in_the_journal(provider: Provider) -> None:
    subject, actor = provider.issue_token("alice"), provider.issue_token("svc")
    _ok(provider, subject_token=subject, subject_token_type=ACCESS_TOKEN, actor_token=actor,
        actor_token_type=ACCESS_TOKEN)  # fmt: skip
    call = provider.calls.filter("token")[-1]
    assert call.params["subject_token"] == call.params["actor_token"] == "[redacted]"
    assert subject not in repr(call)
    assert actor not in repr(call)
    assert call.params["subject_token_type"] == ACCESS_TOKEN
