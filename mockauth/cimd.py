"""Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document,
as the MCP authorization spec uses them from 2025-11-25 on): a client whose
``client_id`` is an https URL, described by the JSON document at that URL.

A document is taken from those registered in Python or over the admin API
(no network), else fetched: from a loopback host or one of the configured
``metadata_document_hosts`` only, with no redirects followed, ``200`` only,
size and time limits, and cached (:mod:`mockauth.fetch`). It must be a JSON
object whose ``client_id`` is the URL, byte for byte, with ``redirect_uris``
and no shared secret (``none`` or ``private_key_jwt``); redirect URIs then
match it exactly. Anything wrong is ``invalid_client`` saying what.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import notes
from ._check import is_loopback
from .clients import client_from
from .config import ClientConfig, RegistrationConfig, parse, registrable
from .errors import ConfigError, InvalidClient
from .fetch import FetchError, fetchable
from .keyed import Keyed

if TYPE_CHECKING:
    from .clients import Client
    from .fetch import Fetcher

__all__ = ["MetadataDocuments", "check_url"]

#: Methods a document may name: none rely on a secret shared with the server.
_METHODS = ("none", "private_key_jwt")
#: RFC 7591 §2's defaults, but ``none``: a document cannot carry a secret.
_DEFAULTS = {"grant_types": ["authorization_code"], "response_types": ["code"],
             "token_endpoint_auth_method": "none"}  # fmt: skip


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a client id (the draft's §3), or ``None``."""
    if any(c <= " " or c == "\x7f" for c in url) or len(url) > 2048:
        return "is not a URL (spaces, control characters or over 2048 characters)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
        return "must be an https URL (http only on a loopback host)"
    if not parts.path or parts.path == "/":
        return "must have a path"
    if parts.fragment or "#" in url:
        return "must not have a fragment"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password"
    if any(seg in (".", "..") for seg in parts.path.split("/")):
        return "must not hold . or .. path segments"
    return None


class MetadataDocuments(Keyed[dict[str, Any]]):
    """The client ID metadata documents of one provider: registered ones (by
    URL), and the fetched ones (through the provider's fetcher and its cache).
    """

    def __init__(self, settings: Callable[[], RegistrationConfig], fetcher: Fetcher) -> None:
        super().__init__()
        self._settings = settings
        self._fetcher = fetcher

    def add(self, document: Mapping[str, Any]) -> Client:
        """Register a document (its ``client_id`` is its URL); the client it describes."""
        doc = dict(document)
        url = doc.get("client_id")
        if not isinstance(url, str):
            raise ConfigError("client_id", "a client ID metadata document names its URL")
        problem = check_url(url)
        if problem is not None:
            raise ConfigError("client_id", f"{url!r} {problem}")
        client = self._client(url, doc, ConfigError)
        self._put(url, doc, replace=True)
        return client

    def remove(self, url: str) -> None:
        if not self._drop(url):
            raise KeyError(url)

    def registered(self) -> dict[str, dict[str, Any]]:
        return dict(self._items)

    def resolve(self, url: str) -> Client | None:
        """The client ``url`` names; ``None`` when documents are switched off."""
        if not self._settings().metadata_documents:
            return None
        problem = check_url(url)
        if problem is not None:
            raise InvalidClient(f"client_id {url[:200]!r} {problem}", redirect=False)
        doc = self._items.get(url)
        if doc is None:
            doc = self._fetch(url)
        return self._client(url, doc, InvalidClient)

    def _fetch(self, url: str) -> dict[str, Any]:
        if not fetchable(url, self._settings().metadata_document_hosts):
            raise InvalidClient(
                f"client_id {url[:200]!r}: documents are fetched from loopback hosts and "
                "registration.metadata_document_hosts only",
                redirect=False,
            )
        fetched = self._fetcher.fetches.get(url, 0)
        try:
            document = self._fetcher.json(url)
        except FetchError as exc:
            raise InvalidClient(f"client ID metadata document: {exc}", redirect=False) from None
        if self._fetcher.fetches.get(url, 0) != fetched:  # from the network, not the cache
            notes.event("client_metadata_document_read", client_id=url)
        return document

    def _client(self, url: str, doc: Mapping[str, Any], error: type[Exception]) -> Client:
        def refuse(key: str, message: str) -> Exception:
            if error is ConfigError:
                return ConfigError(key, message)
            return InvalidClient(f"client ID metadata document: {key}: {message}", redirect=False)

        if doc.get("client_id") != url:
            raise refuse("client_id", f"must be the document's URL, {url!r}")
        for name in ("client_secret", "client_secret_expires_at"):
            if name in doc:
                raise refuse(name, "a metadata document holds no shared secret")
        method = doc.get("token_endpoint_auth_method", "none")
        if method not in _METHODS:
            raise refuse("token_endpoint_auth_method", f"must be one of {', '.join(_METHODS)}")
        if not isinstance(doc.get("redirect_uris"), list) or not doc["redirect_uris"]:
            raise refuse("redirect_uris", "a non-empty list is required")
        data = registrable(doc, _DEFAULTS)
        try:
            cfg = parse(ClientConfig, data)
        except ConfigError as exc:
            raise refuse(exc.key, exc.message) from None
        return client_from(cfg, url, None)
