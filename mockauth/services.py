"""``Services``: the narrow set of collaborators every handler, grant, auth
method and fault works with.

A handler gets this, never the :class:`~mockauth.Provider`: the config, the
clock, the keys, the token service, the store, the client registry, the user
directory and the issuer's URLs. It imports no provider, endpoint or fault,
so any of them can be built and tested from a ``Services`` alone.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar, Token
from typing import Any

from .cimd import MetadataDocuments
from .clients import ClientRegistry
from .clock import Clock, ClockLike
from .config import ProviderConfig
from .errors import MockauthError, UnknownUserError
from .fetch import Fetcher
from .keys import KeySet
from .registry import ENDPOINTS
from .resources import Resources
from .store import Store
from .tokens.claims import RFC9068, ClaimsPolicy
from .tokens.service import TokenService
from .trust import TrustedIssuers
from .users import UserDirectory

__all__ = ["UNSERVED_BASE_URL", "Services"]

#: The base URL of a provider that is not served (RFC 2606 reserves ``.test``).
UNSERVED_BASE_URL = "http://mockauth.test"

#: The base URL the current request came to (``issuer_from_host``).
_REQUEST_BASE: ContextVar[str | None] = ContextVar("mockauth_request_base", default=None)
#: A Host header fit to become part of an issuer: a name or address, and a port.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?")
#: The most issuer aliases one provider remembers.
_MAX_ALIASES = 64


class Services:
    """The collaborators of one issuer."""

    session_cookie = "mockauth_session"

    def __init__(
        self,
        config: ProviderConfig,
        *,
        clock: ClockLike | None = None,
        claims: ClaimsPolicy = RFC9068,
    ) -> None:
        self.config = config
        self.clock: Any = clock if clock is not None else Clock()
        self.keys = KeySet(config.tokens.signing_alg)
        self.store = Store()
        self.base_url = UNSERVED_BASE_URL
        self._aliases: set[str] = set()
        self._rng: random.Random | None = None
        self.clients = ClientRegistry(self.rng, lenient=config.lenient_clients)
        self.users = UserDirectory(config.seed, config.default_user)
        #: Documents fetched from elsewhere (client ``jwks_uri``, trusted issuers' JWKS).
        self.fetcher = Fetcher(lambda: float(self.clock.now()))
        self.trusted = TrustedIssuers(config.trusted_issuers, self.fetcher)
        self.documents = MetadataDocuments(lambda: self.config.registration, self.fetcher)
        self.clients.documents = self.documents.resolve
        self.resources = Resources(config.resources, lambda: self.request_base)
        self.tokens = TokenService(
            issuer=lambda: self.issuer,
            keys=self.keys,
            clock=self.clock,
            store=self.store,
            config=config.tokens,
            claims=claims,
            issuers=self.issuers,
        )

    @property
    def claims(self) -> ClaimsPolicy:
        """The claims policy of this issuer's tokens (RFC 9068 by default)."""
        return self.tokens.claims

    @claims.setter
    def claims(self, policy: ClaimsPolicy) -> None:
        self.tokens.claims = policy

    def rng(self) -> random.Random:
        """The seeded random source for generated client ids and secrets."""
        if self._rng is None:
            self._rng = random.Random(self.config.seed)  # noqa: S311 - deterministic on purpose
        return self._rng

    @property
    def issuer_path(self) -> str:
        """The path the issuer is served under: ``/`` + ``issuer_id`` (segments allowed)."""
        return "/" + self.config.issuer_id

    @property
    def issuer(self) -> str:
        """The issuer URL exactly as in metadata and every token's ``iss``: the
        configured one, else the base the request came to (``issuer_from_host``),
        else the server's.
        """
        if self.config.issuer:
            return self.config.issuer
        base = _REQUEST_BASE.get() if self.config.issuer_from_host else None
        return f"{base or self.base_url}{self.issuer_path}"

    @property
    def request_base(self) -> str:
        """The base URL of the server as the current request reached it
        (``issuer_from_host``), else the server's: where served resources live.
        """
        base = _REQUEST_BASE.get() if self.config.issuer_from_host else None
        return base or self.base_url

    def issuers(self) -> tuple[str, ...]:
        """Every issuer this provider signs as: the current one and, with
        ``issuer_from_host``, each alias a request has used (verification accepts all).
        """
        current = self.issuer
        if not self.config.issuer_from_host:
            return (current,)
        return (current, *(a for a in self._aliases if a != current))

    def enter_request(self, scheme: str, host: str | None) -> Token[str | None] | None:
        """With ``issuer_from_host``: the issuer of this request follows its ``Host``."""
        if not self.config.issuer_from_host or not host or not _HOST.fullmatch(host):
            return None
        base = f"{scheme}://{host.lower()}"
        if base + self.issuer_path not in self._aliases and len(self._aliases) < _MAX_ALIASES:
            self._aliases.add(base + self.issuer_path)
        return _REQUEST_BASE.set(base)

    @staticmethod
    def leave_request(token: Token[str | None] | None) -> None:
        if token is not None:
            _REQUEST_BASE.reset(token)

    @property
    def cookie_path(self) -> str:
        return self.issuer_path

    def url_for(self, name: str) -> str:
        """The URL of a registered endpoint by name."""
        endpoint = ENDPOINTS.get(name)
        if endpoint is None:
            known = ", ".join(ENDPOINTS.names())
            raise MockauthError(f"no endpoint named {name!r}; known: {known}")
        if endpoint.mount == "resource":
            raise MockauthError(
                f"{name!r} is served at each protected resource's own path: "
                "use provider.resource(path).url or .metadata_url"
            )
        return self.issuer + endpoint.route

    def revoke_tokens(self, *, user: str | None = None, client: str | None = None) -> int:
        """Revoke every access and refresh token of a user (``sub``, username or
        email) and/or a client; returns how many were revoked. An unknown user
        is an :class:`~mockauth.errors.UnknownUserError`.
        """
        if user is None and client is None:
            raise MockauthError("revoke_tokens() needs user= or client=")
        sub = None
        if user is not None:
            found = self.users.find(user)
            if found is None:
                raise UnknownUserError(f"revoke_tokens(): no user {user!r}")
            sub = found.sub
        return self.store.revoke_matching(
            lambda s, c: (sub is None or s == sub) and (client is None or c == client),
            self.clock.now(),
        )

    def id_token_algs(self) -> list[str]:
        """ID-token algorithms in use: the provider's, RS256 (OIDC Discovery §3
        requires it) and any a client registered as ``id_token_signed_response_alg``.
        """
        registered = [c.id_token_signed_response_alg for c in self.clients.all()]
        algs = [self.keys.default_alg, "RS256", *(a for a in registered if a)]
        return list(dict.fromkeys(algs))

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set (RFC 7517 §5): a key for every asymmetric algorithm
        tokens may be signed with.
        """
        for alg in self.id_token_algs():
            if alg != "HS256":
                self.keys.active(alg)
        return self.keys.jwks()
