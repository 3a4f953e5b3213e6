"""Access tokens (RFC 9068), ID tokens (OIDC Core §2, §3.1.3.6, §12.2) and what
userinfo accepts as a token (RFC 8725)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mockauth import Client, Provider

from .helpers import WEB_REDIRECT, code_flow, refresh, secret_auth

WEB_SECRET = "web-secret-0123456789-abcdefghijkl"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


def make_provider(**overrides: Any) -> tuple[Provider, Client]:
    provider = Provider(**overrides)
    web = provider.add_client(
        client_id="web", client_secret=WEB_SECRET, redirect_uris=[WEB_REDIRECT]
    )
    provider.add_user("alice", password="alice-pw", email="alice@example.com", name="Alice A")
    return provider, web


def verify_key(provider: Provider, token: str) -> tuple[Any, str]:
    """The published key a token names, and its algorithm (from the JWKS, not the token)."""
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in provider.jwks()["keys"] if k["kid"] == kid]
    return jwt.PyJWK.from_dict(jwk).key, jwk["alg"]


def decode_access_token(provider: Provider, token: str, audience: str) -> dict[str, Any]:
    """An access token's claims, verified with its published key (times not judged)."""
    key, alg = verify_key(provider, token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=audience,
        issuer=provider.issuer,
        options={"verify_exp": False, "verify_iat": False},
    )
    return claims


def decode_id_token(provider: Provider, token: str, client: Client) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    if header["alg"] == "HS256":
        assert client.client_secret is not None
        key: Any = client.client_secret.encode()
        alg = "HS256"
    else:
        key, alg = verify_key(provider, token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=client.client_id,
        issuer=provider.issuer,
        options={"verify_exp": False, "verify_iat": False, "require": ["exp", "iat"]},
    )
    return claims


def userinfo(http: httpx.Client, provider: Provider, token: str) -> httpx.Response:
    return http.get(provider.endpoint("userinfo"), headers={"Authorization": f"Bearer {token}"})


def refreshed(http: httpx.Client, provider: Provider, client: Client, token: str) -> dict[str, Any]:
    """The token response of a successful refresh."""
    r = refresh(http, provider, client, token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def expected_half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6, recomputed independently: EdDSA (Ed25519) hashes with SHA-512."""
    digest = {
        "RS256": hashlib.sha256,
        "PS256": hashlib.sha256,
        "ES256": hashlib.sha256,
        "HS256": hashlib.sha256,
        "EdDSA": hashlib.sha512,
    }[alg](value.encode("ascii")).digest()
    return b64(digest[: len(digest) // 2])


# --- access tokens ----------------------------------------------------------


def test_access_token_is_an_rfc9068_jwt(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web, scope="openid profile", login_hint="alice")
    token = tokens["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["kid"].startswith("mockauth-")
    assert header["alg"] == verify_key(provider, token)[1]
    claims = decode_access_token(provider, token, "web")
    assert claims["iss"] == provider.issuer
    assert claims["sub"] == "alice"
    assert claims["aud"] == "web"
    assert claims["client_id"] == "web"
    assert claims["scope"] == "openid profile"
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    for name in ("iat", "exp", "auth_time"):
        assert type(claims[name]) is int, name
    assert claims["exp"] - claims["iat"] == tokens["expires_in"]


def test_access_token_jti_is_unique(http: httpx.Client, provider: Provider, web: Client) -> None:
    jtis = {
        jwt.decode(
            code_flow(http, provider, web)["access_token"], options={"verify_signature": False}
        )["jti"]
        for _ in range(5)
    }
    assert len(jtis) == 5


def test_client_credentials_access_token_is_about_the_client(
    http: httpx.Client, provider: Provider, service: Client
) -> None:
    r = http.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=secret_auth(service),
    )
    token = r.json()["access_token"]
    claims = decode_access_token(provider, token, "api")
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert claims["sub"] == "service"
    assert claims["client_id"] == "service"
    assert claims["aud"] == "api"
    assert claims["scope"] == "read"
    assert "auth_time" not in claims


# --- ID tokens --------------------------------------------------------------


def test_id_token_claims(http: httpx.Client, provider: Provider, web: Client) -> None:
    provider.clock.freeze(1_700_000_000)
    tokens = code_flow(http, provider, web, login_hint="bob", nonce="n-123")
    header = jwt.get_unverified_header(tokens["id_token"])
    assert header["kid"].startswith("mockauth-")
    assert header["alg"] in provider.metadata()["id_token_signing_alg_values_supported"]
    claims = decode_id_token(provider, tokens["id_token"], web)
    assert claims["iss"] == provider.issuer == provider.metadata()["issuer"]
    assert claims["sub"] == "bob"
    aud = claims["aud"]
    assert aud == "web" or (isinstance(aud, list) and "web" in aud)
    if isinstance(aud, list) and len(aud) > 1:
        assert claims["azp"] == "web"
    if "azp" in claims:
        assert claims["azp"] == "web"
    for name in ("exp", "iat", "auth_time"):
        assert type(claims[name]) is int, name
    assert claims["iat"] == 1_700_000_000
    assert claims["auth_time"] == 1_700_000_000
    assert claims["exp"] > claims["iat"]
    assert claims["nonce"] == "n-123"


@pytest.mark.parametrize(
    ("extra", "has_nonce"), [({}, False), ({"nonce": ""}, False), ({"nonce": "x"}, True)]
)
def test_nonce_only_when_a_non_empty_one_was_sent(
    http: httpx.Client, provider: Provider, web: Client, extra: dict[str, str], has_nonce: bool
) -> None:
    claims = decode_id_token(provider, code_flow(http, provider, web, **extra)["id_token"], web)
    assert ("nonce" in claims) is has_nonce


def test_no_id_token_without_openid_scope(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web, scope="profile")
    assert "id_token" not in tokens


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA", "HS256"])
def test_at_hash_matches_the_signing_algorithm(alg: str) -> None:
    provider, web = make_provider(tokens={"signing_alg": alg})
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, web, login_hint="alice")
        header = jwt.get_unverified_header(tokens["id_token"])
        assert header["alg"] == alg
        assert alg in provider.metadata()["id_token_signing_alg_values_supported"]
        claims = decode_id_token(provider, tokens["id_token"], web)
        assert claims["at_hash"] == expected_half_hash(tokens["access_token"], alg)
        assert claims["sub"] == "alice"
        # The access token signed under this configuration is accepted by the provider.
        response = userinfo(http, provider, tokens["access_token"])
        assert response.status_code == 200, response.headers
        assert response.json()["sub"] == "alice"


def test_hs256_id_token_is_not_signed_with_a_published_key() -> None:
    provider, web = make_provider(tokens={"signing_alg": "HS256"})
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, web)
    # Signed with the client secret (OIDC Core §10.1) and nothing else.
    decode_id_token(provider, tokens["id_token"], web)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            tokens["id_token"],
            b"not-the-secret-0123456789-abcdef",
            algorithms=["HS256"],
            options={"verify_aud": False},
        )
    assert all("k" not in key for key in provider.jwks()["keys"])


def test_id_token_from_refresh_keeps_identity_claims(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    provider.clock.freeze(1_700_000_000)
    first = code_flow(http, provider, web, login_hint="alice", nonce="original")
    provider.clock.advance(500)
    second = refreshed(http, provider, web, first["refresh_token"])
    old = decode_id_token(provider, first["id_token"], web)
    new = decode_id_token(provider, second["id_token"], web)
    for name in ("iss", "sub", "aud", "azp", "auth_time"):
        assert new.get(name) == old.get(name), name
    assert new["auth_time"] == 1_700_000_000
    assert new["iat"] == 1_700_000_500
    assert "nonce" not in new  # OIDC Core §12.2: SHOULD NOT
    assert new["at_hash"] == expected_half_hash(second["access_token"], "RS256")


# --- opaque access tokens ---------------------------------------------------


@pytest.fixture
def opaque() -> Iterator[tuple[Provider, Client, httpx.Client]]:
    provider, web = make_provider(tokens={"access_token_format": "opaque"})
    with provider.httpx_client() as http:
        yield provider, web, http


def test_opaque_access_tokens_work_at_userinfo_and_introspection(
    opaque: tuple[Provider, Client, httpx.Client],
) -> None:
    provider, web, http = opaque
    tokens = code_flow(http, provider, web, scope="openid email")
    token = tokens["access_token"]
    assert token.count(".") == 0
    r = userinfo(http, provider, token)
    assert r.status_code == 200
    assert r.json() == {"sub": "alice", "email": "alice@example.com"}
    info = http.post(
        provider.endpoint("introspect"), data={"token": token}, auth=("web", WEB_SECRET)
    ).json()
    assert info["active"] is True
    assert info["sub"] == "alice"
    assert info["client_id"] == "web"
    assert info["scope"] == "openid email"
    claims = decode_id_token(provider, tokens["id_token"], web)
    assert claims["at_hash"] == expected_half_hash(token, "RS256")


def test_opaque_access_token_expires_and_revokes(
    opaque: tuple[Provider, Client, httpx.Client],
) -> None:
    provider, web, http = opaque
    token = code_flow(http, provider, web)["access_token"]
    other = code_flow(http, provider, web)["access_token"]
    assert userinfo(http, provider, token).status_code == 200
    http.post(provider.endpoint("revoke"), data={"token": token}, auth=("web", WEB_SECRET))
    assert userinfo(http, provider, token).status_code == 401
    assert userinfo(http, provider, other).status_code == 200
    provider.clock.advance(provider.config.tokens.access_token_ttl + 1)
    assert userinfo(http, provider, other).status_code == 401


def test_unknown_opaque_token_is_rejected(opaque: tuple[Provider, Client, httpx.Client]) -> None:
    provider, web, http = opaque
    token = code_flow(http, provider, web)["access_token"]
    r = userinfo(http, provider, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


# --- issue_token ------------------------------------------------------------


def test_issue_token_with_negative_expiry_is_rejected_as_expired(
    http: httpx.Client, provider: Provider
) -> None:
    live = provider.issue_token(subject="alice", scope="openid", expires_in=60)
    assert userinfo(http, provider, live).status_code == 200
    expired = provider.issue_token(subject="alice", scope="openid", expires_in=-60)
    r = userinfo(http, provider, expired)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    claims = jwt.decode(expired, options={"verify_signature": False})
    assert claims["exp"] < claims["iat"]


def test_issued_token_expires_through_the_clock(http: httpx.Client, provider: Provider) -> None:
    provider.clock.freeze(1_700_000_000)
    token = provider.issue_token(subject="alice", scope="openid", expires_in=60)
    provider.clock.advance(59)
    assert userinfo(http, provider, token).status_code == 200
    provider.clock.advance(1)
    assert userinfo(http, provider, token).status_code == 401


# --- forged tokens ----------------------------------------------------------


@pytest.fixture
def genuine(provider: Provider) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A real token, its header and its claims, for re-signing."""
    token = provider.issue_token(subject="alice", scope="openid", expires_in=600)
    return (
        token,
        jwt.get_unverified_header(token),
        jwt.decode(token, options={"verify_signature": False}),
    )


def _attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64json(header)}.{b64json(claims)}."


def _hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(sig)}"


def _signed(header: dict[str, Any], claims: dict[str, Any], key: Any, alg: str) -> str:
    """Sign any header as given (PyJWT's encode refuses odd ones, e.g. a null kid)."""
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    algorithm = jwt.algorithms.get_default_algorithms()[alg]
    return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), key))}"


def _resigned(
    provider: Provider, header: dict[str, Any], claims: dict[str, Any], alg: str | None = None
) -> str:
    """Signed with the provider's own private key: only the content is wrong."""
    key = provider.keys.active()
    alg = alg or key.alg
    return _signed({**header, "alg": alg}, claims, key.key, alg)


def test_resigned_genuine_token_is_accepted(
    http: httpx.Client, provider: Provider, genuine: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    """The control for the forgeries below: re-signing itself is not what fails them."""
    token, header, claims = genuine
    assert userinfo(http, provider, token).status_code == 200
    assert userinfo(http, provider, _resigned(provider, header, claims)).status_code == 200


def _forgeries(
    provider: Provider, header: dict[str, Any], claims: dict[str, Any]
) -> dict[str, str]:
    attacker = _attacker_key()
    public_pem = (
        provider.keys.active()
        .key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    kid = header["kid"]
    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    return {
        "alg none": _unsigned({**header, "alg": "none"}, claims),
        "alg None": _unsigned({**header, "alg": "None"}, claims),
        "alg none without kid": _unsigned({"alg": "none", "typ": "at+jwt"}, claims),
        "no alg": _hmac_signed({"kid": kid, "typ": "at+jwt"}, claims, b"x"),
        "wrong key": jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": kid}),
        "HS256 keyed with the public key PEM": _hmac_signed(
            {**header, "alg": "HS256"}, claims, public_pem
        ),
        "RS512 with the provider key": _resigned(provider, header, claims, alg="RS512"),
        "PS256 with the RS256 key": _resigned(provider, header, claims, alg="PS256"),
        "unknown crit": _resigned(
            provider, {**header, "crit": ["x-mockauth-unknown"], "x-mockauth-unknown": 1}, claims
        ),
        "crit not a list": _resigned(provider, {**header, "crit": "exp"}, claims),
        "missing exp": _resigned(provider, header, no_exp),
        "exp as string": _resigned(provider, header, {**claims, "exp": str(claims["exp"])}),
        "exp null": _resigned(provider, header, {**claims, "exp": None}),
        "wrong iss": _resigned(provider, header, {**claims, "iss": "https://evil.example"}),
        "unknown jti": _resigned(provider, header, {**claims, "jti": "not-issued"}),
        "no jti": _resigned(provider, header, {k: v for k, v in claims.items() if k != "jti"}),
        "jku to attacker": jwt.encode(
            claims,
            attacker,
            algorithm="RS256",
            headers={"kid": "attacker", "jku": "http://127.0.0.1:1/jwks"},
        ),
        "x5u to attacker": jwt.encode(
            claims,
            attacker,
            algorithm="RS256",
            headers={"kid": "attacker", "x5u": "http://127.0.0.1:1/cert"},
        ),
        "embedded jwk": jwt.encode(
            claims, attacker, algorithm="RS256", headers={"kid": kid, "jwk": attacker_jwk}
        ),
        "kid ../../x": jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": "../../x"}),
        "kid ../../x provider key": _resigned(provider, {**header, "kid": "../../x"}, claims),
        "kid null": _resigned(provider, {**header, "kid": None}, claims),
        "kid number": _resigned(provider, {**header, "kid": 1}, claims),
        "signature stripped": ".".join([*_resigned(provider, header, claims).split(".")[:2], ""]),
        "signature of another token": ".".join(
            _resigned(provider, header, {**claims, "scope": "openid admin"}).split(".")[:2]
            + _resigned(provider, header, claims).split(".")[2:]
        ),
        "a": "a",
        "a.b": "a.b",
        "a.b.c.d": "a.b.c.d",
        "empty segments": "..",
        "two dots and junk": "a..c",
        "JSON null header": f"{b64(b'null')}.{b64json(claims)}.",
        "JSON list header": f"{b64(b'[]')}.{b64json(claims)}.",
        "non-JSON header": f"{b64(b'{')}.{b64json(claims)}.",
        "1 MB token": "e" * (1024 * 1024),
        "1 MB JWT": f"{b64json(header)}.{b64json({**claims, 'pad': 'x' * 1024 * 1024})}.c2ln",
    }


def test_forged_tokens_are_rejected_at_userinfo(
    http: httpx.Client, provider: Provider, genuine: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    _, header, claims = genuine
    accepted = []
    for name, token in _forgeries(provider, header, claims).items():
        r = userinfo(http, provider, token)
        if r.status_code != 401 or 'error="invalid_token"' not in r.headers.get(
            "www-authenticate", ""
        ):
            accepted.append((name, r.status_code, r.headers.get("www-authenticate")))
    assert accepted == []
    assert provider.errors == []


def test_forged_tokens_are_inactive_at_introspection(
    http: httpx.Client,
    provider: Provider,
    web: Client,
    genuine: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    _, header, claims = genuine
    auth = ("web", WEB_SECRET)
    # Introspection bodies are capped, so leave out the megabyte-sized ones.
    for name, forged in _forgeries(provider, header, claims).items():
        if "1 MB" in name:
            continue
        r = http.post(provider.endpoint("introspect"), data={"token": forged}, auth=auth)
        assert r.status_code == 200, name
        assert r.json() == {"active": False}, name


def test_id_token_is_not_an_access_token(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web)
    r = userinfo(http, provider, tokens["id_token"])
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_refresh_token_is_not_an_access_token(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    tokens = code_flow(http, provider, web)
    assert userinfo(http, provider, tokens["refresh_token"]).status_code == 401


def test_token_of_a_retired_key_is_rejected(
    http: httpx.Client, provider: Provider, web: Client
) -> None:
    token = code_flow(http, provider, web)["access_token"]
    old_kid = jwt.get_unverified_header(token)["kid"]
    provider.rotate_keys()
    assert userinfo(http, provider, token).status_code == 200
    provider.keys.retire(old_kid)
    assert userinfo(http, provider, token).status_code == 401


def test_token_of_another_provider_is_rejected(http: httpx.Client, provider: Provider) -> None:
    """Same process, same cached keys, different issuer and memory: not ours."""
    other, _ = make_provider(issuer="https://other.example/default")
    token = other.issue_token(subject="alice", scope="openid")
    assert userinfo(http, provider, token).status_code == 401


# --- the ID-token algorithm per client (OIDC Registration §2, OIDC Core §10.1) ------


def test_client_registered_alg_signs_its_id_tokens() -> None:
    provider, _ = make_provider(tokens={"signing_alg": "ES256"})
    rs = provider.add_client(
        client_id="rs-app",
        client_secret=WEB_SECRET,
        redirect_uris=[WEB_REDIRECT],
        id_token_signed_response_alg="RS256",
    )
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, rs, login_hint="alice")
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == "RS256"
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "ES256"
    assert decode_id_token(provider, tokens["id_token"], rs)["sub"] == "alice"
    assert provider.metadata()["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]


def test_hs256_id_tokens_are_keyed_with_the_client_secret_and_carry_no_kid() -> None:
    provider, web = make_provider(tokens={"signing_alg": "HS256"})
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, web, login_hint="alice")
    header = jwt.get_unverified_header(tokens["id_token"])
    assert header["alg"] == "HS256"
    assert "kid" not in header
    claims = jwt.decode(tokens["id_token"], WEB_SECRET, algorithms=["HS256"], audience="web")
    assert claims["sub"] == "alice"


def test_hs256_provider_signs_a_public_clients_id_token_with_rs256() -> None:
    provider, _ = make_provider(tokens={"signing_alg": "HS256"})
    spa = provider.add_client(client_id="spa", public=True, redirect_uris=[WEB_REDIRECT])
    with provider.httpx_client() as http:
        tokens = code_flow(http, provider, spa, login_hint="alice")
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == "RS256"
    assert decode_id_token(provider, tokens["id_token"], spa)["aud"] == "spa"


def test_hs256_access_tokens_verify_with_the_process_secret() -> None:
    provider, _ = make_provider(tokens={"signing_alg": "HS256"})
    token = provider.issue_token("alice", audience="api", scope="read")
    secret = provider.keys.active("HS256").key
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience="api")
    assert claims["sub"] == "alice"
    assert all(k["alg"] != "HS256" for k in provider.jwks()["keys"])


@pytest.mark.parametrize("fault", ["expired", "not_yet_valid"])
def test_a_forged_copy_of_a_live_token_is_judged_by_its_own_times(fault: str) -> None:
    from mockauth.forge import forge

    provider, _ = make_provider()
    token = provider.issue_token("alice", scope="openid")
    forged = forge(provider, token, fault)
    with provider.httpx_client() as http:

        def status(t: str) -> int:
            return http.get(
                provider.endpoint("userinfo"), headers={"Authorization": f"Bearer {t}"}
            ).status_code

        assert status(token) == 200
        assert status(forged) == 401
