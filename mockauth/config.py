"""One frozen config model, loadable from JSON, TOML and YAML files.

:class:`ProviderConfig` describes one issuer; :class:`ServerConfig` a
standalone server with one or more issuers. Python code, the pytest plugin,
``provider.serve()``, the CLI and config files all produce these same objects.
Every error names the bad key (``clients[1].redirect_uris[0]: ...``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin
from urllib.parse import urlsplit

from ._check import describe as _describe
from ._check import did_you_mean
from ._check import join as _join
from ._check import number as _number
from .errors import ConfigError
from .registry import AUTH_METHODS, GRANTS

__all__ = [
    "PROVIDER_CLAIMS",
    "REGISTRABLE",
    "SCOPE_CLAIMS",
    "SIGNING_ALGS",
    "STANDARD_CLAIMS",
    "ClientConfig",
    "DpopConfig",
    "ProviderConfig",
    "RegistrationConfig",
    "ResourceConfig",
    "ServerConfig",
    "TokenConfig",
    "TrustedIssuerConfig",
    "UserConfig",
    "load_config",
    "parse",
    "read_mapping",
    "registrable",
]

SigningAlg = Literal["RS256", "PS256", "ES256", "EdDSA", "HS256"]
SIGNING_ALGS: tuple[str, ...] = get_args(SigningAlg)
#: Algorithms a party may sign its own JWTs with, by its private key (RFC 7518 §3.1).
ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                   "ES512", "EdDSA")  # fmt: skip
#: HMAC algorithms: keyed with a shared secret (``client_secret_jwt``).
SYMMETRIC_ALGS = ("HS256", "HS384", "HS512")

#: OIDC Core §5.4: the claims each standard scope requests.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
        "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}  # fmt: skip

#: OIDC Core §5.1 claims a user may carry at the top level of its config.
STANDARD_CLAIMS = frozenset(c for claims in SCOPE_CLAIMS.values() for c in claims)
#: Claims the provider sets itself (RFC 7519 §4.1, OIDC Core §2): a login's own
#: claims (the login page's, ``next_login``'s) may not name them.
PROVIDER_CLAIMS = frozenset({
    "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "azp",
    "at_hash", "c_hash", "sid", "cnf", "client_id", "scope",
})  # fmt: skip


def check_login_claims(claims: object) -> str | None:
    """Why ``claims`` cannot be a login's own claims, or ``None``."""
    if not isinstance(claims, Mapping):
        return 'must be a JSON object, like {"groups": ["admin"]}'
    for name in claims:
        if not isinstance(name, str) or not name:
            return "names must be non-empty strings"
        if name in PROVIDER_CLAIMS:
            return f"{name!r} is set by the provider"
    return None


#: An issuer path: one or more segments of unreserved characters (RFC 3986 §2.3).
_ISSUER_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
#: First segments the server root keeps for itself.
_RESERVED_SEGMENTS = (".well-known", "_mockauth")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3
#: A resource's path: segments of RFC 3986 §3.3 ``pchar`` without percent-escapes,
#: none of them ``.`` or ``..``, and not under the server's own prefixes.
RESOURCE_PATH = (
    r"^(/|(?!/(\.well-known|_mockauth)(/|$))(?!.*/\.\.?(/|$))(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+)$"
)


def _check_uri(key: str, uri: str, *, allow_query: bool = True) -> None:
    parts = urlsplit(uri)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        raise ConfigError(key, f"{uri!r} is not an absolute URI")
    if "#" in uri:
        raise ConfigError(key, f"{uri!r} must not contain a fragment (RFC 6749 §3.1.2)")
    if not allow_query and parts.query:
        raise ConfigError(key, f"{uri!r} must not contain a query")


def _check_issuer_id(issuer_id: str) -> None:
    """An issuer path such as ``default``, ``realms/test`` or ``tenant-1/v2.0``."""
    segments = issuer_id.split("/")
    if len(issuer_id) > 200 or not all(_ISSUER_SEGMENT.match(seg) for seg in segments):
        raise ConfigError(
            "issuer_id",
            f"{issuer_id!r} must be segments of [A-Za-z0-9._~-]{{1,64}} joined by '/' "
            "(like 'default' or 'realms/test')",
        )
    if any(seg in (".", "..") for seg in segments):
        raise ConfigError("issuer_id", f"{issuer_id!r} must not hold '.' or '..' segments")
    if segments[0] in _RESERVED_SEGMENTS:
        raise ConfigError("issuer_id", f"{segments[0]!r} is kept for the server root")


def _check_positive(key: str, value: int) -> None:
    if value <= 0:
        raise ConfigError(key, f"must be a positive number of seconds, got {value}")


def _check_items(key: str, items: Any, cls: type) -> None:
    # The constructors take typed objects; plain dicts belong to from_mapping().
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise ConfigError(
                f"{key}[{i}]",
                f"expected a {cls.__name__}, got {_describe(item)}; "
                "plain data goes through from_mapping()",
            )


def _first_duplicate(values: list[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


#: The metadata a client may register (RFC 7591 §2, OIDC Registration §2).
REGISTRABLE = (
    "redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types",
    "client_name", "client_uri", "logo_uri", "scope", "contacts", "tos_uri", "policy_uri",
    "jwks_uri", "jwks", "software_id", "software_version", "post_logout_redirect_uris",
    "token_endpoint_auth_signing_alg", "id_token_signed_response_alg", "application_type",
    "require_pushed_authorization_requests", "dpop_bound_access_tokens",
)  # fmt: skip


def registrable(metadata: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The members of ``metadata`` a client may register (:data:`REGISTRABLE`;
    the rest is ignored, RFC 7591 §2), with ``defaults`` where it sent none.
    """
    data = {k: v for k, v in metadata.items() if k in REGISTRABLE}
    for name, value in defaults.items():
        data.setdefault(name, value)
    return data


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """A client registration, by the client metadata names of RFC 7591 §2.

    ``client_id`` and ``client_secret`` are generated from the provider's seed
    when left out. ``token_endpoint_auth_method = "none"`` (or ``public``)
    makes a public client: it has no secret and must use PKCE.
    ``grant_types`` of ``None`` means "every grant the client type may use";
    ``scope`` (a space-separated string) bounds the scopes the client may ask
    for, ``None`` meaning any. ``name`` and ``allowed_scopes`` are older
    aliases of ``client_name`` and ``scope``. ``jwks`` / ``jwks_uri`` hold the
    client's public keys (client assertions, JWT bearer grants);
    ``token_endpoint_auth_signing_alg`` (OIDC Dynamic Registration §2) is the
    one algorithm its assertions may use; ``reject_replayed_assertions``
    overrides the provider's setting for this client.
    """

    client_id: str | None = None
    client_secret: str | None = None
    public: bool = False
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] | None = None
    response_types: tuple[str, ...] | None = None
    scope: str | None = None
    default_scope: str = ""
    audience: tuple[str, ...] = ()
    token_endpoint_auth_method: str | None = None
    id_token_signed_response_alg: SigningAlg | None = None
    extra_claims: Mapping[str, Any] = field(default_factory=dict)
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    contacts: tuple[str, ...] = ()
    software_id: str | None = None
    software_version: str | None = None
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    application_type: Literal["web", "native"] | None = None
    require_pushed_authorization_requests: bool = False
    dpop_bound_access_tokens: bool = False
    reject_replayed_assertions: bool | None = None
    #: Whether its users see the consent page (``None``: the provider's ``require_consent``).
    require_consent: bool | None = None
    name: str | None = None
    allowed_scopes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.client_id == "":
            raise ConfigError("client_id", "must not be empty")
        self._aliases()
        method = self.token_endpoint_auth_method
        if method is not None:
            AUTH_METHODS.check(method, "token_endpoint_auth_method")
            info = AUTH_METHODS.get(method)
            if info is not None and info.public:  # RFC 7591 §2: "none" is a public client
                object.__setattr__(self, "public", True)
            elif self.public:
                raise ConfigError("token_endpoint_auth_method", "a public client uses 'none'")
        self._check_signing_alg()
        if self.public and self.client_secret:
            raise ConfigError("client_secret", "a public client has no secret")
        for i, grant in enumerate(self.grant_types or ()):
            GRANTS.check(grant, f"grant_types[{i}]")
            grant_info = GRANTS.get(grant)
            if self.public and grant_info is not None and not grant_info.public_clients:
                raise ConfigError("grant_types", f"{grant} needs a confidential client")
        for i, uri in enumerate(self.redirect_uris):
            _check_uri(f"redirect_uris[{i}]", uri)
        for i, uri in enumerate(self.post_logout_redirect_uris):
            _check_uri(f"post_logout_redirect_uris[{i}]", uri)
        for i, value in enumerate(self.response_types or ()):
            if not value or not all(_SCOPE_TOKEN.match(part) for part in value.split(" ")):
                raise ConfigError(f"response_types[{i}]", f"{value!r} is not a response type")
        for name in ("client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri"):
            uri = getattr(self, name)
            if uri is not None:
                _check_uri(name, uri)
                if urlsplit(uri).scheme not in ("http", "https"):
                    raise ConfigError(name, "must be an http or https URL")
        if self.jwks is not None:
            _check_jwks(self.jwks)
            if self.jwks_uri is not None:
                raise ConfigError("jwks_uri", "give jwks or jwks_uri, not both (RFC 7591 §2)")

    def _check_signing_alg(self) -> None:
        alg = self.token_endpoint_auth_signing_alg
        if alg is None:
            return
        info = AUTH_METHODS.get(self.token_endpoint_auth_method or "")
        algs = info.signing_algs if info is not None else ()
        if not algs:
            jwt_methods = [m.name for m in AUTH_METHODS if m.signing_algs]
            raise ConfigError(
                "token_endpoint_auth_signing_alg",
                f"applies to token_endpoint_auth_method {' or '.join(jwt_methods)}",
            )
        if alg not in algs:
            raise ConfigError(
                "token_endpoint_auth_signing_alg",
                f"{alg!r} is not one of {', '.join(algs)}{did_you_mean(alg, algs)}",
            )

    def _aliases(self) -> None:
        """``name`` / ``client_name`` and ``allowed_scopes`` / ``scope`` name one thing each."""
        if self.name is not None and self.client_name not in (None, self.name):
            raise ConfigError("name", "is the old name of client_name: give one of them")
        label = self.client_name if self.client_name is not None else self.name
        object.__setattr__(self, "client_name", label)
        object.__setattr__(self, "name", label)
        if self.allowed_scopes is not None:
            joined = " ".join(self.allowed_scopes)
            if self.scope is not None and self.scope.split() != list(self.allowed_scopes):
                raise ConfigError("allowed_scopes", "is the old name of scope: give one of them")
            object.__setattr__(self, "scope", joined)
        if self.scope is not None:
            tokens = tuple(self.scope.split())
            for i, scope in enumerate(tokens):
                if not _SCOPE_TOKEN.match(scope):
                    key = f"allowed_scopes[{i}]" if self.allowed_scopes is not None else "scope"
                    raise ConfigError(key, f"{scope!r} is not a scope token")
            object.__setattr__(self, "allowed_scopes", tokens)


def _check_jwks(jwks: Mapping[str, Any]) -> None:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ConfigError("jwks.keys", "a JWK Set needs a non-empty list of keys (RFC 7517 §5)")
    for i, key in enumerate(keys):
        if not isinstance(key, Mapping) or not isinstance(key.get("kty"), str):
            raise ConfigError(f"jwks.keys[{i}]", "a JWK needs kty (RFC 7517 §4.1)")
        if any(member in key for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ConfigError(f"jwks.keys[{i}]", "holds private key material: publish public keys")


@dataclass(frozen=True, kw_only=True)
class TrustedIssuerConfig:
    """An issuer whose JWTs this provider accepts: JWT bearer grant assertions
    (RFC 7523 §2.1) and token exchange subject and actor tokens (RFC 8693 §2.1).

    Its keys are ``jwks`` (a JWK Set) or the set at ``jwks_uri``. ``subjects``
    limits the ``sub`` values accepted (``None``: any); ``audiences`` are
    ``aud`` values accepted besides this provider's issuer and token endpoint.
    An assertion may live ``max_lifetime`` seconds at most (its ``exp`` that far
    ahead of the provider clock); ``reject_replay`` refuses a ``jti`` seen before.
    """

    issuer: str
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    subjects: tuple[str, ...] | None = None
    audiences: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ASYMMETRIC_ALGS
    max_lifetime: int = 3600
    reject_replay: bool = False

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ConfigError("issuer", "must not be empty")
        if (self.jwks is None) == (self.jwks_uri is None):
            raise ConfigError("jwks", "give the issuer's keys as jwks or jwks_uri (one of them)")
        if self.jwks is not None:
            _check_jwks(self.jwks)
        if self.jwks_uri is not None:
            _check_uri("jwks_uri", self.jwks_uri)
            if urlsplit(self.jwks_uri).scheme not in ("http", "https"):
                raise ConfigError("jwks_uri", "must be an http or https URL")
        _check_positive("max_lifetime", self.max_lifetime)
        if not self.algorithms:
            raise ConfigError("algorithms", "needs at least one algorithm")
        for i, alg in enumerate(self.algorithms):
            if alg not in ASYMMETRIC_ALGS:
                raise ConfigError(
                    f"algorithms[{i}]",
                    f"{alg!r} is not one of {', '.join(ASYMMETRIC_ALGS)} "
                    f"(an issuer signs with its private key){did_you_mean(alg, ASYMMETRIC_ALGS)}",
                )


@dataclass(frozen=True, kw_only=True)
class UserConfig:
    """A user. Left-out fields are generated by Faker from the provider's seed.

    OIDC standard claims (``email``, ``name`` ... OIDC Core §5.1) may stand at
    the top level; anything else goes into ``claims``.
    """

    username: str | None = None
    sub: str | None = None
    password: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.username == "":
            raise ConfigError("username", "must not be empty")
        if self.sub == "":
            raise ConfigError("sub", "must not be empty")
        for reserved in ("sub", "iss", "aud", "exp", "iat"):
            if reserved in self.claims:
                raise ConfigError(f"claims.{reserved}", "is set by the provider")


@dataclass(frozen=True, kw_only=True)
class TokenConfig:
    """How tokens are minted. Lifetimes are in seconds."""

    signing_alg: SigningAlg = "RS256"
    access_token_format: Literal["jwt", "opaque"] = "jwt"
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 86400
    code_ttl: int = 120
    session_ttl: int = 86400
    issue_refresh_tokens: bool = True
    #: A refresh token only for a grant whose scope includes ``offline_access``
    #: (OIDC Core §11; Auth0, Okta and Entra do this): MCP clients must not assume one.
    refresh_tokens_need_offline_access: bool = False
    rotate_refresh_tokens: bool = True
    refresh_token_reuse_detection: bool = True
    #: Device authorization (RFC 8628): how long a device code lives, and the
    #: polling interval a client is told (an integer ≥ 1: 0 breaks real clients).
    device_code_ttl: int = 600
    device_interval: int = 5
    #: How long a pushed authorization request's ``request_uri`` lives (RFC 9126 §2.2).
    request_uri_ttl: int = 60

    def __post_init__(self) -> None:
        for name in ("access_token_ttl", "id_token_ttl", "refresh_token_ttl", "session_ttl",
                     "code_ttl", "device_code_ttl", "device_interval",
                     "request_uri_ttl"):  # fmt: skip
            _check_positive(name, getattr(self, name))
        if self.code_ttl > 600:
            raise ConfigError("code_ttl", "at most 600 seconds (RFC 6749 §4.1.2)")


@dataclass(frozen=True, kw_only=True)
class RegistrationConfig:
    """Dynamic client registration (RFC 7591) and its management (RFC 7592).

    On and open by default: anyone may register a client. ``initial_access_token``
    protects it (RFC 7591 §3: the POST carries it as a Bearer token);
    ``redirect_uris`` bounds what may be registered, each entry an exact URI
    or a prefix ending in ``*``. A registered client's secret expires
    ``client_secret_ttl`` seconds after it was issued (0: never).

    ``metadata_documents`` accepts URL client ids: client ID metadata
    documents (draft-ietf-oauth-client-id-metadata-document), registered in
    Python or over the admin API, or fetched from loopback hosts and the
    ``metadata_document_hosts`` (``"*"``: any host).
    """

    enabled: bool = True
    initial_access_token: str | None = None
    redirect_uris: tuple[str, ...] | None = None
    client_secret_ttl: int = 0
    metadata_documents: bool = True
    metadata_document_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.initial_access_token == "":
            raise ConfigError("initial_access_token", "must not be empty")
        for i, uri in enumerate(self.redirect_uris or ()):
            _check_uri(f"redirect_uris[{i}]", uri.removesuffix("*") or "x:")
        if self.client_secret_ttl < 0:
            raise ConfigError("client_secret_ttl", "must not be negative (0: never expires)")


@dataclass(frozen=True, kw_only=True)
class DpopConfig:
    """DPoP (RFC 9449): how proofs are judged.

    A proof's ``iat`` may be ``iat_window`` seconds off the provider clock.
    ``require_nonce`` makes the token endpoint and userinfo ask for a server
    nonce (§8, §9: ``use_dpop_nonce`` with a ``DPoP-Nonce`` header); a nonce
    is replaced every ``nonce_ttl`` seconds, the one before it still accepted.
    """

    iat_window: int = 300
    require_nonce: bool = False
    nonce_ttl: int = 300

    def __post_init__(self) -> None:
        _check_positive("iat_window", self.iat_window)
        _check_positive("nonce_ttl", self.nonce_ttl)


@dataclass(frozen=True, kw_only=True)
class ResourceConfig:
    """A mock protected resource (an MCP server, an API) served beside its issuer
    at ``path`` on the server root, with its metadata at
    ``/.well-known/oauth-protected-resource<path>`` (RFC 9728 §3.1). ``"/"`` is
    the whole server: every path no issuer serves, but ``/.well-known/``, with
    its metadata at ``/.well-known/oauth-protected-resource``.

    A request needs an access token of this issuer whose ``aud`` names the
    resource (its URL, or one of ``audience``) and that carries every scope in
    ``scopes`` (else 403 ``insufficient_scope``, RFC 6750 §3.1);
    ``dpop_required`` refuses Bearer tokens (RFC 9449 §7). ``scopes_supported``
    (default: ``scopes``) and ``resource_name`` go into the metadata.
    """

    path: str
    scopes: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] | None = None
    audience: tuple[str, ...] = ()
    resource_name: str | None = None
    dpop_required: bool = False

    def __post_init__(self) -> None:
        path = self.path
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError("path", f"{path!r} must be a path from the root, like '/mcp'")
        if path != "/" and path.split("/")[1] in (".well-known", "_mockauth"):
            raise ConfigError("path", f"{path!r} is reserved for the server itself")
        if not re.match(RESOURCE_PATH, path):
            raise ConfigError(
                "path",
                f"{path!r}: letters, digits and -._~!$&'()*+,;=:@ between single slashes "
                "(no query, fragment, escapes, spaces, '//', '.' or '..' segments, "
                "or trailing '/')",
            )
        for key in ("scopes", "scopes_supported"):
            for i, scope in enumerate(getattr(self, key) or ()):
                if not _SCOPE_TOKEN.match(scope):
                    raise ConfigError(f"{key}[{i}]", f"{scope!r} is not a scope (RFC 6749 §3.3)")
        for i, aud in enumerate(self.audience):
            if not aud:
                raise ConfigError(f"audience[{i}]", "must not be empty")


DEFAULT_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")


@dataclass(frozen=True, kw_only=True)
class ProviderConfig:
    """One issuer: its identity, clients, users and token settings.

    ``issuer_id`` is the path segment the issuer is served under
    (``http://HOST:PORT/<issuer_id>``); ``issuer`` overrides the whole issuer
    URL (behind a proxy or a docker-compose host name); ``issuer_from_host``
    makes the issuer follow each request's ``Host`` (a browser on the host and
    other containers each see the name they used; tokens of every such alias
    are accepted). ``lenient_clients``
    accepts any client id, secret and redirect URI (what other mocks do); the
    default is strict. ``reject_replayed_assertions`` refuses a client
    assertion whose ``jti`` was seen before (RFC 7523 §3); off by default
    because MSAL reuses one assertion for up to nine minutes, and a replay is
    journaled either way. ``trusted_issuers`` are the issuers whose JWTs the
    JWT bearer grant and token exchange accept. ``resources`` are mock
    protected resources this issuer guards (RFC 9728). ``login_page`` shows a
    sign-in page at ``/authorize`` instead of approving at once; there an
    unknown username signs in as a new user unless ``known_users_only``.
    ``require_consent`` asks each user to allow a client's scopes once (a
    consent page; ``prompt=consent`` asks again when the login page is on).
    """

    issuer_id: str = "default"
    issuer: str | None = None
    seed: int = 0
    clients: tuple[ClientConfig, ...] = ()
    users: tuple[UserConfig, ...] = ()
    fake_users: int = 0
    default_user: str | None = None
    scopes_supported: tuple[str, ...] = DEFAULT_SCOPES
    require_pkce: bool = False
    lenient_clients: bool = False
    issuer_from_host: bool = False
    reject_replayed_assertions: bool = False
    require_pushed_authorization_requests: bool = False
    login_page: bool = False
    known_users_only: bool = False
    require_consent: bool = False
    trusted_issuers: tuple[TrustedIssuerConfig, ...] = ()
    resources: tuple[ResourceConfig, ...] = ()
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    dpop: DpopConfig = field(default_factory=DpopConfig)
    tokens: TokenConfig = field(default_factory=TokenConfig)

    def __post_init__(self) -> None:
        _check_items("clients", self.clients, ClientConfig)
        _check_items("users", self.users, UserConfig)
        _check_items("trusted_issuers", self.trusted_issuers, TrustedIssuerConfig)
        _check_items("resources", self.resources, ResourceConfig)
        dup = _first_duplicate([r.path for r in self.resources])
        if dup is not None:
            raise ConfigError("resources", f"path {dup!r} is listed twice")
        dup = _first_duplicate([t.issuer for t in self.trusted_issuers])
        if dup is not None:
            raise ConfigError("trusted_issuers", f"issuer {dup!r} is listed twice")
        if not isinstance(self.tokens, TokenConfig):
            raise ConfigError(
                "tokens", "expected a TokenConfig; plain data goes through from_mapping()"
            )
        if not isinstance(self.dpop, DpopConfig):
            raise ConfigError(
                "dpop", "expected a DpopConfig; plain data goes through from_mapping()"
            )
        if not isinstance(self.registration, RegistrationConfig):
            raise ConfigError(
                "registration",
                "expected a RegistrationConfig; plain data goes through from_mapping()",
            )
        _check_issuer_id(self.issuer_id)
        if self.issuer is not None:
            _check_uri("issuer", self.issuer, allow_query=False)
            if urlsplit(self.issuer).scheme not in ("http", "https"):
                raise ConfigError("issuer", "must be an http or https URL")
        if self.fake_users < 0:
            raise ConfigError("fake_users", "must not be negative")
        ids = [c.client_id for c in self.clients if c.client_id]
        dup = _first_duplicate(ids)
        if dup is not None:
            raise ConfigError("clients", f"client_id {dup!r} is registered twice")
        names = [u.username or u.sub for u in self.users]
        dup = _first_duplicate([n for n in names if n])
        if dup is not None:
            raise ConfigError("users", f"user {dup!r} is registered twice")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> ProviderConfig:
        """Build from plain data (a parsed config file, marker keyword arguments)."""
        return parse(cls, data, source=source)

    @classmethod
    def from_file(cls, path: str | Path, *, issuer_id: str | None = None) -> ProviderConfig:
        """Load one issuer from a config file (the only one, or ``issuer_id``)."""
        server = load_config(path)
        if issuer_id is None:
            if len(server.issuers) != 1:
                ids = ", ".join(p.issuer_id for p in server.issuers)
                raise ConfigError("issuers", f"holds {ids}: pass issuer_id=", source=str(path))
            return server.issuers[0]
        for provider in server.issuers:
            if provider.issuer_id == issuer_id:
                return provider
        raise ConfigError("issuers", f"no issuer with id {issuer_id!r}", source=str(path))

    def updated(self, **changes: Any) -> ProviderConfig:
        """A copy with ``changes`` applied, each validated like a file value."""
        return parse(type(self), {**_shallow(self), **changes})


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What the live server allows (the ``[limits]`` table; ``LiveServer(**limits)``).

    ``max_connections`` open at once (more wait in the listen backlog);
    ``max_header_bytes`` for a request's header fields (431 beyond, RFC 6585
    §5); ``max_body_bytes`` for its body (413 beyond, RFC 9110 §15.5.14);
    ``request_timeout`` seconds of silence while a request arrives or its
    answer is sent (a new connection must start its request within it);
    ``request_deadline`` seconds from a request's first byte to its last (a
    trickling client gets 408); ``idle_timeout`` seconds a keep-alive
    connection may wait for its next request; ``workers`` event loops serving
    the connections (``None``: two, or one on a single core).
    """

    max_connections: int = 256
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 64 * 1024
    request_timeout: float = 10.0
    request_deadline: float = 30.0
    idle_timeout: float = 60.0
    workers: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_header_bytes", "max_body_bytes", "workers"):
            value = getattr(self, name)
            if value is None and name == "workers":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, f"must be a positive integer, got {_describe(value)}")
        for name in ("request_timeout", "request_deadline", "idle_timeout"):
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not (0 < value < float("inf")):
                raise ConfigError(
                    name, f"must be a positive number of seconds, got {_describe(value)}"
                )


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """A standalone server: where it listens and the issuers it serves."""

    host: str = "127.0.0.1"
    port: int = 8080
    issuers: tuple[ProviderConfig, ...] = field(default_factory=lambda: (ProviderConfig(),))
    #: Serve https: with a certificate of the per-run test CA, or ``tls_cert``/``tls_key``.
    tls: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    #: The live server's limits (connections, header and body bytes, timeouts, workers).
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        _check_items("issuers", self.issuers, ProviderConfig)
        if (self.tls_cert is None) != (self.tls_key is None):
            missing = "tls_key" if self.tls_key is None else "tls_cert"
            raise ConfigError(missing, "tls_cert and tls_key go together")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", f"{self.port} is not a TCP port")
        if not self.issuers:
            raise ConfigError("issuers", "at least one issuer is needed")
        dup = _first_duplicate([p.issuer_id for p in self.issuers])
        if dup is not None:
            raise ConfigError("issuers", f"issuer_id {dup!r} is used twice")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> ServerConfig:
        """Build from a parsed config file; issuer keys may stand at the top level."""
        provider_keys = {f.name for f in dataclasses.fields(ProviderConfig)}
        shorthand = [k for k in data if k in provider_keys]
        if shorthand:
            if "issuers" in data:
                raise ConfigError(
                    shorthand[0],
                    "cannot stand beside 'issuers': move it into an issuer",
                    source=source,
                )
            rest = {k: v for k, v in data.items() if k not in provider_keys}
            issuer = {k: data[k] for k in shorthand}
            return parse(cls, {**rest, "issuers": [issuer]}, source=source)
        return parse(cls, data, source=source)


def _shallow(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


# --- the parser -------------------------------------------------------------

T = TypeVar("T")
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _check_json(value: Any, key: str) -> None:
    # Claims end up in JSON responses: a TOML/YAML date or a Python object would be a 500 later.
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(key, f"keys must be strings, got {_describe(k)}")
            _check_json(v, f"{key}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json(v, f"{key}[{i}]")
    elif value is not None and not isinstance(value, str | int | float):
        raise ConfigError(key, f"expected a JSON value (quote dates), got {_describe(value)}")


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors: list[ConfigError] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(key, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        return _build(hint, value, key)
    if origin is tuple:
        (item,) = get_args(hint)[:1]
        if isinstance(value, str) and item is str:
            return tuple(value.split())  # "a b c" -> ("a", "b", "c")
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"expected a list, got {_describe(value)}")
        return tuple(_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict) or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"expected a table/object, got {_describe(value)}")
        _check_json(value, key)
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {_describe(value)}")
        return value
    if hint is float:
        return _number(value, key)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {_describe(value)}")
        return value
    raise TypeError(f"mockauth.config cannot parse {hint!r}")  # a bug in this module


def _build(cls: type[T], data: Any, prefix: str) -> T:
    if not isinstance(data, Mapping):
        raise ConfigError(prefix, f"expected a table/object, got {_describe(data)}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    data = dict(data)
    if cls is UserConfig:
        given = data.get("claims")
        if given is not None and not isinstance(given, Mapping):
            raise ConfigError(
                _join(prefix, "claims"), f"expected a table/object, got {_describe(given)}"
            )
        claims = dict(given or {})
        for name in [k for k in data if k in STANDARD_CLAIMS]:
            claims[name] = data.pop(name)
        if claims:
            data["claims"] = claims
    values: dict[str, Any] = {}
    for name, value in data.items():
        if not isinstance(name, str) or name not in names:
            raise ConfigError(_join(prefix, str(name)), f"unknown key{_key_hint(cls, name, names)}")
        values[name] = _convert(hints[name], value, _join(prefix, name))
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and f.name not in values:
            raise ConfigError(_join(prefix, f.name), "is required")
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(_join(prefix, exc.key), exc.message) from None


def _key_hint(cls: type, name: object, names: list[str]) -> str:
    if cls is not UserConfig:
        return did_you_mean(str(name), names)
    # A user key that is no field and no standard claim is most likely a custom
    # claim (roles, groups): say where those go rather than guess a far match.
    close = difflib.get_close_matches(str(name), [*names, *sorted(STANDARD_CLAIMS)], 1, 0.75)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; custom claims go in claims (claims = {{ {name} = ... }})"


def parse(cls: type[T], data: Mapping[str, Any], *, source: str | None = None) -> T:
    """Validate plain data into config class ``cls``; errors name the bad key."""
    try:
        return _build(cls, data, "")
    except ConfigError as exc:
        if source is None:
            raise
        raise ConfigError(exc.key, exc.message, source=source) from None


def _read(path: Path) -> Any:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("", f"invalid JSON: {exc}", source=str(path)) from None
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"invalid TOML: {exc}", source=str(path)) from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(
                "", "YAML needs the extra: pip install 'mockauth[yaml]'", source=str(path)
            ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError("", f"invalid YAML: {exc}", source=str(path)) from None
    raise ConfigError("", "unknown file type: use .json, .toml, .yaml or .yml", source=str(path))


def read_mapping(path: str | Path) -> Mapping[str, Any]:
    """The top-level table of a JSON, TOML or YAML file (config and scenario files).

    Errors are :class:`ConfigError` naming the file; an empty file is an empty table.
    """
    path = Path(path)
    try:
        data = _read(path)
    except OSError as exc:
        raise ConfigError("", f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"not UTF-8 text: {exc}", source=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            "", f"the top level must be a table/object, got {_describe(data)}", source=str(path)
        )
    return data


def load_config(path: str | Path) -> ServerConfig:
    """Read a JSON, TOML or YAML config file into a :class:`ServerConfig`."""
    return ServerConfig.from_mapping(read_mapping(path), source=str(Path(path)))
