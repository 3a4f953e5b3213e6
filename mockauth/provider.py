"""``Provider``: the programmable facade and WSGI application.

A provider handles a werkzeug request and returns a response, without knowing
whether it came over a socket (:mod:`mockauth.server`) or in-process
(:mod:`mockauth.transports`).
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException

from .clients import ALL_GRANTS, PUBLIC_GRANTS, Client
from .clock import Clock, ClockLike
from .config import ClientConfig, ProviderConfig, UserConfig, parse
from .endpoints import ENDPOINTS, Endpoint
from .endpoints.authorize import RESPONSE_TYPES
from .errors import (
    InvalidRequest,
    MockauthError,
    OAuthError,
    ServerError,
    ServerThreadError,
    UnknownClientError,
    UnknownUserError,
)
from .faults import ConnectionDropped, Exchange, Fault, build
from .http import Request, Response, error_response, json_response
from .http.wsgi import wsgi_app
from .journal import Call, Calls, Journal, error_of, new_call, request_params
from .keys import KeySet, SigningKey, b64url
from .scenarios import Match, Rule, RuleSet, UnusedRuleError
from .store import Store
from .tokens import TokenService
from .users import SCOPE_CLAIMS, User

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    import httpx
    import requests

    from .server import LiveServer

__all__ = ["Interceptor", "Provider"]

#: The base URL of a provider that is not served (RFC 2606 reserves ``.test``).
UNSERVED_BASE_URL = "http://mockauth.test"

#: A hook that may answer a request instead of its endpoint (scenario rules plug in here).
Interceptor = Callable[[str, Request], Response | None]

_CORS_ALLOW_HEADERS = "Authorization, Content-Type, DPoP"
_SLUG = re.compile(r"[^a-z0-9]+")


class Provider:
    """A programmable OAuth 2.0 / OpenID Connect provider for tests.

    ``Provider()`` needs no configuration: one issuer, keys generated once per
    process, seed 0. Pass a :class:`~mockauth.config.ProviderConfig` and/or
    keyword overrides of its fields (``Provider(seed=3)``).
    """

    def __init__(
        self,
        config: ProviderConfig | None = None,
        /,
        *,
        clock: ClockLike | None = None,
        **overrides: Any,
    ) -> None:
        config = config or ProviderConfig()
        if overrides:
            config = config.updated(**overrides)
        self.config = config
        self.clock: Any = clock if clock is not None else Clock()
        self.keys = KeySet(config.tokens.signing_alg)
        self.store = Store()
        self.tokens = TokenService(
            issuer=self._issuer,
            keys=self.keys,
            clock=self.clock,
            store=self.store,
            config=config.tokens,
        )
        self.session_cookie = "mockauth_session"
        self.cookie_path = "/" + config.issuer_id
        self._base_url = UNSERVED_BASE_URL
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._users: dict[str, User] = {}
        self._rng: random.Random | None = None
        self._faker: Any = None
        self._errors: list[BaseException] = []
        self._interceptors: list[Interceptor] = []
        self._rules = RuleSet()
        self.journal = Journal()
        self._routes = _routes(config.issuer_id)
        for client in config.clients:
            self.add_client(client)
        for user in config.users:
            self.add_user(user)
        for _ in range(config.fake_users):
            self.add_user()

    # --- identity ---------------------------------------------------------
    def _issuer(self) -> str:
        return self.config.issuer or f"{self._base_url}/{self.config.issuer_id}"

    @property
    def issuer(self) -> str:
        """The issuer URL exactly as in metadata and every token's ``iss``."""
        return self._issuer()

    @property
    def issuer_id(self) -> str:
        """The path segment the issuer is served under."""
        return self.config.issuer_id

    @property
    def base_url(self) -> str:
        """Scheme, host and port the provider is reached at (``http://mockauth.test`` unserved)."""
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self._base_url = url.rstrip("/")

    def endpoint(self, name: str) -> str:
        """The URL of an endpoint by name: ``authorize``, ``token``, ``userinfo``,
        ``jwks``, ``introspect``, ``revoke``, ``end_session`` or ``discovery``.
        """
        for ep in ENDPOINTS:
            if ep.name == name:
                return self.issuer + ep.path
        raise MockauthError(f"no endpoint named {name!r}")

    def metadata(self) -> dict[str, Any]:
        """Discovery metadata (OIDC Discovery §3, RFC 8414 §2); it matches behaviour."""
        base = self.issuer
        doc: dict[str, Any] = {"issuer": base}
        for ep in ENDPOINTS:
            if ep.metadata_key:
                doc[ep.metadata_key] = base + ep.path
        claims = [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "azp",
            "at_hash",
            "c_hash",
            "sid",
        ]
        claims += [c for scope_claims in SCOPE_CLAIMS.values() for c in scope_claims]
        doc.update(
            scopes_supported=list(self.config.scopes_supported),
            response_types_supported=list(RESPONSE_TYPES),
            response_modes_supported=["query", "fragment", "form_post"],
            grant_types_supported=list(ALL_GRANTS),
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=self.id_token_algs(),
            token_endpoint_auth_methods_supported=[
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            introspection_endpoint_auth_methods_supported=[
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            revocation_endpoint_auth_methods_supported=[
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            code_challenge_methods_supported=["S256", "plain"],
            claims_supported=claims,
            claim_types_supported=["normal"],
            request_parameter_supported=False,
            request_uri_parameter_supported=False,
            authorization_response_iss_parameter_supported=True,
        )
        # OIDC Discovery §3 / RFC 8414 §2: omit a list rather than publish it empty.
        return {k: v for k, v in doc.items() if v != []}

    def id_token_algs(self) -> list[str]:
        """ID-token algorithms in use: the provider's, RS256 (OIDC Discovery §3
        requires it) and any a client registered as ``id_token_signed_response_alg``.
        """
        registered = [c.id_token_signed_response_alg for c in self._clients.values()]
        algs = [self.keys.default_alg, "RS256", *(a for a in registered if a)]
        return list(dict.fromkeys(algs))

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set published at ``jwks_uri`` (RFC 7517 §5): a key for
        every asymmetric algorithm tokens may be signed with.
        """
        for alg in self.id_token_algs():
            if alg != "HS256":
                self.keys.active(alg)
        return self.keys.jwks()

    def rotate_keys(self, alg: str | None = None) -> SigningKey:
        """Sign new tokens with a new key; the old one stays published (OIDC Core §10.1.1)."""
        return self.keys.rotate(alg)

    # --- scenarios ----------------------------------------------------------
    def fail(
        self,
        endpoint: str | None = None,
        *,
        error: str | None = None,
        status: int | None = None,
        description: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | Mapping[str, Any] | None = None,
        content_type: str | None = None,
        delay: float | None = None,
        drop: bool = False,
        token: str | None = None,
        target: str | None = None,
        claim: str | None = None,
        value: Any = None,
        times: int | None = None,
        after: int = 0,
        sequence: Iterable[Fault | int | str | Mapping[str, Any]] | None = None,
        grant_type: str | None = None,
        client_id: str | None = None,
        method: str | None = None,
        params: Mapping[str, str] | None = None,
        strict: bool | None = None,
        name: str | None = None,
        fault: Fault | None = None,
    ) -> Rule:
        """Script a failure in one line; returns the :class:`~mockauth.scenarios.Rule`.

        ``fail("token", error="invalid_grant", times=2)``, ``fail("token",
        status=503, times=2)``, ``fail("jwks", delay=2.0)``, ``fail("token",
        token="expired")``, ``fail("userinfo", drop=True)``, ``fail("token",
        sequence=[503, 503, "real"])``. Matching narrows by ``grant_type``,
        ``client_id``, ``method`` and any ``params``; without ``times`` or a
        sequence the rule applies to every match. The fault arguments are the
        keys of a scenario file's fault table (:func:`mockauth.faults.build`),
        checked the same way: an argument that does not go with the fault is
        a :class:`~mockauth.errors.ConfigError`. ``fault=`` takes a fault object
        (``faults.proxy_error()``, ``faults.rate_limited(30)``, ``JsonPatch(...)``).
        """
        match = Match(
            endpoint=endpoint, method=method, grant_type=grant_type, client_id=client_id,
            params=dict(params or {}),
        )  # fmt: skip
        given = {
            "error": error, "status": status, "description": description, "headers": headers,
            "body": body, "content_type": content_type, "delay": delay, "token": token,
            "target": target, "claim": claim, "value": value,
        }  # fmt: skip
        spec = {k: v for k, v in given.items() if v is not None}
        if drop is not False:
            spec["drop"] = drop
        if fault is not None:
            if spec or sequence is not None:
                raise MockauthError(
                    f"fail(): fault= is the whole outcome, so {[*spec, 'sequence'][0]}= "
                    "cannot go with it"
                )
            return self.add_rule(
                Rule(match, fault, times=times, after=after, strict=strict, name=name)
            )
        if sequence is not None:
            extra = [*spec, *(["times"] if times is not None else [])]
            if extra:
                raise MockauthError(
                    f"fail(): sequence= gives every outcome, so {extra[0]}= cannot go with it"
                )
            rule = Rule(match, sequence=sequence, after=after, strict=strict, name=name)
            return self.add_rule(rule)
        if not spec:
            raise MockauthError(
                "fail() needs error=, status=, token=, drop=True, delay= or sequence="
            )
        rule = Rule(match, build(spec), times=times, after=after, strict=strict, name=name)
        return self.add_rule(rule)

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
        if not unmet:
            return
        calls = self.calls
        parts = []
        for rule, why in unmet:
            parts.append(f"{rule.describe()}: {why}.\n{calls.near_misses(rule.match)}")
        raise UnusedRuleError("scenario rules were not used as expected:\n" + "\n".join(parts))

    @property
    def calls(self) -> Calls:
        """Every request the provider received (secrets redacted), oldest first."""
        return self.journal.snapshot()

    def clear_calls(self) -> None:
        """Forget the journal."""
        self.journal.clear()

    # --- seeded identities ------------------------------------------------
    @property
    def rng(self) -> random.Random:
        """The seeded random source for generated ids and secrets."""
        if self._rng is None:
            self._rng = random.Random(self.config.seed)  # noqa: S311 - deterministic on purpose
        return self._rng

    def _faker_instance(self) -> Any:
        if self._faker is None:
            from faker import Faker

            fake = Faker("en_US")
            fake.seed_instance(self.config.seed)
            self._faker = fake
        return self._faker

    # --- clients ----------------------------------------------------------
    def add_client(self, config: ClientConfig | None = None, /, **fields: Any) -> Client:
        """Register a client; ``client_id`` / ``client_secret`` are generated if left out.

        Keyword arguments are the fields of :class:`~mockauth.config.ClientConfig`
        (``redirect_uris=[...]``, ``public=True``, ``grant_types=[...]`` ...).
        """
        base = _fields(config) if config is not None else {}
        cfg = parse(ClientConfig, {**base, **fields})
        with self._lock:
            client_id = cfg.client_id or f"client-{self.rng.getrandbits(48):012x}"
            if client_id in self._clients:
                raise MockauthError(f"client {client_id!r} is already registered")
            secret = None if cfg.public else (cfg.client_secret or b64url(self.rng.randbytes(32)))
            grants = cfg.grant_types or (PUBLIC_GRANTS if cfg.public else ALL_GRANTS)
            client = Client(
                client_id=client_id,
                client_secret=secret,
                public=cfg.public,
                redirect_uris=cfg.redirect_uris,
                post_logout_redirect_uris=cfg.post_logout_redirect_uris,
                grant_types=tuple(grants),
                allowed_scopes=frozenset(cfg.allowed_scopes)
                if cfg.allowed_scopes is not None
                else None,
                default_scope=cfg.default_scope,
                audience=cfg.audience,
                token_endpoint_auth_method=cfg.token_endpoint_auth_method,
                id_token_signed_response_alg=cfg.id_token_signed_response_alg,
                extra_claims=dict(cfg.extra_claims),
                name=cfg.name,
            )
            self._clients[client_id] = client
        return client

    def get_client(self, client_id: str) -> Client | None:
        """The client registered as ``client_id``, or ``None``.

        With ``lenient_clients`` an unknown id registers a client that accepts
        any secret and redirect URI.
        """
        found = self._clients.get(client_id)
        if found is None and self.config.lenient_clients and _plausible_id(client_id):
            with self._lock:
                found = self._clients.setdefault(
                    client_id, Client(client_id=client_id, client_secret=None, lenient=True)
                )
        return found

    def rotate_client_secret(self, client_id: str, new_secret: str | None = None) -> Client:
        """Give a client a new secret; the old one fails from now on (a "secret
        rotated" scenario). Returns the updated client.
        """
        with self._lock:
            client = self.client(client_id)
            if client.public:
                raise MockauthError(f"client {client_id!r} is public and has no secret")
            secret = new_secret or b64url(self.rng.randbytes(32))
            updated = dataclasses.replace(client, client_secret=secret)
            self._clients[client_id] = updated
        return updated

    def revoke_tokens(self, *, user: str | None = None, client: str | None = None) -> int:
        """Revoke every access and refresh token of a user (``sub``) and/or a client.

        Returns how many tokens were revoked.
        """
        if user is None and client is None:
            raise MockauthError("revoke_tokens() needs user= or client=")
        return self.store.revoke_matching(
            lambda sub, client_id: (
                (user is None or sub == user) and (client is None or client_id == client)
            ),
            self.clock.now(),
        )

    def client_secret(self, client_id: str) -> str | None:
        """The secret of a registered client (``None`` for public or unknown clients)."""
        client = self._clients.get(client_id)
        return client.client_secret if client is not None else None

    def client(self, client_id: str) -> Client:
        """The client registered as ``client_id``; :class:`UnknownClientError` otherwise."""
        found = self._clients.get(client_id)
        if found is None:
            raise UnknownClientError(f"no client {client_id!r}; registered: {list(self._clients)}")
        return found

    @property
    def clients(self) -> list[Client]:
        """Every registered client, in registration order."""
        return list(self._clients.values())

    def remove_client(self, client_id: str) -> None:
        """Unregister a client: it can no longer authenticate or start a flow."""
        with self._lock:
            if self._clients.pop(client_id, None) is None:
                raise UnknownClientError(f"no client {client_id!r}")

    def remove_user(self, sub: str) -> None:
        """Unregister a user (by ``sub``): it can no longer log in or be named in a flow."""
        with self._lock:
            if self._users.pop(sub, None) is None:
                raise UnknownUserError(f"no user {sub!r}")

    # --- users ------------------------------------------------------------
    def add_user(self, username: str | UserConfig | None = None, /, **fields: Any) -> User:
        """Register a user; anything left out is generated by Faker from the seed.

        ``add_user("alice", password="pw", email="alice@example.com")``; OIDC
        standard claims may be given directly, others via ``claims={...}``.
        """
        if isinstance(username, UserConfig):
            data = {**_fields(username), **fields}
        else:
            data = {**fields, **({"username": username} if username is not None else {})}
        cfg = parse(UserConfig, data)
        with self._lock:
            if cfg.username is None:
                user = self._fake_user(cfg)
            else:
                user = User(
                    sub=cfg.sub or cfg.username,
                    username=cfg.username,
                    password=cfg.password,
                    claims=dict(cfg.claims),
                )
            clash = self._users.get(user.sub) or self.find_user(user.username)
            if clash is not None:
                raise MockauthError(
                    f"user {user.username!r} ({user.sub}) clashes with {clash.username!r}"
                )
            self._users[user.sub] = user
        return user

    def _fake_user(self, cfg: UserConfig) -> User:
        fake = self._faker_instance()
        first, last = fake.first_name(), fake.last_name()
        username = _SLUG.sub(".", f"{first}.{last}".lower()).strip(".")
        candidate, n = username, 1
        while self.find_user(candidate) is not None:
            n += 1
            candidate = f"{username}{n}"
        claims: dict[str, Any] = {
            "name": f"{first} {last}",
            "given_name": first,
            "family_name": last,
            "preferred_username": candidate,
            "email": f"{candidate}@example.com",
            "email_verified": True,
            "locale": "en-US",
        }
        claims.update(cfg.claims)
        return User(
            sub=cfg.sub or str(fake.uuid4()),
            username=candidate,
            password=cfg.password or fake.password(length=16),
            claims=claims,
        )

    def find_user(self, hint: str, *, by_sub: bool = False) -> User | None:
        """The user whose ``sub`` is ``hint``, else whose username or email is."""
        found = self._users.get(hint)
        if found is not None or by_sub:
            return found
        for user in list(self._users.values()):
            if user.matches(hint):
                return user
        return None

    def user(self, hint: str) -> User:
        """Like :meth:`find_user`, but :class:`UnknownUserError` when nobody matches."""
        found = self.find_user(hint)
        if found is None:
            raise UnknownUserError(f"no user {hint!r}")
        return found

    @property
    def users(self) -> list[User]:
        """Every registered user, in registration order."""
        return list(self._users.values())

    def default_user(self) -> User:
        """Who ``/authorize`` approves as without ``login_hint`` or session:
        ``config.default_user``, else the first user, else a generated one.
        """
        if self.config.default_user is not None:
            found = self.find_user(self.config.default_user)
            if found is None:
                raise UnknownUserError(f"default_user {self.config.default_user!r} is not a user")
            return found
        with self._lock:
            for user in self._users.values():
                return user
            return self.add_user()

    # --- minting for tests ------------------------------------------------
    def issue_token(
        self,
        subject: str | None = None,
        *,
        client_id: str | None = None,
        scope: str | Iterable[str] = "",
        audience: str | Iterable[str] | None = None,
        expires_in: int | None = None,
        claims: Mapping[str, Any] | None = None,
        opaque: bool | None = None,
        alg: str | None = None,
        kid: str | None = None,
        not_before: int | None = None,
    ) -> str:
        """Mint an access token as the token endpoint would, without a flow.

        ``expires_in`` may be negative for a token that is already expired;
        ``not_before`` (seconds from now) sets ``nbf`` for one not valid yet.
        ``alg`` picks the active key of an algorithm, ``kid`` one published key.
        ``client_id`` defaults to ``"mockauth"``, ``subject`` to the client id,
        ``audience`` to the client's registered audience, else the client id.
        The token is recorded: userinfo, introspection and revocation know it.
        """
        client_id = client_id or "mockauth"
        client = self._clients.get(client_id)
        if audience is None:
            aud: tuple[str, ...] = (client.audience if client else ()) or (client_id,)
        else:
            aud = (audience,) if isinstance(audience, str) else tuple(audience)
        scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(scope)
        sub = subject or client_id
        user = self.find_user(sub, by_sub=True)
        token, _ = self.tokens.access_token(
            client_id=client_id,
            sub=sub,
            scope=scopes,
            audience=aud,
            username=user.username if user else None,
            extra_claims=claims,
            expires_in=expires_in,
            opaque=opaque,
            alg=alg,
            kid=kid,
            not_before=not_before,
            auth_time=int(self.clock.now()) if user else None,
        )
        return token

    def issue_id_token(
        self,
        subject: str | None = None,
        *,
        client_id: str | None = None,
        nonce: str | None = None,
        access_token: str | None = None,
        expires_in: int | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Mint an ID token (OIDC Core §2) for ``subject`` (default: the default user)."""
        sub = subject or self.default_user().sub
        client_id = client_id or "mockauth"
        client = self._clients.get(client_id)
        return self.tokens.id_token(
            client_id=client_id,
            client_secret=client.client_secret if client else None,
            sub=sub,
            auth_time=int(self.clock.now()),
            nonce=nonce,
            access_token=access_token,
            claims=claims,
            expires_in=expires_in,
        )

    # --- serving ----------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> LiveServer:
        """Serve on a live loopback server (port 0: any free port); use as a context manager."""
        from .server import LiveServer

        return LiveServer([self], host=host, port=port).start()

    def add_interceptor(self, hook: Interceptor) -> None:
        """Let ``hook(endpoint_name, request)`` answer a request before its endpoint.

        Returning ``None`` passes the request on. This is where scenario rules plug in.
        """
        self._interceptors.append(hook)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while handling requests (each became a 500)."""
        return list(self._errors)

    def raise_errors(self) -> None:
        """Re-raise, in the caller's thread, the first unexpected error a request hit."""
        if self._errors:
            first = self._errors[0]
            self._errors.clear()
            raise ServerThreadError(
                "the provider failed while handling a request:\n"
                + "".join(traceback.format_exception(first))
            ) from first

    def handle(self, request: Request) -> Response:
        """Answer one request. Every failure becomes a spec-shaped response."""
        endpoint = self._routes.get(request.path)
        if endpoint is None:
            return json_response(
                {"error": "not_found", "error_description": "no such endpoint"}, 404
            )
        method = request.method
        if method == "OPTIONS":
            return _preflight(endpoint)
        if method not in endpoint.methods:
            response = json_response(
                InvalidRequest(f"use {' or '.join(endpoint.methods)}").to_dict(),
                405,
                [("Allow", ", ".join(endpoint.methods))],
            )
            self._record(endpoint.name, request, response, None)
            return _cors(response)
        rule = None
        call = None
        try:
            # No rules, no extra work: the plain path stays as fast.
            picked = self._pick(endpoint, request) if self._rules else None
            if picked is None:
                response = self._real(endpoint, request)
            else:
                rule, fault, exchange, call = picked
                call.rule = rule
                self.journal.record(call)  # at once: a delayed call is visible while it waits
                response = fault.respond(exchange)
        except ConnectionDropped:
            self._record(endpoint.name, request, None, rule, call)
            raise
        except Exception as exc:  # a fault that failed
            self._errors.append(exc)
            response = error_response(ServerError(f"{type(exc).__name__} in mockauth"))
        self._record(endpoint.name, request, response, rule, call)
        if endpoint.name != "authorize":
            _cors(response)
        return response

    def _pick(
        self, endpoint: Endpoint, request: Request
    ) -> tuple[Rule, Fault, Exchange, Call] | None:
        """The rule that scripts this request, its outcome, the exchange and the call."""
        raw = request_params(request)
        call = new_call(endpoint.name, request, raw, self.clock.now())
        picked = self._rules.pick(call, raw)
        if picked is None:
            return None
        rule, fault = picked
        exchange = Exchange(
            self, endpoint.name, request, raw, lambda: self._real(endpoint, request)
        )
        return rule, fault, exchange, call

    def _real(self, endpoint: Endpoint, request: Request) -> Response:
        """The provider's own answer; every failure becomes a spec-shaped response."""
        try:
            return self._dispatch(endpoint, request)
        except OAuthError as exc:
            return error_response(exc)
        except HTTPException as exc:
            return error_response(
                InvalidRequest(exc.description or exc.name, status_code=exc.code or 400)
            )
        except ConnectionDropped:
            raise
        except Exception as exc:
            self._errors.append(exc)
            return error_response(ServerError(f"{type(exc).__name__} in mockauth"))

    def _record(
        self,
        name: str,
        request: Request,
        response: Response | None,
        rule: Rule | None,
        call: Call | None = None,
    ) -> None:
        """Journal a request, or complete the entry a scripted request already has."""
        if call is None:
            call = new_call(name, request, None, self.clock.now())
            call.rule = rule
            self.journal.record(call)
        if response is not None:
            call.status = response.status_code
            call.error = error_of(response)

    def _dispatch(self, endpoint: Endpoint, request: Request) -> Response:
        # The one place where something other than the endpoint may answer.
        for hook in self._interceptors:
            response = hook(endpoint.name, request)
            if response is not None:
                return response
        return endpoint.handler(self, request)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The provider as a WSGI application."""
        return wsgi_app(self.handle)(environ, start_response)

    __call__ = wsgi_app

    # --- in-process clients -----------------------------------------------
    def httpx_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` wired to this provider in-process (needs ``mockauth[httpx]``)."""
        import httpx

        from .transports import HttpxTransport

        kwargs.setdefault("base_url", self.issuer)
        return httpx.Client(transport=HttpxTransport(self), **kwargs)

    def async_httpx_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to this provider in-process."""
        import httpx

        from .transports import AsyncHttpxTransport

        kwargs.setdefault("base_url", self.issuer)
        return httpx.AsyncClient(transport=AsyncHttpxTransport(self), **kwargs)

    def requests_session(self) -> requests.Session:
        """A ``requests.Session`` whose requests to this provider stay in-process."""
        import requests

        from .transports import RequestsAdapter

        session = requests.Session()
        session.mount(self.base_url + "/", RequestsAdapter(self))
        return session

    def __repr__(self) -> str:
        return f"<Provider {self.issuer} clients={len(self._clients)} users={len(self._users)}>"


def _plausible_id(client_id: str) -> bool:
    return 0 < len(client_id) <= 200 and client_id.isprintable()


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


_ROUTES: dict[str, dict[str, Endpoint]] = {}


def _routes(issuer_id: str) -> dict[str, Endpoint]:
    """Path -> endpoint for one issuer; RFC 8414 §3 also puts metadata at the root."""
    routes = _ROUTES.get(issuer_id)
    if routes is None:
        prefix = "/" + issuer_id
        routes = {prefix + ep.path: ep for ep in ENDPOINTS}
        discovery = next(ep for ep in ENDPOINTS if ep.name == "discovery")
        routes["/.well-known/oauth-authorization-server" + prefix] = discovery
        _ROUTES[issuer_id] = routes
    return routes


def _cors(response: Response) -> Response:
    # Browser-based clients (SPAs under test) call these endpoints cross-origin.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _preflight(endpoint: Endpoint) -> Response:
    response = Response("", status=204)
    response.headers["Allow"] = ", ".join((*endpoint.methods, "OPTIONS"))
    response.headers["Access-Control-Allow-Methods"] = ", ".join(endpoint.methods)
    response.headers["Access-Control-Allow-Headers"] = _CORS_ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return _cors(response)
