"""The relying-party failure cases of the OpenID conformance suite, made by mockauth faults.

Every ``oidcc-client-test-*`` case (OpenID Foundation conformance suite, RP tests)
is scripted with a scenario rule, driven through a real flow (the code flow with
PKCE and a nonce, the hybrid flow, a refresh, UserInfo, discovery) and judged by
``StrictRP``: a relying party written here on PyJWT, authlib's ID-token claim
classes and joserfc's claim registry, checking what OIDC Core §3.1.3.7 requires.
Each case asserts that the RP rejects the faulty answer for the right reason and,
as a control, that the same RP accepts the genuine answer.

Times are judged by the provider's clock: the RP and the provider share it here,
so nothing depends on the wall clock (in a real deployment the RP has its own).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
from authlib.oidc.core import CodeIDToken, HybridIDToken  # type: ignore[import-untyped]
from authlib.oidc.discovery import OpenIDProviderMetadata  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidClaimError, MissingClaimError
from joserfc.jwt import JWTClaimsRegistry

from mockauth import Provider
from mockauth.faults import TOKEN_FAULTS, JsonPatch, RotateKeys, StripKids, TokenFault, build
from mockauth.keys import b64url
from mockauth.scenarios import Match, Rule
from mockauth.tokens import half_hash

from .helpers import WEB_REDIRECT, pkce_pair

CLIENT_ID = "web"
CLIENT_SECRET = "web-secret-0123456789-abcdefghijkl"
API = "https://api.mockauth.test"
#: An https issuer, so that authlib's metadata validation applies unchanged in-process.
BASE_URL = "https://op.mockauth.test"
SCOPE = "openid profile email"


# --- the strict relying party ------------------------------------------------------


class Rejected(Exception):
    """The strict RP refused an answer; ``reason`` names what was wrong: a claim
    (``iss``, ``aud``, ``nonce``, ``at_hash`` ...), ``alg``, ``kid``, ``signature``,
    ``jwks``, ``discovery``, ``issuer`` (the discovery document's).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class KeySource(Protocol):
    """Where the RP finds the key that verifies a JWS with this header."""

    def key_for(self, header: Mapping[str, Any]) -> Any: ...


def _usable(jwk: jwt.PyJWK, alg: str) -> bool:
    return jwk.algorithm_name == alg and jwk.public_key_use in ("sig", None)


def _pick(keys: Sequence[jwt.PyJWK], header: Mapping[str, Any]) -> jwt.PyJWK:
    """The key named by ``kid``; without a ``kid``, the only key usable for the
    algorithm. OIDC Core §10.1: with several keys in the set a ``kid`` MUST be
    given, so a token without one is ambiguous and rejected.
    """
    alg, kid = header.get("alg"), header.get("kid")
    if not keys:
        raise Rejected("jwks", "the JWK Set has no usable keys")
    if kid is None:
        candidates = [k for k in keys if isinstance(alg, str) and _usable(k, alg)]
        if len(candidates) != 1:
            raise Rejected(
                "kid", f"no kid in the token and {len(candidates)} {alg} keys in the JWK Set"
            )
        return candidates[0]
    for key in keys:
        if key.key_id == kid:
            if not (isinstance(alg, str) and _usable(key, alg)):
                raise Rejected("alg", f"key {kid!r} does not sign with {alg!r}")
            return key
    raise Rejected("kid", f"no key {kid!r} in the JWK Set")


class JwksCache:
    """The RP's own JWKS cache: fetched once, fetched again when a token names a
    ``kid`` it does not hold (OIDC Core §10.1.1: the OP rotated its keys).
    """

    def __init__(self, http: httpx.Client, uri: str, *, refetch_unknown_kid: bool = True) -> None:
        self.http = http
        self.uri = uri
        self.refetch_unknown_kid = refetch_unknown_kid
        self.keys: list[jwt.PyJWK] | None = None
        self.fetches = 0

    def fetch(self) -> list[jwt.PyJWK]:
        response = self.http.get(self.uri)
        self.fetches += 1
        if response.status_code != 200:
            raise Rejected("jwks", f"HTTP {response.status_code} from the jwks_uri")
        data = response.json()
        keys = []
        for jwk in data.get("keys", []) if isinstance(data, dict) else []:
            try:
                keys.append(jwt.PyJWK.from_dict(jwk))
            except jwt.PyJWTError:  # RFC 7517 §5: ignore keys this RP cannot use
                continue
        self.keys = keys
        return keys

    def key_for(self, header: Mapping[str, Any]) -> Any:
        keys = self.keys if self.keys is not None else self.fetch()
        kid = header.get("kid")
        if kid is not None and self.refetch_unknown_kid and all(k.key_id != kid for k in keys):
            keys = self.fetch()
        return _pick(keys, header).key


class PyJWKClientKeys:
    """Keys through PyJWT's ``PyJWKClient``, which refetches the set for an unknown
    ``kid`` (``cooldown_duration=0``: at once, not 30 s after the last fetch).
    """

    def __init__(self, uri: str) -> None:
        self.client = jwt.PyJWKClient(uri, cooldown_duration=0)

    def key_for(self, header: Mapping[str, Any]) -> Any:
        kid = header.get("kid")
        try:
            if kid is None:
                # PyJWKClient looks keys up by kid only and drops keys without one
                # (get_signing_keys); a careful RP falls back to the only key of the set.
                return _pick(self.client.get_jwk_set().keys, header).key
            return _pick([self.client.get_signing_key(kid)], header).key
        except jwt.PyJWKClientError as exc:
            raise Rejected("kid", str(exc)) from exc
        except jwt.PyJWKSetError as exc:
            raise Rejected("jwks", str(exc)) from exc


class StrictCodeIDToken(CodeIDToken):  # type: ignore[misc]
    """``at_hash`` is required whenever an access token comes with the ID token.

    Stricter than OIDC Core §3.1.3.8 for the code flow (where it is OPTIONAL); it is
    what §3.2.2.9 / §3.3.2.9 require when the authorization endpoint returns an
    access token, which is what ``oidcc-client-test-missing-athash`` checks.
    """

    def validate_at_hash(self) -> None:
        if self.params.get("access_token") and "at_hash" not in self:
            raise MissingClaimError("at_hash")
        super().validate_at_hash()


_PYJWT_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.InvalidSignatureError, "signature"),
    (jwt.InvalidIssuerError, "iss"),
    (jwt.InvalidAudienceError, "aud"),
]


def _decode(
    token: str, key: Any, alg: str, *, issuer: str, audience: str, require: list[str]
) -> dict[str, Any]:
    """Signature, ``iss`` (exact), ``aud`` and required claims by PyJWT; times are
    left to the caller, who judges them by the provider's clock.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            options={
                "require": require,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise Rejected(exc.claim, str(exc)) from exc
    except jwt.PyJWTError as exc:
        reason = next((r for cls, r in _PYJWT_REASONS if isinstance(exc, cls)), "invalid")
        raise Rejected(reason, f"{type(exc).__name__}: {exc}") from exc
    return claims


@dataclass
class Login:
    """A completed sign-in: the token response and the validated ID token."""

    tokens: dict[str, Any]
    claims: dict[str, Any]
    nonce: str
    front: dict[str, Any] | None = None  # hybrid flow: the front-channel ID token


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[found["name"] or ""] = found.get("value") or ""


def callback(response: httpx.Response) -> dict[str, str]:
    """The authorization response parameters: query, fragment or a form_post page."""
    if response.status_code == 200 and "<form" in response.text:
        parser = _FormFields()
        parser.feed(response.text)
        return parser.fields
    assert response.status_code == 302, (response.status_code, response.text)
    parts = urlsplit(response.headers["location"])
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))


@dataclass
class StrictRP:
    """A relying party that checks everything OIDC Core §3.1.3.7 asks of it.

    ``alg`` is the ID-token algorithm the client expects (its registered
    ``id_token_signed_response_alg``); it must also be advertised in discovery.
    """

    http: httpx.Client
    issuer: str
    clock: Any
    alg: str = "RS256"
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    jwks: Callable[[httpx.Client, str], KeySource] = JwksCache
    require_at_hash: bool = True
    max_iat_age: int = 600
    metadata: dict[str, Any] = field(default_factory=dict)
    keys: KeySource | None = None

    # discovery (OIDC Discovery §4)
    def discover(self) -> dict[str, Any]:
        response = self.http.get(self.issuer + "/.well-known/openid-configuration")
        if response.status_code != 200:
            raise Rejected("discovery", f"HTTP {response.status_code}")
        doc = OpenIDProviderMetadata(response.json())
        try:
            doc.validate()
        except ValueError as exc:
            raise Rejected("discovery", str(exc)) from exc
        # §4.3: the issuer MUST be identical to the one the configuration was fetched for.
        if doc["issuer"] != self.issuer:
            raise Rejected("issuer", f"discovery says {doc['issuer']!r}, expected {self.issuer!r}")
        self.metadata = dict(doc)
        self.keys = self.jwks(self.http, doc["jwks_uri"])
        return self.metadata

    def _ready(self) -> KeySource:
        if self.keys is None:
            self.discover()
        assert self.keys is not None
        return self.keys

    # ID tokens (OIDC Core §3.1.3.7, §3.3.2.12)
    def validate_id_token(
        self,
        token: str,
        *,
        nonce: str | None,
        access_token: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        keys = self._ready()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Rejected("malformed", str(exc)) from exc
        alg = header.get("alg")
        advertised = self.metadata.get("id_token_signing_alg_values_supported", [])
        # Steps 6-8, RFC 8725 §3.1: the expected algorithm only, never "none", and
        # never an HMAC keyed with something public.
        if alg != self.alg or alg not in advertised:
            raise Rejected("alg", f"alg {alg!r}; this client expects {self.alg!r}")
        key = self.client_secret.encode() if alg == "HS256" else keys.key_for(header)
        claims = _decode(
            token,
            key,
            alg,
            issuer=self.issuer,
            audience=self.client_id,
            require=["iss", "sub", "aud", "exp", "iat"],
        )
        # Step 3: no audiences the client does not trust.
        audiences = [claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"]
        untrusted = [a for a in audiences if a != self.client_id]
        if untrusted:
            raise Rejected("aud", f"untrusted audiences {untrusted}")
        cls = HybridIDToken if code is not None else StrictCodeIDToken
        if cls is StrictCodeIDToken and not self.require_at_hash:
            cls = CodeIDToken
        params = {"client_id": self.client_id, "nonce": nonce}
        params.update(access_token=access_token, code=code)
        id_token = cls(claims, header, params=params)
        now = int(self.clock.now())
        try:  # exp, nbf, iat not in the future, nonce, azp, at_hash, c_hash
            id_token.validate(now=now)
        except ClaimError as exc:
            raise Rejected(exc.claim, f"{type(exc).__name__}: {exc.description}") from exc
        # Step 10: iat sane, not only "not in the future".
        if claims["iat"] < now - self.max_iat_age:
            raise Rejected("iat", f"issued {now - claims['iat']} s ago")
        return claims

    # the code flow and the hybrid flow, PKCE and nonce
    def login(self, *, hybrid: bool = False, response_mode: str | None = None) -> Login:
        self._ready()
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(16)
        params = {
            "response_type": "code id_token" if hybrid else "code",
            "client_id": self.client_id,
            "redirect_uri": WEB_REDIRECT,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": "alice",
        }
        if response_mode:
            params["response_mode"] = response_mode
        answer = callback(self.http.get(self.metadata["authorization_endpoint"], params=params))
        if "error" in answer:
            raise Rejected("authorize", answer["error"])
        if answer.get("state") != state:
            raise Rejected("state", "the state does not match")
        if answer.get("iss") != self.issuer:  # RFC 9207 §2.4
            raise Rejected("iss", f"authorization response iss {answer.get('iss')!r}")
        code = answer["code"]
        front = None
        if hybrid:
            front = self.validate_id_token(answer["id_token"], nonce=nonce, code=code)
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB_REDIRECT,
            "code_verifier": verifier,
        }
        tokens = self._token_request(data)
        claims = self.validate_id_token(
            tokens["id_token"], nonce=nonce, access_token=tokens.get("access_token")
        )
        if front is not None:  # OIDC Core §3.3.3.6
            for name in ("iss", "sub"):
                if front[name] != claims[name]:
                    raise Rejected(name, "the two ID tokens of the hybrid flow differ")
        return Login(tokens, claims, nonce, front)

    def _token_request(self, data: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(
            self.metadata["token_endpoint"], data=data, auth=(self.client_id, self.client_secret)
        )
        if response.status_code != 200:
            raise Rejected("token_endpoint", f"HTTP {response.status_code}: {response.text}")
        tokens: dict[str, Any] = response.json()
        if "id_token" not in tokens:
            raise Rejected("id_token", "the token response has no ID token")
        return tokens

    # refresh (OIDC Core §12.2)
    def refresh(self, login: Login) -> Login:
        data = {"grant_type": "refresh_token", "refresh_token": login.tokens["refresh_token"]}
        tokens = self._token_request(data)
        claims = self.validate_id_token(
            tokens["id_token"], nonce=None, access_token=tokens.get("access_token")
        )
        for name in ("iss", "sub", "aud", "azp", "auth_time"):
            if claims.get(name) != login.claims.get(name):
                raise Rejected(name, f"{name} is not the original ID token's (OIDC Core §12.2)")
        return Login({**login.tokens, **tokens}, claims, login.nonce)

    # UserInfo (OIDC Core §5.3.4)
    def userinfo(self, login: Login) -> dict[str, Any]:
        response = self.http.get(
            self.metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {login.tokens['access_token']}"},
        )
        if response.status_code != 200:
            raise Rejected("userinfo", f"HTTP {response.status_code}")
        info: dict[str, Any] = response.json()
        if info.get("sub") != login.claims["sub"]:
            raise Rejected("sub", f"UserInfo sub {info.get('sub')!r} is not the ID token's")
        return info

    # a resource server's check of a JWT access token (RFC 9068 §4)
    def validate_access_token(self, token: str, audience: str = API) -> dict[str, Any]:
        keys = self._ready()
        header = jwt.get_unverified_header(token)
        if header.get("typ") not in ("at+jwt", "application/at+jwt"):
            raise Rejected("typ", f"typ {header.get('typ')!r}")
        alg = header.get("alg")
        if alg != self.alg:
            raise Rejected("alg", f"alg {alg!r}; expected {self.alg!r}")
        claims = _decode(
            token,
            keys.key_for(header),
            alg,
            issuer=self.issuer,
            audience=audience,
            require=["iss", "sub", "aud", "exp", "iat", "client_id", "jti"],
        )
        try:
            JWTClaimsRegistry(now=int(self.clock.now())).validate(claims)
        except ClaimError as exc:
            raise Rejected(exc.claim, f"{type(exc).__name__}: {exc.description}") from exc
        return claims


@contextmanager
def rejected(
    reason: str, cause: type[BaseException] | None = None, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Rejected]]:
    """Expect the RP to refuse for ``reason`` (and, if given, with that library error)."""
    with pytest.raises(Rejected) as caught:
        yield caught
    assert caught.value.reason == reason, str(caught.value)
    if cause is not None:
        assert isinstance(caught.value.__cause__, cause), repr(caught.value.__cause__)
    if match is not None:
        assert re.search(match, str(caught.value)), str(caught.value)


# --- providers and relying parties -------------------------------------------------


def register(provider: Provider) -> Provider:
    provider.add_client(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[WEB_REDIRECT],
        audience=[API],
    )
    provider.add_user("alice", password="alice-pw", email="alice@example.com", name="Alice A")
    provider.add_user("bob", password="bob-pw", email="bob@example.com")
    return provider


def make_op(alg: str = "RS256") -> Provider:
    provider = Provider(tokens={"signing_alg": alg})
    provider.base_url = BASE_URL
    return register(provider)


@pytest.fixture
def op() -> Provider:
    """An in-process RS256 provider with the ``web`` client, alice and bob."""
    return make_op()


@pytest.fixture
def rp_for() -> Iterator[Callable[..., StrictRP]]:
    """Builds a strict RP for a provider (in-process unless ``http`` is given)."""
    opened: list[httpx.Client] = []

    def make(provider: Provider, http: httpx.Client | None = None, **kwargs: Any) -> StrictRP:
        if http is None:
            http = provider.httpx_client()
            opened.append(http)
        kwargs.setdefault("alg", provider.keys.default_alg)
        return StrictRP(http, provider.issuer, provider.clock, **kwargs)

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def rp(op: Provider, rp_for: Callable[..., StrictRP]) -> StrictRP:
    return rp_for(op)


@pytest.fixture
def live(mockauth: Provider) -> Provider:
    """The live served provider (for PyJWKClient, which fetches with urllib)."""
    return register(mockauth)


@pytest.fixture
def live_http() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def pyjwkclient(http: httpx.Client, uri: str) -> KeySource:
    return PyJWKClientKeys(uri)


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


# --- the control: genuine answers pass --------------------------------------------

ALGS = ["RS256", "PS256", "ES256", "EdDSA", "HS256"]


@pytest.mark.parametrize("alg", ALGS)
def test_the_strict_rp_accepts_genuine_answers(alg: str, rp_for: Callable[..., StrictRP]) -> None:
    provider = make_op(alg)
    rp = rp_for(provider)
    login = rp.login()
    assert login.claims["sub"] == "alice"
    assert login.claims["nonce"] == login.nonce
    assert login.claims["at_hash"] == half_hash(login.tokens["access_token"], alg)
    assert rp.userinfo(login)["sub"] == "alice"
    again = rp.refresh(login)
    assert again.claims["sub"] == "alice"
    hybrid = rp.login(hybrid=True)
    assert hybrid.front is not None
    assert "c_hash" in hybrid.front
    if alg != "HS256":  # an HS256 access token's key is the provider's own secret
        assert rp.validate_access_token(login.tokens["access_token"])["client_id"] == CLIENT_ID


def test_the_strict_rp_judges_time_by_the_provider_clock(op: Provider, rp: StrictRP) -> None:
    login = rp.login()
    token = login.tokens["id_token"]
    rp.validate_id_token(token, nonce=login.nonce, access_token=login.tokens["access_token"])
    op.clock.advance(op.config.tokens.id_token_ttl)
    with rejected("exp", ExpiredTokenError):
        rp.validate_id_token(token, nonce=login.nonce, access_token=login.tokens["access_token"])


# --- ID token forgeries at the token endpoint -------------------------------------


@dataclass(frozen=True)
class Case:
    """A token fault and the reason a strict RP must give for refusing it."""

    fault: str
    reason: str
    cause: type[BaseException] | None = None
    claim: str | None = None
    value: Callable[[Provider], Any] | None = None


ID_TOKEN_CASES = {
    "oidcc-client-test-invalid-iss": Case("wrong_iss", "iss", jwt.InvalidIssuerError),
    "oidcc-client-test-invalid-aud": Case("wrong_aud", "aud", jwt.InvalidAudienceError),
    "oidcc-client-test-missing-aud": Case(
        "missing_claim", "aud", jwt.MissingRequiredClaimError, claim="aud"
    ),
    "oidcc-client-test-invalid-sig-rs256": Case(
        "bad_signature", "signature", jwt.InvalidSignatureError
    ),
    "oidcc-client-test-idtoken-sig-none": Case("alg_none", "alg"),
    "oidcc-client-test-missing-sub": Case(
        "missing_claim", "sub", jwt.MissingRequiredClaimError, claim="sub"
    ),
    "oidcc-client-test-missing-iat": Case(
        "missing_claim", "iat", jwt.MissingRequiredClaimError, claim="iat"
    ),
    "oidcc-client-test-nonce-invalid": Case("wrong_nonce", "nonce", InvalidClaimError),
    "oidcc-client-test-invalid-athash": Case("wrong_at_hash", "at_hash", InvalidClaimError),
    "oidcc-client-test-missing-athash": Case("missing_at_hash", "at_hash", MissingClaimError),
    # The other token faults, each with the check that catches it.
    "expired": Case("expired", "exp", ExpiredTokenError),
    "not_yet_valid": Case("not_yet_valid", "nbf", InvalidClaimError),
    "issued_in_future": Case("issued_in_future", "iat", InvalidClaimError),
    "issued_too_long_ago": Case(
        "set_claim", "iat", claim="iat", value=lambda p: int(p.clock.now()) - 3600
    ),
    "wrong_azp": Case("wrong_azp", "azp", InvalidClaimError),
    "untrusted_extra_audience": Case(
        "set_claim", "aud", claim="aud", value=lambda p: [CLIENT_ID, "https://evil.test"]
    ),
    "missing_exp": Case("missing_claim", "exp", jwt.MissingRequiredClaimError, claim="exp"),
    "missing_nonce": Case("missing_nonce", "nonce", MissingClaimError),
    "unknown_kid": Case("unknown_kid", "kid"),
    "hs256_public_key": Case("hs256_public_key", "alg"),
}


@pytest.mark.parametrize(("name", "case"), ID_TOKEN_CASES.items(), ids=list(ID_TOKEN_CASES))
def test_forged_id_token_is_rejected(name: str, case: Case, op: Provider, rp: StrictRP) -> None:
    genuine = rp.login()  # the control: the same RP, the same flow, no fault
    rule = op.fail(
        "token",
        grant_type="authorization_code",
        token=case.fault,
        claim=case.claim,
        value=case.value(op) if case.value else None,
        times=1,
    )
    with rejected(case.reason, case.cause):
        rp.login()
    assert rule.used == 1
    assert rp.login().claims["sub"] == genuine.claims["sub"]  # the rule is spent


def test_missing_at_hash_is_optional_for_a_core_minimum_code_flow_rp(
    op: Provider, rp_for: Callable[..., StrictRP]
) -> None:
    """OIDC Core §3.1.3.8 makes at_hash OPTIONAL in the code flow: only the strict
    policy (``require_at_hash``, as for flows returning an access token from the
    authorization endpoint) turns missing-athash into a rejection.
    """
    core = rp_for(op, require_at_hash=False)
    op.fail("token", token="missing_at_hash")
    login = core.login()
    assert "at_hash" not in login.claims
    strict = rp_for(op)
    with rejected("at_hash", MissingClaimError):
        strict.login()


@pytest.mark.parametrize(
    ("alg", "cause"),
    [
        pytest.param("RS256", jwt.InvalidSignatureError, id="oidcc-client-test-invalid-sig-rs256"),
        pytest.param("HS256", jwt.InvalidSignatureError, id="oidcc-client-test-invalid-sig-hs256"),
        pytest.param("ES256", jwt.InvalidSignatureError, id="oidcc-client-test-invalid-sig-es256"),
        pytest.param("PS256", jwt.InvalidSignatureError, id="invalid-sig-ps256"),
        pytest.param("EdDSA", jwt.InvalidSignatureError, id="invalid-sig-eddsa"),
    ],
)
def test_invalid_signature_is_rejected(
    alg: str, cause: type[BaseException], rp_for: Callable[..., StrictRP]
) -> None:
    provider = make_op(alg)
    rp = rp_for(provider)
    genuine = rp.login()
    header, _ = unverified(genuine.tokens["id_token"])
    assert header["alg"] == alg
    if alg == "HS256":  # OIDC Core §10.1: keyed with the client secret, no kid
        assert "kid" not in header
    provider.fail("token", token="bad_signature", times=1)
    with rejected("signature", cause):
        rp.login()


def test_alg_none_is_an_unsigned_copy_of_the_genuine_token(op: Provider, rp: StrictRP) -> None:
    op.fail("token", token="alg_none")
    tokens = _raw_token_response(op, rp)
    header, claims = unverified(tokens["id_token"])
    assert header["alg"] == "none"
    assert tokens["id_token"].endswith(".")
    assert claims["iss"] == op.issuer
    assert claims["aud"] == CLIENT_ID
    # PyJWT refuses it unless "none" is explicitly allowed, and then only unverified.
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(tokens["id_token"], "", algorithms=["RS256"])
    with rejected("alg", match="'none'"):
        rp.validate_id_token(tokens["id_token"], nonce=None, access_token=tokens["access_token"])


def test_hs256_signed_with_the_public_key_is_rejected(op: Provider, rp: StrictRP) -> None:
    op.fail("token", token="hs256_public_key")
    tokens = _raw_token_response(op, rp)
    token = tokens["id_token"]
    header, _ = unverified(token)
    assert header["alg"] == "HS256"
    # The forgery is real: an HMAC keyed with the PEM of the key the JWKS publishes,
    # which an RP that trusts the header's alg would verify successfully.
    (jwk,) = op.jwks()["keys"]
    pem = jwt.PyJWK.from_dict(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input, _, signature = token.rpartition(".")
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert b64url(mac) == signature
    # PyJWT itself refuses a PEM public key as an HMAC secret.
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode(token, pem, algorithms=["HS256"])
    with rejected("alg", match="'HS256'"):
        rp.validate_id_token(token, nonce=None, access_token=tokens["access_token"])


def _raw_token_response(op: Provider, rp: StrictRP) -> dict[str, Any]:
    """A code flow by hand, returning the token response without validating it."""
    rp.discover()
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": WEB_REDIRECT,
        "scope": SCOPE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    code = callback(rp.http.get(op.endpoint("authorize"), params=params))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT}
    response = rp.http.post(
        op.endpoint("token"),
        data={**data, "code_verifier": verifier},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- the hybrid flow: c_hash ------------------------------------------------------


@pytest.mark.parametrize("response_mode", [None, "form_post"], ids=["fragment", "form_post"])
@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        pytest.param("wrong_c_hash", InvalidClaimError, id="oidcc-client-test-invalid-chash"),
        pytest.param("missing_c_hash", MissingClaimError, id="oidcc-client-test-missing-chash"),
    ],
)
def test_hybrid_c_hash_faults_are_rejected(
    fault: str,
    cause: type[BaseException],
    response_mode: str | None,
    op: Provider,
    rp: StrictRP,
) -> None:
    genuine = rp.login(hybrid=True, response_mode=response_mode)
    assert genuine.front is not None
    rule = op.add_rule(Rule(Match("authorize"), TokenFault(fault), times=1))
    with rejected("c_hash", cause):
        rp.login(hybrid=True, response_mode=response_mode)
    assert rule.used == 1


# --- kid and the JWK Set ----------------------------------------------------------


@pytest.mark.parametrize("jwks_fault", [None, StripKids()], ids=["jwks-with-kid", "jwks-no-kid"])
def test_kid_absent_single_jwks_is_accepted(
    jwks_fault: StripKids | None, op: Provider, rp: StrictRP
) -> None:
    """oidcc-client-test-kid-absent-single-jwks: no kid, one key: use that key."""
    assert len(op.jwks()["keys"]) == 1
    if jwks_fault is not None:
        op.add_rule(Rule(Match("jwks"), jwks_fault))
    op.fail("token", token="no_kid")
    login = rp.login()
    header, _ = unverified(login.tokens["id_token"])
    assert "kid" not in header
    assert login.claims["sub"] == "alice"
    # ... and it really was verified: the same token with another payload is refused.
    head, _, signature = login.tokens["id_token"].split(".")
    _, claims = unverified(login.tokens["id_token"])
    payload = b64url(json.dumps({**claims, "sub": "bob"}).encode())
    with rejected("signature", jwt.InvalidSignatureError):
        rp.validate_id_token(
            f"{head}.{payload}.{signature}",
            nonce=login.nonce,
            access_token=login.tokens["access_token"],
        )


@pytest.mark.parametrize("jwks_fault", [None, StripKids()], ids=["jwks-with-kid", "jwks-no-kid"])
def test_kid_absent_multiple_jwks_is_rejected(
    jwks_fault: StripKids | None, op: Provider, rp: StrictRP
) -> None:
    """oidcc-client-test-kid-absent-multiple-jwks: no kid, two keys: refuse."""
    op.rotate_keys()
    assert len(op.jwks()["keys"]) == 2
    if jwks_fault is not None:
        op.add_rule(Rule(Match("jwks"), jwks_fault))
    if jwks_fault is None:
        assert rp.login().claims["sub"] == "alice"  # with a kid the right key is found
    op.fail("token", token="no_kid")
    with rejected("kid", match="2 RS256 keys"):
        rp.login()


def test_kid_absent_single_jwks_with_pyjwkclient(
    live: Provider, live_http: httpx.Client, rp_for: Callable[..., StrictRP]
) -> None:
    """PyJWKClient alone finds no key for a token without kid; the careful RP
    (``PyJWKClientKeys``) takes the only key of the set.
    """
    rp = rp_for(live, live_http, jwks=pyjwkclient)
    live.fail("token", token="no_kid")
    login = rp.login()
    assert "kid" not in unverified(login.tokens["id_token"])[0]
    naive = jwt.PyJWKClient(live.endpoint("jwks"), cooldown_duration=0)
    with pytest.raises(jwt.PyJWKClientError, match="Unable to find a signing key"):
        naive.get_signing_key_from_jwt(login.tokens["id_token"])


def test_unknown_kid_is_rejected_after_a_refetch(op: Provider, rp: StrictRP) -> None:
    rp.login()
    op.fail("token", token="unknown_kid")
    with rejected("kid", match="mockauth-unknown-kid"):
        rp.login()
    assert isinstance(rp.keys, JwksCache)
    assert rp.keys.fetches == 2  # it did look again before refusing


def test_signing_key_rotation_is_followed(op: Provider, rp: StrictRP) -> None:
    """oidcc-client-test-signing-key-rotation, with the RP's own JWKS cache."""
    first = rp.login()
    op.rotate_keys()
    second = rp.login()
    kids = [unverified(x.tokens["id_token"])[0]["kid"] for x in (first, second)]
    assert kids[0] != kids[1]
    assert len(op.calls.filter("jwks")) == 2


def test_signing_key_rotation_with_pyjwkclient(
    live: Provider, live_http: httpx.Client, rp_for: Callable[..., StrictRP]
) -> None:
    """oidcc-client-test-signing-key-rotation with PyJWT's PyJWKClient."""
    rp = rp_for(live, live_http, jwks=pyjwkclient)
    first = rp.login()
    assert len(live.calls.filter("jwks")) == 1
    new_key = live.rotate_keys()
    second = rp.login()
    assert unverified(second.tokens["id_token"])[0]["kid"] == new_key.kid
    assert unverified(first.tokens["id_token"])[0]["kid"] != new_key.kid
    assert len(live.calls.filter("jwks")) == 2  # refetched for the new kid


def test_key_rotation_needs_the_refetch(op: Provider, rp_for: Callable[..., StrictRP]) -> None:
    """The control for the rotation cases: an RP that never refetches fails them."""

    def frozen_cache(http: httpx.Client, uri: str) -> KeySource:
        return JwksCache(http, uri, refetch_unknown_kid=False)

    rp = rp_for(op, jwks=frozen_cache)
    rp.login()
    op.rotate_keys()
    with rejected("kid", match="no key 'mockauth-rs256-"):
        rp.login()


@pytest.mark.parametrize("where", ["in-process", "live"])
def test_signing_key_rotation_just_before_signing(
    where: str, request: pytest.FixtureRequest, rp_for: Callable[..., StrictRP]
) -> None:
    """oidcc-client-test-signing-key-rotation-just-before-signing: the token
    endpoint rotates, then signs with a key the RP has never seen.
    """
    if where == "live":
        provider: Provider = request.getfixturevalue("live")
        rp = rp_for(provider, request.getfixturevalue("live_http"), jwks=pyjwkclient)
    else:
        provider = make_op()
        rp = rp_for(provider)
    rp.discover()
    before = {k["kid"] for k in rp.http.get(rp.metadata["jwks_uri"]).json()["keys"]}
    assert rp.keys is not None
    rp.keys.key_for({"alg": "RS256", "kid": next(iter(before))})  # the RP has the set cached
    fetched = len(provider.calls.filter("jwks"))
    rule = provider.add_rule(
        Rule(Match("token", grant_type="authorization_code"), RotateKeys(), times=1)
    )
    login = rp.login()
    kid = unverified(login.tokens["id_token"])[0]["kid"]
    assert kid not in before
    assert rule.used == 1
    assert len(provider.calls.filter("jwks")) == fetched + 1  # one refetch, for the new kid
    assert {k.kid for k in provider.keys.keys} == before | {kid}


# --- JWKS faults ------------------------------------------------------------------


@pytest.mark.parametrize("jwks", ["own-cache", "pyjwkclient"])
def test_empty_jwks_is_rejected(
    jwks: str, request: pytest.FixtureRequest, rp_for: Callable[..., StrictRP]
) -> None:
    if jwks == "pyjwkclient":
        provider: Provider = request.getfixturevalue("live")
        rp = rp_for(provider, request.getfixturevalue("live_http"), jwks=pyjwkclient)
    else:
        provider = make_op()
        rp = rp_for(provider)
    rp.discover()
    provider.add_rule(Rule(Match("jwks"), JsonPatch(set={"keys": []})))
    assert rp.http.get(provider.endpoint("jwks")).json() == {"keys": []}
    with rejected("jwks", match="did not contain any keys|no usable keys"):
        rp.login()


def test_strip_kids_removes_every_kid(op: Provider, rp: StrictRP) -> None:
    op.rotate_keys(alg="ES256")
    op.add_rule(Rule(Match("jwks"), StripKids()))
    keys = rp.http.get(op.endpoint("jwks")).json()["keys"]
    assert len(keys) == len(op.jwks()["keys"]) >= 2
    assert all("kid" not in key for key in keys)
    # A token with a kid now finds no key of that name.
    with rejected("kid", match="no key 'mockauth-rs256-"):
        rp.login()


# --- UserInfo, discovery ----------------------------------------------------------


def test_userinfo_invalid_sub_is_rejected(op: Provider, rp: StrictRP) -> None:
    """oidcc-client-test-userinfo-invalid-sub."""
    login = rp.login()
    assert rp.userinfo(login)["sub"] == "alice"
    op.add_rule(Rule(Match("userinfo"), JsonPatch(set={"sub": "bob"})))
    with rejected("sub", match="UserInfo sub 'bob'"):
        rp.userinfo(login)


def test_discovery_issuer_mismatch_is_rejected(op: Provider, rp: StrictRP) -> None:
    """oidcc-client-test-discovery-issuer-mismatch (OIDC Discovery §4.3)."""
    op.add_rule(Rule(Match("discovery"), JsonPatch(set={"issuer": "https://evil.test/default"})))
    with rejected("issuer", match="https://evil.test/default"):
        rp.discover()
    # authlib's validate() checks the document's form, not which issuer it names:
    # the comparison is the RP's own job.
    doc = rp.http.get(op.issuer + "/.well-known/openid-configuration").json()
    OpenIDProviderMetadata(doc).validate()
    op.clear_rules()
    assert rp.discover()["issuer"] == op.issuer  # the control


REQUIRED_METADATA = [
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
]


@pytest.mark.parametrize("member", REQUIRED_METADATA)
def test_discovery_missing_member_is_rejected(member: str, op: Provider, rp: StrictRP) -> None:
    genuine = rp.http.get(op.issuer + "/.well-known/openid-configuration").json()
    OpenIDProviderMetadata(genuine).validate()  # the control
    op.add_rule(Rule(Match("discovery"), JsonPatch(remove=[member])))
    doc = rp.http.get(op.issuer + "/.well-known/openid-configuration").json()
    assert member in genuine
    assert member not in doc
    assert {k: v for k, v in genuine.items() if k != member} == doc
    with pytest.raises(ValueError, match=f'"{member}" is required'):
        OpenIDProviderMetadata(doc).validate()
    with rejected("discovery", match=f'"{member}" is required'):
        rp.discover()


# --- refresh ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason", "cause"),
    [
        pytest.param(
            "wrong_iss",
            "iss",
            jwt.InvalidIssuerError,
            id="oidcc-client-test-refresh-token-invalid-issuer",
        ),
        pytest.param("wrong_sub", "sub", None, id="oidcc-client-test-refresh-token-invalid-sub"),
    ],
)
def test_refreshed_id_token_faults_are_rejected(
    fault: str, reason: str, cause: type[BaseException] | None, op: Provider, rp: StrictRP
) -> None:
    login = rp.login()
    login = rp.refresh(login)  # the control
    rule = op.fail("token", grant_type="refresh_token", token=fault, times=1)
    with rejected(reason, cause):
        rp.refresh(login)
    assert rule.used == 1
    # The code flow is not matched by the rule: a fresh sign-in still works.
    assert rp.login().claims["sub"] == "alice"


# --- access tokens: target="access_token" and "both" ------------------------------

ACCESS_TOKEN_CASES = {
    "expired": ("exp", ExpiredTokenError),
    "not_yet_valid": ("nbf", InvalidClaimError),
    "wrong_aud": ("aud", jwt.InvalidAudienceError),
    "wrong_iss": ("iss", jwt.InvalidIssuerError),
    "bad_signature": ("signature", jwt.InvalidSignatureError),
    "alg_none": ("alg", None),
    "unknown_kid": ("kid", None),
}


@pytest.mark.parametrize(
    ("fault", "reason", "cause"),
    [(k, r, c) for k, (r, c) in ACCESS_TOKEN_CASES.items()],
    ids=list(ACCESS_TOKEN_CASES),
)
def test_forged_access_token_is_rejected_by_the_resource_server(
    fault: str, reason: str, cause: type[BaseException] | None, op: Provider, rp: StrictRP
) -> None:
    genuine = rp.login()
    rp.validate_access_token(genuine.tokens["access_token"])  # the control
    op.fail("token", token=fault, target="access_token", times=1)
    # Only the access token is forged: the ID token stays valid, its at_hash
    # matching the access token that came with it.
    login = rp.login()
    _, claims = unverified(login.tokens["access_token"])
    assert login.claims["at_hash"] == half_hash(login.tokens["access_token"], "RS256")
    assert claims["sub"] == "alice"
    with rejected(reason, cause):
        rp.validate_access_token(login.tokens["access_token"])


def test_forged_access_token_keeps_an_hs256_id_token_valid(
    rp_for: Callable[..., StrictRP],
) -> None:
    """The at_hash follows the forged access token in an ID token keyed with the
    client secret too (OIDC Core §10.1).
    """
    provider = make_op("HS256")
    rp = rp_for(provider)
    provider.fail("token", token="expired", target="access_token", times=1)
    login = rp.login()
    assert unverified(login.tokens["access_token"])[1]["exp"] < provider.clock.now()
    assert login.claims["at_hash"] == half_hash(login.tokens["access_token"], "HS256")


def test_target_both_forges_both_tokens(op: Provider, rp: StrictRP) -> None:
    op.add_rule(Rule(Match("token"), TokenFault("expired", target="both"), times=1))
    tokens = _raw_token_response(op, rp)
    now = op.clock.now()
    for name in ("id_token", "access_token"):
        assert unverified(tokens[name])[1]["exp"] < now
    with rejected("exp", ExpiredTokenError):
        rp.validate_id_token(tokens["id_token"], nonce=None, access_token=tokens["access_token"])
    with rejected("exp", ExpiredTokenError):
        rp.validate_access_token(tokens["access_token"])


def test_target_id_token_leaves_the_access_token_alone(op: Provider, rp: StrictRP) -> None:
    op.fail("token", token="expired", times=1)
    tokens = _raw_token_response(op, rp)
    assert rp.validate_access_token(tokens["access_token"])["sub"] == "alice"
    with rejected("exp", ExpiredTokenError):
        rp.validate_id_token(tokens["id_token"], nonce=None, access_token=tokens["access_token"])


# --- the same faults from plain data (scenario files, the admin API) --------------


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"token": "wrong_iss"}, "iss"),
        ({"token": "missing_claim", "claim": "sub"}, "sub"),
        ({"token": "alg_none"}, "alg"),
        ({"token": "expired", "target": "both"}, "exp"),
    ],
    ids=["wrong_iss", "missing_sub", "alg_none", "expired_both"],
)
def test_faults_from_plain_data_make_the_same_cases(
    spec: dict[str, Any], reason: str, op: Provider, rp: StrictRP
) -> None:
    fault = build(spec)
    assert isinstance(fault, TokenFault)
    op.add_rule(Rule(Match("token"), fault, times=1))
    with rejected(reason):
        rp.login()


# --- every token fault is shown above --------------------------------------------

COVERED = (
    {case.fault for case in ID_TOKEN_CASES.values()}
    | set(ACCESS_TOKEN_CASES)
    | {"bad_signature", "wrong_c_hash", "missing_c_hash", "no_kid", "wrong_sub", "expired"}
)


def test_every_token_fault_has_a_conformance_test() -> None:
    assert set(TOKEN_FAULTS) <= COVERED, sorted(set(TOKEN_FAULTS) - COVERED)
    assert set(TOKEN_FAULTS) >= COVERED
