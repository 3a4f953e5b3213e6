"""Tokens: minting and verifying (:mod:`.service`), the claims policy
(:mod:`.claims`), the token response (:mod:`.response`), sender constraints
(:mod:`.binding`) and minting for tests (:mod:`.mint`).
"""

from __future__ import annotations

from .service import TokenService, half_hash, new_secret

__all__ = ["TokenService", "half_hash", "new_secret"]
