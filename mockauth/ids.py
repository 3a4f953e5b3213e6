"""Identifiers that must be unique but need not be secret: ``jti``, grant ids.

Drawn from a generator seeded once from the OS, not from ``os.urandom`` per
id: each ``os.urandom`` call is a system call that releases the GIL, and under
load every release is a hand-off between the server's threads (two per token
cost more than the rest of minting it). Secrets (codes, opaque tokens,
client secrets) still come from :mod:`secrets`.
"""

from __future__ import annotations

import os
import random

__all__ = ["unique_hex"]

_source = random.Random(os.urandom(32))  # noqa: S311 - unique, not secret (see above)
# A forked child must not repeat its parent's ids.
os.register_at_fork(after_in_child=lambda: _source.seed(os.urandom(32)))


def unique_hex() -> str:
    """32 hex digits, unique for the process's life (128 random bits)."""
    return f"{_source.getrandbits(128):032x}"
