"""Registered clients, the checks that depend on their registration, and the
registry that holds them.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._check import is_loopback
from .config import ClientConfig, parse
from .errors import MockauthError, UnknownClientError
from .ids import unique_hex
from .keys import b64url
from .registry import default_grant_types

__all__ = ["DESCRIPTIVE", "Client", "ClientRegistry", "client_from"]


#: RFC 7591 §2 metadata kept as registered: what describes the client, and its keys.
DESCRIPTIVE = (
    "client_name", "response_types", "client_uri", "logo_uri", "tos_uri", "policy_uri",
    "contacts", "software_id", "software_version", "jwks", "jwks_uri",
    "token_endpoint_auth_signing_alg", "application_type",
    "require_pushed_authorization_requests", "dpop_bound_access_tokens",
)  # fmt: skip


def _is_loopback_ip(host: str | None) -> bool:
    # RFC 8252 §7.3 names IP literals only: "localhost" is not one.
    return host != "localhost" and is_loopback(host)


@dataclass(frozen=True, eq=False)
class Client:
    """A client as the provider knows it (ids and secrets already resolved).

    ``client_id`` and ``client_secret`` carry RFC 6749's names; a public
    client's ``client_secret`` is ``None``.
    """

    client_id: str
    client_secret: str | None
    public: bool = False
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = field(default_factory=lambda: default_grant_types(False))
    allowed_scopes: frozenset[str] | None = None
    default_scope: str = ""
    audience: tuple[str, ...] = ()
    token_endpoint_auth_method: str | None = None
    id_token_signed_response_alg: str | None = None
    extra_claims: Mapping[str, Any] = field(default_factory=dict)
    client_name: str | None = None
    lenient: bool = False
    response_types: tuple[str, ...] | None = None
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
    application_type: str | None = None
    require_pushed_authorization_requests: bool = False
    dpop_bound_access_tokens: bool = False
    reject_replayed_assertions: bool | None = None
    #: Whether its users see the consent page (``None``: the provider decides).
    require_consent: bool | None = None
    #: Dynamic registration (RFC 7591 §3.2.1): when the id was issued, when the
    #: secret expires (0: never), and the RFC 7592 registration access token.
    client_id_issued_at: int | None = None
    client_secret_expires_at: int | None = None
    registration_access_token: str | None = None

    @property
    def name(self) -> str | None:
        """``client_name`` (RFC 7591 §2) by its older name."""
        return self.client_name

    @property
    def scope(self) -> str | None:
        """The registered ``scope`` (RFC 7591 §2): what the client may ask for."""
        return " ".join(sorted(self.allowed_scopes)) if self.allowed_scopes is not None else None

    def allows_response_type(self, response_type: str) -> bool:
        """Whether the registration's ``response_types`` (if any) include this one."""
        if self.response_types is None:
            return True
        wanted = sorted(response_type.split(" "))
        return any(sorted(r.split(" ")) == wanted for r in self.response_types)

    def to_metadata(self) -> dict[str, Any]:
        """The client's metadata by RFC 7591 §2 names (absent values left out)."""
        method = "none" if self.public else self.token_endpoint_auth_method
        data: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "grant_types": list(self.grant_types),
            "token_endpoint_auth_method": method or "client_secret_basic",
            "scope": self.scope,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
        }
        if self.client_id_issued_at is not None:
            data["client_id_issued_at"] = self.client_id_issued_at
            if self.client_secret is not None:
                data["client_secret_expires_at"] = self.client_secret_expires_at or 0
        for name in DESCRIPTIVE:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = list(value) or None
            elif isinstance(value, Mapping):
                value = dict(value)
            elif value is False:  # a flag left at its default is not registered metadata
                value = None
            data[name] = value
        return {k: v for k, v in data.items() if v is not None}

    def allows_grant(self, grant_type: str) -> bool:
        """Whether this client may use ``grant_type`` at the token endpoint."""
        return grant_type in self.grant_types

    def auth_methods(self) -> tuple[str, ...]:
        """Token endpoint authentication methods this client may use."""
        if self.public:
            return ("none",)
        if self.token_endpoint_auth_method:
            return (self.token_endpoint_auth_method,)
        return ("client_secret_basic", "client_secret_post")

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact string match against the registration (RFC 6749 §3.1.2.3, RFC 9700 §2.1).

        The only exception is RFC 8252 §7.3: for a loopback IP literal with
        ``http``, any port matches a registration made without one or with another.
        """
        if uri in self.redirect_uris or (self.lenient and _absolute(uri)):
            return True
        # urlsplit() silently drops tabs, CR/LF and leading controls: such a URI is never exact.
        if _has_controls(uri):
            return False
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:  # "http://[::1" and the like
            return False
        # urlsplit() lower-cases the scheme; "HTTP://" is not the registered string.
        if not uri.startswith("http://") or not _is_loopback_ip(parts.hostname):
            return False
        for registered in self.redirect_uris:
            reg = urlsplit(registered)
            if (
                registered.startswith("http://")
                and reg.hostname == parts.hostname
                and (reg.path, reg.query) == (parts.path, parts.query)
                and not parts.fragment
                and parts.netloc.count("@") == 0
                and _without_port(reg.netloc) == _without_port(parts.netloc)
            ):
                return True
        return False

    def post_logout_uri_allowed(self, uri: str) -> bool:
        """Exact match against ``post_logout_redirect_uris`` (OIDC RP-Initiated Logout §3)."""
        return uri in self.post_logout_redirect_uris or (self.lenient and _absolute(uri))

    def scopes_allowed(self, scopes: tuple[str, ...]) -> bool:
        """Whether every requested scope is one this client may ask for."""
        return self.allowed_scopes is None or set(scopes) <= self.allowed_scopes


def _has_controls(uri: str) -> bool:
    return any(c <= " " or c == "\x7f" for c in uri)


def _absolute(uri: str) -> bool:
    """An absolute http(s) URI without control characters (what a lenient client may use)."""
    if _has_controls(uri):
        return False
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def _without_port(netloc: str) -> str:
    if netloc.endswith("]"):
        return netloc
    host, sep, port = netloc.rpartition(":")
    return host if sep and port.isdigit() else netloc


def client_from(cfg: ClientConfig, client_id: str, secret: str | None) -> Client:
    """The :class:`Client` a validated registration describes (not registered)."""
    grants = cfg.grant_types or default_grant_types(cfg.public)
    return Client(
        client_id=client_id,
        client_secret=None if cfg.public else secret,
        public=cfg.public,
        redirect_uris=cfg.redirect_uris,
        post_logout_redirect_uris=cfg.post_logout_redirect_uris,
        grant_types=tuple(grants),
        allowed_scopes=frozenset(cfg.allowed_scopes) if cfg.allowed_scopes is not None else None,
        default_scope=cfg.default_scope,
        audience=cfg.audience,
        token_endpoint_auth_method=None if cfg.public else cfg.token_endpoint_auth_method,
        id_token_signed_response_alg=cfg.id_token_signed_response_alg,
        extra_claims=dict(cfg.extra_claims),
        reject_replayed_assertions=cfg.reject_replayed_assertions,
        require_consent=cfg.require_consent,
        **{name: getattr(cfg, name) for name in DESCRIPTIVE},
    )


#: Older field names and their RFC 7591 §2 names, both ways.
_ALIASES = {"name": "client_name", "client_name": "name", "allowed_scopes": "scope",
            "scope": "allowed_scopes"}  # fmt: skip


def _plausible_id(client_id: str) -> bool:
    return 0 < len(client_id) <= 200 and client_id.isprintable()


class ClientRegistry:
    """The clients of one provider. ``lenient`` registers any plausible unknown
    client id on first use, accepting any secret and redirect URI.
    """

    def __init__(self, rng: Callable[[], random.Random], *, lenient: bool = False) -> None:
        self._rng = rng
        self.lenient = lenient
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        #: Resolves a URL client id (a client ID metadata document), when set.
        self.documents: Callable[[str], Client | None] | None = None

    def add(self, config: ClientConfig | None = None, /, **fields: Any) -> Client:
        """Register a client; ``client_id`` / ``client_secret`` are generated if left out."""
        base = _fields(config) if config is not None else {}
        for given in fields:  # a name given now replaces both it and its alias
            base.pop(_ALIASES.get(given, given), None)
        cfg = parse(ClientConfig, {**base, **fields})
        with self._lock:
            rng = self._rng()
            client_id = cfg.client_id or f"client-{rng.getrandbits(48):012x}"
            if client_id in self._clients:
                raise MockauthError(f"client {client_id!r} is already registered")
            # A private_key_jwt client proves itself with its key: no secret is made up.
            keyed = cfg.token_endpoint_auth_method == "private_key_jwt"
            generated = None if keyed else b64url(rng.randbytes(32))
            secret = None if cfg.public else (cfg.client_secret or generated)
            client = client_from(cfg, client_id, secret)
            self._clients[client_id] = client
        return client

    def register(
        self, config: ClientConfig, *, issued_at: int, secret_ttl: int, token: str
    ) -> Client:
        """A dynamically registered client (RFC 7591 §3.2.1): a fresh id and, for
        a confidential client, a secret expiring ``secret_ttl`` s after ``issued_at``.
        """
        client_id = unique_hex()
        client = self.add(config, client_id=client_id)
        expires = issued_at + secret_ttl if secret_ttl and not client.public else 0
        return self._update(
            client_id, client_id_issued_at=issued_at, client_secret_expires_at=expires,
            registration_access_token=token,
        )  # fmt: skip

    def replace(self, client_id: str, config: ClientConfig) -> Client:
        """RFC 7592 §2.2: the registration of ``client_id`` replaced whole by
        ``config``; its id, secret and registration fields stay.
        """
        with self._lock:
            old = self.client(client_id)
            del self._clients[client_id]
            try:
                secret = None if config.public else old.client_secret
                new = self.add(config, client_id=client_id, client_secret=secret)
            except Exception:
                self._clients[client_id] = old
                raise
            return self._update(
                client_id, client_id_issued_at=old.client_id_issued_at,
                client_secret_expires_at=old.client_secret_expires_at if not new.public else 0,
                registration_access_token=old.registration_access_token,
            )  # fmt: skip

    def _update(self, client_id: str, **changes: Any) -> Client:
        with self._lock:
            updated = dataclasses.replace(self.client(client_id), **changes)
            self._clients[client_id] = updated
        return updated

    def get(self, client_id: str) -> Client | None:
        """The client registered as ``client_id``, or ``None`` (lenient: a new one).

        A URL ``client_id`` that nobody registered is a client ID metadata
        document (:mod:`mockauth.cimd`): resolved, or an ``invalid_client`` saying
        why (a lenient registry takes it as it takes any id).
        """
        found = self._clients.get(client_id)
        is_url = client_id.startswith(("https://", "http://"))
        if found is None and is_url and not self.lenient and self.documents is not None:
            return self.documents(client_id)
        if found is None and self.lenient and _plausible_id(client_id):
            with self._lock:
                found = self._clients.setdefault(
                    client_id, Client(client_id=client_id, client_secret=None, lenient=True)
                )
        return found

    def registered(self, client_id: str) -> Client | None:
        """The client registered as ``client_id`` (never a new lenient one)."""
        return self._clients.get(client_id)

    def client(self, client_id: str) -> Client:
        """The client registered as ``client_id``; :class:`UnknownClientError` otherwise."""
        found = self._clients.get(client_id)
        if found is None:
            raise UnknownClientError(f"no client {client_id!r}; registered: {list(self._clients)}")
        return found

    def secret(self, client_id: str) -> str | None:
        """The secret of a registered client (``None`` for public or unknown clients)."""
        client = self.registered(client_id)
        return client.client_secret if client is not None else None

    def rotate_secret(self, client_id: str, new_secret: str | None = None) -> Client:
        """Give a client a new secret; the old one fails from now on."""
        with self._lock:
            client = self.client(client_id)
            if client.public:
                raise MockauthError(f"client {client_id!r} is public and has no secret")
            secret = new_secret or b64url(self._rng().randbytes(32))
            updated = dataclasses.replace(client, client_secret=secret)
            self._clients[client_id] = updated
        return updated

    def remove(self, client_id: str) -> None:
        with self._lock:
            if self._clients.pop(client_id, None) is None:
                raise UnknownClientError(f"no client {client_id!r}")

    def all(self) -> list[Client]:
        return list(self._clients.values())

    def snapshot(self) -> dict[str, Client]:
        """The clients as they are now (clients are frozen: a shallow copy keeps them)."""
        with self._lock:
            return dict(self._clients)

    def restore(self, snapshot: Mapping[str, Client]) -> None:
        with self._lock:
            self._clients = dict(snapshot)

    def __len__(self) -> int:
        return len(self._clients)


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
