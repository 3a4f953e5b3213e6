"""Registries of capabilities: grants, client authentication methods,
endpoints and faults, each registered once.

Everything that lists a capability reads it off its registry: discovery
metadata, config validation of grant types and auth methods, the journal's
redaction of secret parameters, the endpoint names scenario rules match and
the admin API's OpenAPI document. The behaviour lives with the capability
(:mod:`mockauth.grants`, :mod:`mockauth.clientauth`,
:mod:`mockauth.endpoints`, :mod:`mockauth.faults`); this module holds only
what readers need to know of each (the ``*Info`` protocols), so a reader such
as the config model depends on no behaviour.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from ._check import did_you_mean
from .errors import ConfigError, MockauthError

__all__ = [
    "AUTH_METHODS",
    "ENDPOINTS",
    "FAULTS",
    "GRANTS",
    "AuthMethodInfo",
    "EndpointInfo",
    "FaultInfo",
    "GrantInfo",
    "Registry",
    "default_grant_types",
    "secret_params",
]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named items in registration order; names are unique.

    ``register`` returns the item, so it works as a class decorator too.
    """

    def __init__(self, kind: str, name_of: Callable[[T], str]) -> None:
        self.kind = kind
        self._name_of = name_of
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumped on every change: derived caches compare it

    def register(self, item: T, *, replace: bool = False) -> T:
        name = self._name_of(item)
        if not isinstance(name, str) or not name:
            raise MockauthError(f"a {self.kind} needs a non-empty name, got {name!r}")
        with self._lock:
            if name in self._items and not replace:
                raise MockauthError(f"{self.kind} {name!r} is already registered")
            self._items = {**self._items, name: item}
            self.version += 1
        return item

    def unregister(self, name: str) -> None:
        with self._lock:
            if name not in self._items:
                raise MockauthError(f"no {self.kind} {name!r} is registered")
            self._items = {k: v for k, v in self._items.items() if k != name}
            self.version += 1

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def check(self, name: object, key: str) -> str:
        """``name`` if registered, else a :class:`ConfigError` at ``key`` with a hint."""
        if isinstance(name, str) and name in self._items:
            return name
        known = self.names()
        hint = did_you_mean(str(name), known)
        raise ConfigError(key, f"{name!r} is not one of {', '.join(known)}{hint}")

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Registry of {self.kind}s: {', '.join(self._items)}>"


class GrantInfo(Protocol):
    """What readers know of a grant (:class:`mockauth.grants.Grant`)."""

    @property
    def grant_type(self) -> str: ...
    @property
    def public_clients(self) -> bool: ...
    @property
    def by_default(self) -> bool: ...
    @property
    def secret_params(self) -> frozenset[str]: ...


class AuthMethodInfo(Protocol):
    """What readers know of a client authentication method
    (:class:`mockauth.clientauth.ClientAuthMethod`).
    """

    @property
    def name(self) -> str: ...
    @property
    def secret_params(self) -> frozenset[str]: ...
    @property
    def signing_algs(self) -> tuple[str, ...]: ...
    @property
    def public(self) -> bool: ...


class EndpointInfo(Protocol):
    """What readers know of an endpoint (:class:`mockauth.endpoints.Endpoint`)."""

    @property
    def name(self) -> str: ...
    @property
    def route(self) -> str: ...
    @property
    def methods(self) -> tuple[str, ...]: ...
    @property
    def metadata_key(self) -> str | None: ...
    @property
    def client_auth(self) -> str: ...
    @property
    def secret_params(self) -> frozenset[str]: ...
    @property
    def error_codes(self) -> frozenset[str]: ...
    @property
    def mount(self) -> str: ...


class FaultInfo(Protocol):
    """What readers know of a fault kind (:class:`mockauth.faults.Fault` subclasses)."""

    @property
    def kind(self) -> str: ...


GRANTS: Registry[GrantInfo] = Registry("grant type", lambda g: g.grant_type)
AUTH_METHODS: Registry[AuthMethodInfo] = Registry("client authentication method", lambda m: m.name)
ENDPOINTS: Registry[EndpointInfo] = Registry("endpoint", lambda e: e.name)
FAULTS: Registry[FaultInfo] = Registry("fault", lambda f: f.kind)


def default_grant_types(public: bool) -> tuple[str, ...]:
    """The grant types a client registered without ``grant_types`` may use."""
    return tuple(g.grant_type for g in GRANTS if g.by_default and (g.public_clients or not public))


#: Secret parameters no capability owns: tokens and passwords in general.
#: Credentials of capabilities still to come are listed too: a client may send
#: them before anything here understands them, and they must not be recorded.
_ALWAYS_SECRET = frozenset(
    {"client_secret", "password", "access_token", "token", "id_token_hint", "assertion",
     "client_assertion", "subject_token", "actor_token", "device_code"}
)  # fmt: skip
_secret_cache: tuple[tuple[int, int, int], frozenset[str]] = ((-1, -1, -1), frozenset())


def secret_params() -> frozenset[str]:
    """Every parameter whose value must never be recorded: those of the
    grants, the auth methods and the endpoints, plus tokens in general.
    """
    global _secret_cache
    versions = (GRANTS.version, AUTH_METHODS.version, ENDPOINTS.version)
    cached_versions, cached = _secret_cache
    if cached_versions == versions:
        return cached
    found = set(_ALWAYS_SECRET)
    for grant in GRANTS:
        found |= grant.secret_params
    for method in AUTH_METHODS:
        found |= method.secret_params
    for endpoint in ENDPOINTS:
        found |= endpoint.secret_params
    result = frozenset(found)
    _secret_cache = (versions, result)
    return result
