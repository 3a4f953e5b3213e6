"""The mock protected resources a provider serves beside itself (RFC 9728), for
testing the clients that call them: an MCP client, an app calling an API.

A resource lives at a path of the server root (``/mcp``); its protected
resource metadata at ``/.well-known/oauth-protected-resource`` plus that path
(§3.1) names the provider as its authorization server. What a request to it
must carry is checked by :func:`mockauth.resource.validate_access_token`
(:mod:`mockauth.endpoints.resource` serves both).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from .config import ASYMMETRIC_ALGS, ResourceConfig
from .errors import ConfigError, UnknownResourceError
from .keyed import Keyed

__all__ = ["METADATA_PREFIX", "ProtectedResource", "Resources"]

#: Where a resource's metadata lives: this, then the resource's path (RFC 9728 §3.1).
METADATA_PREFIX = "/.well-known/oauth-protected-resource"


class ProtectedResource:
    """A mock protected resource: its config, and its URLs on the server it is
    served by (they follow the server's base URL, so read them once it is served).
    """

    def __init__(self, config: ResourceConfig, base_url: Callable[[], str]) -> None:
        self.config = config
        self._base_url = base_url

    @property
    def path(self) -> str:
        return self.config.path

    @property
    def _suffix(self) -> str:
        # The server itself is identified by its origin alone (RFC 9728 §3.1's example).
        return "" if self.config.path == "/" else self.config.path

    @property
    def url(self) -> str:
        """The resource identifier (RFC 9728 §1.2), and what clients send as ``resource``."""
        return self._base_url() + self._suffix

    @property
    def metadata_url(self) -> str:
        """Its protected resource metadata (RFC 9728 §3.1: the well-known path inserted)."""
        return self._base_url() + METADATA_PREFIX + self._suffix

    @property
    def audiences(self) -> tuple[str, ...]:
        """The ``aud`` values it accepts: the configured ones, else its URL (with or
        without a trailing slash, a difference real clients make, RFC 8707 §2).
        """
        return self.config.audience or (self.url, self.url + "/")

    def metadata(self, issuer: str) -> dict[str, Any]:
        """The RFC 9728 §2 document, naming ``issuer`` as its authorization server."""
        config = self.config
        doc: dict[str, Any] = {
            "resource": self.url,
            "authorization_servers": [issuer],
            "bearer_methods_supported": ["header", "body"],
            "dpop_signing_alg_values_supported": list(ASYMMETRIC_ALGS),
        }
        scopes = config.scopes if config.scopes_supported is None else config.scopes_supported
        if scopes:
            doc["scopes_supported"] = list(scopes)
        if config.resource_name:
            doc["resource_name"] = config.resource_name
        if config.dpop_required:
            doc["dpop_bound_access_tokens_required"] = True
        return doc

    def to_dict(self) -> dict[str, Any]:
        """The config fields and URLs (the admin API's view)."""
        return {
            **dataclasses.asdict(self.config),
            "url": self.url,
            "metadata_url": self.metadata_url,
        }

    def __repr__(self) -> str:
        return f"<ProtectedResource {self.config.path}>"


class Resources(Keyed[ProtectedResource]):
    """The protected resources of one provider, by path."""

    def __init__(self, configs: Iterable[ResourceConfig], base_url: Callable[[], str]) -> None:
        super().__init__()
        self._base_url = base_url
        for config in configs:
            self.add(config)

    def add(self, config: ResourceConfig, *, replace: bool = False) -> ProtectedResource:
        """Serve a resource; one already at its path is a :class:`ConfigError`
        unless ``replace``.
        """
        if not isinstance(config, ResourceConfig):
            raise TypeError(f"expected a ResourceConfig, got {config!r}")
        resource = ProtectedResource(config, self._base_url)
        if not self._put(config.path, resource, replace=replace):
            raise ConfigError("path", f"a resource is already served at {config.path}")
        return resource

    def remove(self, path: str) -> None:
        """Stop serving the resource at ``path`` (:class:`UnknownResourceError` if none)."""
        if not self._drop(path):
            raise UnknownResourceError(f"no resource at {path!r}")

    def get(self, path: str) -> ProtectedResource | None:
        return self._items.get(path)

    def match(self, path: str) -> tuple[str, ProtectedResource] | None:
        """What ``path`` is: ``("resource_metadata", r)`` for a resource's metadata,
        ``("resource", r)`` for the resource or anything below it; else ``None``.
        """
        items = self._items
        if not items:
            return None
        if path == METADATA_PREFIX or path.startswith(METADATA_PREFIX + "/"):
            found = items.get(path[len(METADATA_PREFIX) :] or "/")
            return None if found is None else ("resource_metadata", found)
        if path.startswith("/.well-known/"):
            return None  # other servers' documents: a 404, whatever is at the root
        while True:
            found = items.get(path or "/")
            if found is not None:
                return "resource", found
            if not path:
                return None
            path = path.rpartition("/")[0]
