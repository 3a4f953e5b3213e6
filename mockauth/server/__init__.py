"""Serving providers: the dispatcher (transport-free), the HTTP/1.1 engine and
:class:`LiveServer`, the server the fixture, ``provider.serve()`` and
``mockauth serve`` run.

- :mod:`.dispatcher`: issuers mounted by path, root well-knowns, root apps.
- :mod:`.http11`: h11 framing, event-loop workers, the limits of
  :class:`~mockauth.config.Limits`.
- :mod:`.live`: :class:`LiveServer`, its socket, TLS and lifecycle.
"""

from __future__ import annotations

from ..config import Limits
from .dispatcher import ROOT_APPS, Dispatcher, Mountable, RootApp, redacted_target, root_well_knowns
from .http11 import MAX_CONNECTIONS, MAX_HEADER_BYTES
from .live import LiveServer

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_HEADER_BYTES",
    "ROOT_APPS",
    "Dispatcher",
    "Limits",
    "LiveServer",
    "Mountable",
    "RootApp",
    "redacted_target",
    "root_well_knowns",
]
