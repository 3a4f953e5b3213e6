"""Endpoints: the :class:`Endpoint` spec and its registry.

One module per endpoint registers one spec: its name (what the journal and
scenario rules call it), its route under the issuer, its methods, its
metadata key, whether it authenticates clients, how it shows errors, whether
browsers may call it cross-origin and, for discovery documents, the
well-known name it also answers at the server root (RFC 8414 §3). Routing,
discovery metadata, CORS, the journal's names and the admin API's OpenAPI
document are all read off this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import ErrorStyle, OAuthError
from ..registry import ENDPOINTS

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..services import Services

__all__ = ["ENDPOINTS", "Endpoint", "Handler", "endpoint_for", "register_endpoint"]

Handler = Callable[["Services", "Request"], "Response"]
#: How an endpoint sends one of its errors back to the client (the authorization endpoint).
Redirector = Callable[["Services", "Request", OAuthError], "Response"]
#: Auth-params every ``WWW-Authenticate`` challenge of an endpoint carries.
ChallengeParams = Callable[["Services", "Request"], Mapping[str, str]]

#: The error codes every endpoint may answer with.
COMMON_ERRORS = frozenset({"invalid_request", "server_error", "temporarily_unavailable"})


@dataclass(frozen=True)
class Endpoint:
    """An endpoint of an issuer.

    ``route`` is the path below the issuer (``/token``); ``aliases`` are further
    paths that serve the same endpoint. ``root_well_known`` is a well-known
    name (``oauth-authorization-server``) this endpoint also answers at
    ``/.well-known/<name><issuer path>`` (RFC 8414 §3.1). ``error_codes`` are
    the OAuth error codes it may answer with (scenario rules are checked
    against them).

    ``mount="resource"``: not under the issuer but at the paths of the
    provider's mock protected resources (:mod:`mockauth.resources`);
    ``challenge`` adds auth-params to every challenge it answers with, scripted
    ones included (``resource_metadata``, RFC 9728 §5.1).
    """

    name: str
    route: str
    methods: tuple[str, ...]
    handler: Handler
    metadata_key: str | None = None
    client_auth: Literal["required", "optional", "none"] = "none"
    errors: ErrorStyle = ErrorStyle.JSON
    cors: bool = True
    root_well_known: str | tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    error_codes: frozenset[str] = frozenset()
    secret_params: frozenset[str] = frozenset()
    redirect: Redirector | None = None
    page_title: str = "Request failed"
    #: Whether the issuer serves it (and lists it in metadata); ``None``: always.
    enabled: Callable[[Services], bool] | None = None
    mount: Literal["issuer", "resource"] = "issuer"
    challenge: ChallengeParams | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "error_codes", self.error_codes | COMMON_ERRORS)

    @property
    def path(self) -> str:
        """``route`` by its older name."""
        return self.route

    @property
    def routes(self) -> tuple[str, ...]:
        return (self.route, *self.aliases)

    @property
    def root_names(self) -> tuple[str, ...]:
        """The well-known names served at the server root (``root_well_known``)."""
        names = self.root_well_known
        return (names,) if isinstance(names, str) else tuple(names or ())

    def served_by(self, s: Services) -> bool:
        """Whether ``s``'s issuer serves this endpoint."""
        return self.enabled is None or self.enabled(s)


def register_endpoint(endpoint: Endpoint, *, replace: bool = False) -> Endpoint:
    """Serve ``endpoint`` under every issuer (and everything derived from it)."""
    if not isinstance(endpoint, Endpoint):
        raise TypeError(f"expected an Endpoint, got {endpoint!r}")
    taken = {r: e.name for e in endpoints() if e.name != endpoint.name for r in e.routes}
    for route in endpoint.routes:
        if not route.startswith("/"):
            raise ValueError(f"endpoint {endpoint.name!r}: route {route!r} must start with '/'")
        if route in taken:
            raise ValueError(
                f"endpoint {endpoint.name!r}: {route} is the {taken[route]} endpoint's"
            )
    ENDPOINTS.register(endpoint, replace=replace)
    return endpoint


def endpoint_for(name: str) -> Endpoint | None:
    """The registered endpoint called ``name``."""
    found = ENDPOINTS.get(name)
    return found if isinstance(found, Endpoint) else None


def endpoints() -> list[Endpoint]:
    """Every registered endpoint, in registration order."""
    return [e for e in ENDPOINTS if isinstance(e, Endpoint)]
