"""``Provider``: the facade of one issuer. Each method delegates to the module
that owns the concept (:class:`~mockauth.services.Services`, the pipeline,
scenarios, journal, metadata, minting, forging); the request it answers may
come over a socket, in-process or through WSGI.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

from . import builtin as _builtin  # noqa: F401 - registers the built-in capabilities
from .clients import Client
from .clock import ClockLike
from .config import (
    ClientConfig,
    ProviderConfig,
    ResourceConfig,
    UserConfig,
    check_login_claims,
    parse,
)
from .errors import ConfigError, UnknownClientError, UnknownResourceError
from .http import Request, Response
from .http.wsgi import wsgi_app
from .journal import Call, Calls, Journal
from .keys import KeySet, SigningKey
from .metadata import build_metadata
from .pipeline import Interceptor, Pipeline
from .resources import ProtectedResource
from .scenarios.rules import Rule, RuleSet, UnusedRuleError
from .services import UNSERVED_BASE_URL, Services
from .store import Store
from .tokens import TokenService
from .tokens.claims import RFC9068, ClaimsPolicy
from .trust import TrustedIssuer
from .users import User

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    import httpx
    import requests

    from .resource import ValidationOptions
    from .scenarios.easy import FailSpec
    from .server import LiveServer
    from .snapshot import Snapshot
    from .tokens.mint import AccessTokenOptions, IdTokenOptions

__all__ = ["Interceptor", "Provider"]


class Provider:
    """A programmable OAuth 2.0 / OpenID Connect provider for tests.

    ``Provider()`` needs no configuration: one issuer, keys generated once per
    process, seed 0. Pass a :class:`~mockauth.config.ProviderConfig` and/or
    keyword overrides of its fields (``Provider(seed=3)``); ``clock`` drives
    expiry, ``claims`` shapes the tokens (:mod:`mockauth.tokens.claims`).
    """

    def __init__(
        self, config: ProviderConfig | None = None, /, *, clock: ClockLike | None = None,
        claims: ClaimsPolicy = RFC9068, **overrides: Any,
    ) -> None:  # fmt: skip
        config = config or ProviderConfig()
        if overrides:
            config = config.updated(**overrides)
        self.services = Services(config, clock=clock, claims=claims)
        self._rules = RuleSet()
        self.pipeline = Pipeline(self.services, Journal(), self._rules)
        for client in config.clients:
            self.add_client(client)
        for user in config.users:
            self.add_user(user)
        for _ in range(config.fake_users):
            self.add_user()

    # --- what the services hold ---------------------------------------------
    @property
    def config(self) -> ProviderConfig:
        return self.services.config

    @property
    def clock(self) -> Any:
        """The provider clock (``now()``, ``advance()``, ``freeze()`` ...)."""
        return self.services.clock

    @property
    def keys(self) -> KeySet:
        """The signing keys (``active()``, ``rotate()``, ``retire(kid)``, ``jwks()``)."""
        return self.services.keys

    @property
    def store(self) -> Store:
        """Codes, tokens and sessions."""
        return self.services.store

    @property
    def tokens(self) -> TokenService:
        """Minting and verifying this issuer's tokens."""
        return self.services.tokens

    @property
    def journal(self) -> Journal:
        """Where every request is recorded (``calls`` reads it)."""
        return self.pipeline.journal

    @journal.setter
    def journal(self, journal: Journal) -> None:
        self.pipeline.journal = journal

    @property
    def rng(self) -> random.Random:
        """The seeded random source for generated ids and secrets."""
        return self.services.rng()

    @property
    def session_cookie(self) -> str:
        return self.services.session_cookie

    @property
    def cookie_path(self) -> str:
        return self.services.cookie_path

    # --- identity -----------------------------------------------------------
    @property
    def issuer(self) -> str:
        """The issuer URL exactly as in metadata and every token's ``iss``."""
        return self.services.issuer

    @property
    def issuer_id(self) -> str:
        """The path the issuer is served under (one or more segments: ``realms/test``)."""
        return self.config.issuer_id

    @property
    def base_url(self) -> str:
        """Scheme, host and port the provider is reached at (``http://mockauth.test`` unserved)."""
        return self.services.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.services.base_url = url.rstrip("/")

    def endpoint(self, name: str) -> str:
        """The URL of an endpoint by name: ``authorize``, ``token``, ``userinfo``,
        ``jwks``, ``introspect``, ``revoke``, ``end_session``, ``discovery`` ...
        """
        return self.services.url_for(name)

    def metadata(self) -> dict[str, Any]:
        """Discovery metadata (OIDC Discovery §3, RFC 8414 §2); it matches behaviour."""
        return build_metadata(self.services)

    def id_token_algs(self) -> list[str]:
        """ID-token algorithms in use (the provider's, RS256, the clients')."""
        return self.services.id_token_algs()

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set published at ``jwks_uri`` (RFC 7517 §5)."""
        return self.services.jwks()

    def rotate_keys(self, alg: str | None = None) -> SigningKey:
        """Sign new tokens with a new key; the old one stays published (OIDC Core §10.1.1)."""
        return self.services.keys.rotate(alg)

    # --- scenarios ----------------------------------------------------------
    def fail(self, endpoint: str | None = None, **spec: Unpack[FailSpec]) -> Rule:
        """Script a failure in one line; returns the :class:`~mockauth.scenarios.Rule`.

        ``fail("token", error="invalid_grant", times=2)``, ``fail("token",
        status=503, times=2)``, ``fail("jwks", delay=2.0)``, ``fail("token",
        token="expired")``, ``fail("userinfo", drop=True)``, ``fail("token",
        sequence=[503, 503, "real"])``; see :func:`mockauth.scenarios.easy.rule_for`.
        """
        from .scenarios.easy import rule_for  # faults load with the first rule

        return self.add_rule(rule_for(endpoint, **spec))

    def add_rule(self, rule: Rule) -> Rule:
        """Add a scenario rule; rules are tried in the order they were added."""
        return self._rules.add(rule)

    def remove_rule(self, rule: Rule | int) -> None:
        """Remove a rule (or the rule with that id)."""
        self._rules.remove(rule)

    def clear_rules(self) -> None:
        """Remove every scenario rule."""
        self._rules.clear()

    @property
    def rules(self) -> list[Rule]:
        """The scenario rules, in the order they are tried."""
        return self._rules.all()

    def check_rules(self) -> None:
        """Raise :class:`~mockauth.scenarios.UnusedRuleError` for strict rules that
        were not used as expected, listing the requests that came close.
        """
        unmet = self._rules.unmet()
        if unmet:
            calls = self.calls
            parts = [f"{r.describe()}: {why}.\n{calls.near_misses(r.match)}" for r, why in unmet]
            raise UnusedRuleError("scenario rules were not used as expected:\n" + "\n".join(parts))

    @property
    def calls(self) -> Calls:
        """Every request the provider received (secrets redacted), oldest first."""
        return self.journal.snapshot()

    def clear_calls(self) -> None:
        """Forget the journal."""
        self.journal.clear()

    # --- trusted issuers -----------------------------------------------------
    def trust_issuer(self, issuer: str | Provider, /, **fields: Any) -> TrustedIssuer:
        """Accept JWTs of ``issuer`` as JWT bearer assertions (RFC 7523 §2.1) and
        token exchange subject or actor tokens (RFC 8693 §2.1).

        Keyword arguments are the fields of
        :class:`~mockauth.config.TrustedIssuerConfig` (``jwks=`` or ``jwks_uri=``,
        ``subjects=``, ``audiences=`` ...). Another :class:`Provider` may stand for
        the issuer: its JWKS URL is used when it is served, else its keys as
        they are now.
        """
        if isinstance(issuer, Provider):
            other = issuer
            issuer = other.issuer
            if "jwks" not in fields and "jwks_uri" not in fields:
                if other.base_url != UNSERVED_BASE_URL:
                    fields["jwks_uri"] = other.endpoint("jwks")
                else:
                    fields["jwks"] = other.jwks()
        return self.services.trusted.add(issuer=issuer, **fields)

    def untrust_issuer(self, issuer: str) -> None:
        """Stop accepting JWTs of ``issuer``."""
        self.services.trusted.remove(issuer)

    @property
    def trusted_issuers(self) -> list[TrustedIssuer]:
        """The issuers whose JWTs this provider accepts."""
        return list(self.services.trusted)

    # --- client ID metadata documents ---------------------------------------
    def add_client_metadata_document(self, document: Mapping[str, Any]) -> Client:
        """Serve a client ID metadata document without a network: the client whose
        ``client_id`` is the document's URL (its ``client_id``). A document that
        would be refused is a :class:`~mockauth.errors.ConfigError` naming the field.
        """
        return self.services.documents.add(document)

    def remove_client_metadata_document(self, url: str) -> None:
        """Forget a registered document (a fetchable URL is fetched again)."""
        try:
            self.services.documents.remove(url)
        except KeyError:
            raise UnknownClientError(f"no client metadata document {url!r}") from None

    @property
    def client_metadata_documents(self) -> dict[str, dict[str, Any]]:
        """The registered documents, by URL."""
        return self.services.documents.registered()

    # --- mock protected resources (RFC 9728) --------------------------------
    def add_resource(
        self, path: str | ResourceConfig, /, *, replace: bool = False, **fields: Any
    ) -> ProtectedResource:
        """Serve a mock protected resource guarded by this issuer at ``path`` of
        the server root (``"/mcp"``), its metadata at
        ``/.well-known/oauth-protected-resource<path>``; ``fields`` are
        :class:`~mockauth.config.ResourceConfig`'s (``scopes=``, ``dpop_required=``,
        ...). A bad field is a :class:`~mockauth.errors.ConfigError` naming it.
        """
        if isinstance(path, ResourceConfig):
            if fields:
                raise TypeError("add_resource(): pass a ResourceConfig or fields, not both")
            config = path
        else:
            config = parse(ResourceConfig, {"path": path, **fields})
        return self.services.resources.add(config, replace=replace)

    def remove_resource(self, path: str) -> None:
        """Stop serving the resource at ``path``
        (:class:`~mockauth.errors.UnknownResourceError` if none is there).
        """
        self.services.resources.remove(path)

    def resource(self, path: str) -> ProtectedResource:
        """The resource served at ``path``
        (:class:`~mockauth.errors.UnknownResourceError` if none is there).
        """
        found = self.services.resources.get(path)
        if found is None:
            raise UnknownResourceError(f"no resource at {path!r}")
        return found

    @property
    def resources(self) -> list[ProtectedResource]:
        """The mock protected resources this issuer guards."""
        return list(self.services.resources)

    # --- clients ------------------------------------------------------------
    def add_client(self, config: ClientConfig | None = None, /, **fields: Any) -> Client:
        """Register a client; ``client_id`` / ``client_secret`` are generated if left out.

        Keyword arguments are the fields of :class:`~mockauth.config.ClientConfig`
        (RFC 7591 §2 names: ``redirect_uris=[...]``, ``grant_types=[...]``,
        ``token_endpoint_auth_method="none"`` for a public client ...).
        """
        return self.services.clients.add(config, **fields)

    def get_client(self, client_id: str) -> Client | None:
        """The client registered as ``client_id``, or ``None`` (lenient: a new one)."""
        return self.services.clients.get(client_id)

    def client(self, client_id: str) -> Client:
        """The client registered as ``client_id``; :class:`UnknownClientError` otherwise."""
        return self.services.clients.client(client_id)

    def client_secret(self, client_id: str) -> str | None:
        """The secret of a registered client (``None`` for public or unknown clients)."""
        return self.services.clients.secret(client_id)

    @property
    def clients(self) -> list[Client]:
        """Every registered client, in registration order."""
        return self.services.clients.all()

    def rotate_client_secret(self, client_id: str, new_secret: str | None = None) -> Client:
        """Give a client a new secret; the old one fails from now on."""
        return self.services.clients.rotate_secret(client_id, new_secret)

    def remove_client(self, client_id: str) -> None:
        """Unregister a client: it can no longer authenticate or start a flow."""
        self.services.clients.remove(client_id)

    def revoke_tokens(self, *, user: str | None = None, client: str | None = None) -> int:
        """Revoke every access and refresh token of a user (``sub``, username or
        email) and/or a client; returns how many were revoked.
        """
        return self.services.revoke_tokens(user=user, client=client)

    # --- users --------------------------------------------------------------
    def add_user(self, username: str | UserConfig | None = None, /, **fields: Any) -> User:
        """Register a user; anything left out is generated by Faker from the seed.

        ``add_user("alice", password="pw", email="alice@example.com")``; OIDC
        standard claims may be given directly, others via ``claims={...}``.
        """
        return self.services.users.add(username, **fields)

    def find_user(self, hint: str, *, by_sub: bool = False) -> User | None:
        """The user whose ``sub`` is ``hint``, else whose username or email is."""
        return self.services.users.find(hint, by_sub=by_sub)

    def user(self, hint: str) -> User:
        """Like :meth:`find_user`, but :class:`UnknownUserError` when nobody matches."""
        return self.services.users.get(hint)

    @property
    def users(self) -> list[User]:
        """Every registered user, in registration order."""
        return self.services.users.all()

    def default_user(self) -> User:
        """Who ``/authorize`` approves as without ``login_hint`` or session."""
        return self.services.users.default()

    def remove_user(self, sub: str) -> None:
        """Unregister a user (by ``sub``): it can no longer log in or be named in a flow."""
        self.services.users.remove(sub)

    # --- minting and forging for tests -------------------------------------
    def issue_token(self, subject: str | None = None, **options: Unpack[AccessTokenOptions]) -> str:
        """Mint an access token as the token endpoint would, without a flow
        (:func:`mockauth.tokens.mint.access_token`); the provider recognises it.
        """
        from .tokens import mint

        return mint.access_token(self.services, subject, **options)

    def issue_id_token(self, subject: str | None = None, **options: Unpack[IdTokenOptions]) -> str:
        """Mint an ID token (OIDC Core §2) for ``subject`` (default: the default user)."""
        from .tokens import mint

        return mint.id_token(self.services, subject, **options)

    def validate_token(self, token: str, **options: Unpack[ValidationOptions]) -> dict[str, Any]:
        """Check an access token as a resource server should (issued here and
        live, ``aud`` naming ``audience``, carrying ``scopes``, DPoP-bound tokens
        only with their proof in ``request``, only those with ``require_dpop``);
        its claims, or
        :class:`~mockauth.errors.InvalidToken` / :class:`~mockauth.errors.InsufficientScope`
        (:func:`mockauth.resource.validate_access_token`).
        """
        from .resource import validate_access_token

        return validate_access_token(self.services, token, **options)

    def forge(self, token: str, kind: str, *, claim: str | None = None, value: Any = None) -> str:
        """A copy of ``token`` with one thing wrong (a kind of ``faults.TOKEN_FAULTS``)."""
        from .forge import forge

        return forge(self.services, token, kind, claim=claim, value=value)

    # --- snapshots (the admin API's reset) ----------------------------------
    def snapshot(self) -> Snapshot:
        """Clients, users, rules and the clock as they are now."""
        from . import snapshot

        return snapshot.take(self.services, self._rules)

    def restore(self, state: Snapshot) -> None:
        """Back to a :meth:`snapshot`; codes, tokens, sessions and the journal emptied."""
        from . import snapshot

        snapshot.restore(self.services, self._rules, self.journal, state)

    # --- logins -------------------------------------------------------------
    def next_login(
        self, user: str | None = None, *, claims: Mapping[str, Any] | None = None
    ) -> User:
        """Complete the next ``/authorize`` at once as ``user`` (a sub, username or
        email; the default user without one), with ``claims`` added to the user's
        in its ID token and userinfo, as if they had signed in on the login page.
        Calls queue up, used in order. An unknown user is an
        :class:`~mockauth.errors.UnknownUserError`; claims naming what the
        provider sets (``iss``, ``sub``, ...) a :class:`~mockauth.errors.ConfigError`.
        """
        problem = check_login_claims(claims if claims is not None else {})
        if problem is not None:
            raise ConfigError("claims", problem)
        found = self.services.users.default() if user is None else self.services.users.get(user)
        self.services.store.queue_login(found.sub, dict(claims or {}))
        return found

    # --- device authorization (RFC 8628) -------------------------------------
    def approve_device(self, user_code: str, user: str | None = None) -> None:
        """Approve the device request ``user_code`` names (case and dashes do not
        matter), as ``user`` (a sub, username or email) or the default user: the
        client's next poll gets its tokens. :class:`MockauthError` for an unknown,
        expired or already decided code.
        """
        from .device import decide

        decide(self.services, user_code, self._device_user(user), approve=True)

    def deny_device(self, user_code: str) -> None:
        """Deny the device request ``user_code`` names: the client's next poll gets
        ``access_denied`` (RFC 8628 §3.5)."""
        from .device import decide

        decide(self.services, user_code, None, approve=False)

    def _device_user(self, user: str | None) -> User | None:
        return None if user is None else self.services.users.get(user)

    # --- serving ------------------------------------------------------------
    def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False, **limits: Any
    ) -> LiveServer:
        """Serve on a live loopback server (port 0: any free port); use as a context manager.

        ``tls=True`` serves https; clients trust ``server.ca_file`` (:mod:`mockauth.tls`).
        ``limits`` are :class:`~mockauth.config.Limits` keywords (``max_body_bytes=...``).
        """
        from .server import LiveServer

        return LiveServer([self], host=host, port=port, tls=tls, **limits).start()

    def add_call_listener(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener(call)`` with every finished request (the request log)."""
        self.pipeline.listeners.append(listener)

    def remove_call_listener(self, listener: Callable[[Call], None]) -> None:
        if listener in self.pipeline.listeners:
            self.pipeline.listeners.remove(listener)

    def add_interceptor(self, hook: Interceptor) -> None:
        """Let ``hook(endpoint_name, request)`` answer a request before its endpoint;
        returning ``None`` passes the request on.
        """
        self.pipeline.interceptors.append(hook)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while handling requests (each became a 500)."""
        return list(self.pipeline.errors)

    def raise_errors(self) -> None:
        """Re-raise, in the caller's thread, the first unexpected error a request hit."""
        self.pipeline.raise_errors()

    def handle(self, request: Request) -> Response:
        """Answer one request (the core's sans-I/O request and response)."""
        return self.pipeline.handle(request)

    def serves(self, path: str) -> bool:
        """Whether ``path`` (outside the issuer) is one of its protected resources."""
        return self.pipeline.serves(path)

    def not_found(self, request: Request) -> Response:
        """The 404 for a path no endpoint serves, journaled here."""
        return self.pipeline.not_found(request)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The provider as a WSGI application."""
        return wsgi_app(self.handle)(environ, start_response)

    __call__ = wsgi_app

    # --- in-process clients -------------------------------------------------
    def httpx_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` wired to this provider in-process (needs ``mockauth[httpx]``)."""
        from . import transports  # httpx and requests load only when asked for

        return transports.httpx_client(self, self.issuer, **kwargs)

    def async_httpx_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to this provider in-process."""
        from . import transports

        return transports.async_httpx_client(self, self.issuer, **kwargs)

    def requests_session(self) -> requests.Session:
        """A ``requests.Session`` whose requests to this provider stay in-process."""
        from . import transports

        return transports.requests_session(self, self.base_url)

    def __repr__(self) -> str:
        users = len(self.services.users)
        return f"<Provider {self.issuer} clients={len(self.services.clients)} users={users}>"
