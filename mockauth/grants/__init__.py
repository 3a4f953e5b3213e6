"""Token endpoint grants (RFC 6749 §4): the :class:`Grant` base and its registry.

Each grant type is one module that registers one :class:`Grant`
(``authorization_code``, ``refresh_token``, ``client_credentials``,
``password``). Registering a grant is all it takes for it to be served at the
token endpoint, listed in ``grant_types_supported``, accepted in a client's
``grant_types`` and have its secret parameters redacted in the journal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from ..registry import GRANTS

if TYPE_CHECKING:
    from ..clients import Client
    from ..http import Params
    from ..services import Services
    from ..tokens.response import TokenResponse

__all__ = ["Grant", "grant_for", "register_grant"]


class Grant(ABC):
    """One grant type at the token endpoint."""

    #: The ``grant_type`` value (RFC 6749 §4; a URN for extension grants, §4.5).
    grant_type: ClassVar[str]
    #: Whether public clients may use it (``client_credentials`` needs a secret).
    public_clients: ClassVar[bool] = True
    #: Whether a client registered without ``grant_types`` may use it.
    by_default: ClassVar[bool] = True
    #: Parameters whose values are credentials: never journaled.
    secret_params: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def redeem(self, s: Services, client: Client, params: Params) -> TokenResponse:
        """Check the grant and issue tokens; :class:`~mockauth.errors.OAuthError` if not."""

    def __repr__(self) -> str:
        return f"<Grant {self.grant_type}>"


def register_grant(grant: Grant, *, replace: bool = False) -> Grant:
    """Serve ``grant`` at the token endpoint (and everything derived from it)."""
    if not isinstance(grant, Grant):
        raise TypeError(f"expected a Grant, got {grant!r}")
    GRANTS.register(grant, replace=replace)
    return grant


def grant_for(grant_type: str) -> Grant | None:
    """The registered grant for ``grant_type``, if any."""
    found = GRANTS.get(grant_type)
    return found if isinstance(found, Grant) else None
