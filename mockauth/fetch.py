"""Fetching JSON documents the provider needs from elsewhere: a client's
``jwks_uri`` (RFC 7591 §2), a trusted issuer's JWKS.

Each fetch is bounded the way a real authorization server bounds it: a short
timeout, a size limit, ``200`` only and no redirects followed (a redirect is
an answer to report, not a place to go). Documents are cached on the provider
clock for as long as their ``Cache-Control`` says (``max-age``, at most a day;
``no-store`` or ``no-cache``: not reused; no header: five minutes), failures
never; a caller that misses a key asks again with ``refresh=True`` (a key
rotation at the other end), which always goes to the network.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ._check import is_loopback
from .errors import MockauthError

__all__ = [
    "CACHE_TTL", "MAX_BYTES", "TIMEOUT", "FetchError", "Fetcher", "cache_ttl", "fetchable",
]  # fmt: skip

#: Seconds a fetch may take, connecting and reading.
TIMEOUT = 2.0
#: The largest document accepted (bytes).
MAX_BYTES = 256 * 1024
#: Seconds (on the provider clock) a fetched document is reused when its answer
#: says nothing (no ``Cache-Control``), and the most a ``max-age`` may ask for.
CACHE_TTL = 300.0
MAX_CACHE_TTL = 86400.0

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.I)
_NO_REUSE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:=|,|$)", re.I)


def cache_ttl(cache_control: str | None, default: float) -> float:
    """Seconds a document may be reused, by its ``Cache-Control`` (RFC 9111 §5.2.2):
    0 for ``no-store`` or ``no-cache``; ``max-age`` (at most a day); else ``default``.
    """
    if not cache_control:
        return default
    if _NO_REUSE.search(cache_control):
        return 0.0
    found = _MAX_AGE.search(cache_control)
    return min(float(found.group(1)), MAX_CACHE_TTL) if found else default


def fetchable(url: str, hosts: Sequence[str]) -> bool:
    """Whether the provider may fetch ``url`` for a client: from a loopback host,
    or one of ``hosts`` (``"*"``: any), never elsewhere on a stranger's say-so.
    """
    host = urlsplit(url).hostname or ""
    return is_loopback(host) or host in hosts or "*" in hosts


class FetchError(MockauthError):
    """A document could not be fetched; the message says why (for an error description)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError


class Fetcher:
    """Fetches and caches JSON documents by URL for one provider."""

    def __init__(
        self,
        now: Callable[[], float],
        *,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
        ttl: float = CACHE_TTL,
    ) -> None:
        self._now = now
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._lock = threading.Lock()
        #: URL -> (fetched at, seconds it may be reused, the document).
        self._cache: dict[str, tuple[float, float, dict[str, Any]]] = {}
        #: How many times each URL went to the network (tests read it).
        self.fetches: dict[str, int] = {}
        self._opener: urllib.request.OpenerDirector | None = None

    def json(self, url: str, *, refresh: bool = False) -> dict[str, Any]:
        """The JSON object at ``url``, from the cache unless stale or ``refresh``."""
        now = self._now()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and not refresh and now - cached[0] < cached[1]:
            return cached[2]
        document, ttl = self._fetch(url)
        with self._lock:
            if ttl > 0:
                self._cache[url] = (now, ttl, document)
                if len(self._cache) > 1024:  # bounded: drop the oldest
                    del self._cache[next(iter(self._cache))]
            else:
                self._cache.pop(url, None)
        return document

    def forget(self, url: str | None = None) -> None:
        """Drop one cached document, or all of them."""
        with self._lock:
            if url is None:
                self._cache.clear()
            else:
                self._cache.pop(url, None)

    def _fetch(self, url: str) -> tuple[dict[str, Any], float]:
        if not url.startswith(("http://", "https://")):
            raise FetchError(f"{url[:80]!r} is not an http or https URL")
        with self._lock:
            self.fetches[url] = self.fetches.get(url, 0) + 1
            if self._opener is None:  # once: the TLS context reads the CA store
                https = urllib.request.HTTPSHandler(context=ssl.create_default_context())
                self._opener = urllib.request.build_opener(_NoRedirects(), https)
            opener = self._opener
        try:
            # The scheme is checked above: no file: or custom schemes reach urllib.
            request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
            with opener.open(request, timeout=self.timeout) as answer:
                status = answer.status
                ttl = cache_ttl(answer.headers.get("Cache-Control"), self.ttl)
                body = answer.read(self.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            hint = " (redirects are not followed)" if 300 <= exc.code < 400 else ""
            raise FetchError(f"{url} answered {exc.code}{hint}") from None
        except TimeoutError:
            raise FetchError(f"{url} did not answer within {self.timeout:g} s") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"{url} could not be fetched: {reason}") from None
        if status != 200:
            raise FetchError(f"{url} answered {status}, not 200")
        if len(body) > self.max_bytes:
            raise FetchError(f"{url} answered more than {self.max_bytes} bytes")
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise FetchError(f"{url} did not answer JSON") from None
        if not isinstance(document, dict):
            raise FetchError(f"{url} did not answer a JSON object")
        return document, ttl
