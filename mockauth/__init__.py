"""mockauth: a strict, programmable OAuth 2.0 / OpenID Connect provider for tests.

>>> from mockauth import Provider
>>> provider = Provider()
>>> client = provider.add_client(redirect_uris=["http://127.0.0.1:5000/cb"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import admin as _admin  # noqa: F401 - registers the admin API with the server
from . import builtin as _builtin  # noqa: F401 - registers the built-in capabilities
from .clients import Client as Client
from .clock import Clock as Clock
from .config import ClientConfig as ClientConfig
from .config import ProviderConfig as ProviderConfig
from .config import ResourceConfig as ResourceConfig
from .config import ServerConfig as ServerConfig
from .config import TokenConfig as TokenConfig
from .config import TrustedIssuerConfig as TrustedIssuerConfig
from .config import UserConfig as UserConfig
from .config import load_config as load_config
from .errors import ConfigError as ConfigError
from .errors import MockauthError as MockauthError
from .errors import OAuthError as OAuthError
from .errors import ServerThreadError as ServerThreadError
from .errors import UnknownClientError as UnknownClientError
from .errors import UnknownUserError as UnknownUserError
from .journal import Call as Call
from .journal import Calls as Calls
from .journal import JournalAssertionError as JournalAssertionError
from .keys import SigningKey as SigningKey
from .provider import Provider as Provider
from .resources import ProtectedResource as ProtectedResource
from .scenarios.match import Match as Match
from .scenarios.rules import Rule as Rule
from .scenarios.rules import UnusedRuleError as UnusedRuleError
from .server import LiveServer as LiveServer
from .users import User as User

if TYPE_CHECKING:
    from .scenarios.files import Scenario as Scenario
    from .scenarios.files import load_scenario as load_scenario

__version__ = "0.1.0"

__all__ = [
    "Call",
    "Calls",
    "Client",
    "ClientConfig",
    "Clock",
    "ConfigError",
    "JournalAssertionError",
    "LiveServer",
    "Match",
    "MockauthError",
    "OAuthError",
    "ProtectedResource",
    "Provider",
    "ProviderConfig",
    "ResourceConfig",
    "Rule",
    "Scenario",
    "ServerConfig",
    "ServerThreadError",
    "SigningKey",
    "TokenConfig",
    "TrustedIssuerConfig",
    "UnknownClientError",
    "UnknownUserError",
    "UnusedRuleError",
    "User",
    "load_config",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    # Scenario files load on first use: `mockauth serve` without one starts faster.
    if name in ("Scenario", "load_scenario"):
        from .scenarios import files

        return getattr(files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
