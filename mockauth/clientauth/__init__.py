"""Client authentication (RFC 6749 §2.3) at the endpoints that need it: the
:class:`ClientAuthMethod` base and its registry.

A request presents one method (RFC 6749 §2.3: "MUST NOT use more than one
authentication method in each request"); the first registered method that
sees its credentials in the request checks them. Registering a method is all
it takes for it to be listed in ``*_endpoint_auth_methods_supported`` (with
its ``*_signing_alg_values_supported``), accepted as a client's
``token_endpoint_auth_method`` and have its credentials redacted in the
journal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from ..errors import InvalidClient, InvalidRequest
from ..registry import AUTH_METHODS

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params, Request
    from ..services import Services

__all__ = ["ClientAuthMethod", "authenticate", "check_method", "register_method"]


class ClientAuthMethod(ABC):
    """One way for a client to authenticate (an RFC 7591 §2 ``token_endpoint_auth_method``)."""

    #: The method's registered name (``client_secret_basic``, ``private_key_jwt`` ...).
    name: ClassVar[str]
    #: Parameters that carry credentials: never journaled.
    secret_params: ClassVar[frozenset[str]] = frozenset()
    #: Algorithms for ``*_endpoint_auth_signing_alg_values_supported`` (JWT methods).
    signing_algs: ClassVar[tuple[str, ...]] = ()
    #: Whether a client registered with this method is public (RFC 7591 §2 ``none``).
    public: ClassVar[bool] = False

    @abstractmethod
    def presented(self, request: Request, params: Params) -> bool:
        """Whether the request carries this method's credentials."""

    @abstractmethod
    def authenticate(self, s: Services, request: Request, params: Params) -> Client:
        """The client the credentials prove; :class:`InvalidClient` if they don't."""

    def __repr__(self) -> str:
        return f"<ClientAuthMethod {self.name}>"


def register_method(method: ClientAuthMethod, *, replace: bool = False) -> ClientAuthMethod:
    """Accept ``method`` at every endpoint that authenticates clients."""
    if not isinstance(method, ClientAuthMethod):
        raise TypeError(f"expected a ClientAuthMethod, got {method!r}")
    AUTH_METHODS.register(method, replace=replace)
    return method


def check_method(client: Client, method: str) -> None:
    """``invalid_client`` when ``client`` is registered for another method."""
    allowed = client.auth_methods()
    if method not in allowed:
        raise InvalidClient(f"this client is registered for {allowed[0]}, not {method}")


def authenticate(s: Services, request: Request, params: Params) -> tuple[Client, str]:
    """Authenticate the calling client; returns it and the method it used.

    Failures are ``invalid_client`` (401 with a ``Basic`` challenge, RFC 6749
    §5.2); malformed or doubled credentials are ``invalid_request``.
    """
    methods = [m for m in AUTH_METHODS if isinstance(m, ClientAuthMethod)]
    presented = [m for m in methods if not m.public and m.presented(request, params)]
    if len(presented) > 1:
        raise InvalidRequest("use one client authentication method per request (RFC 6749 §2.3)")
    if not presented:  # no credentials: a public client naming itself, if anything
        presented = [m for m in methods if m.public and m.presented(request, params)][:1]
    if not presented:
        raise InvalidClient("client authentication is required")
    method = presented[0]
    return method.authenticate(s, request, params), method.name
