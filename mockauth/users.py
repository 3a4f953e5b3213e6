"""Users (resource owners) and the claims each scope releases (OIDC Core §5.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SCOPE_CLAIMS", "User", "claims_for_scopes"]

#: OIDC Core §5.4: the claims each standard scope requests.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}
_SCOPED = frozenset(c for claims in SCOPE_CLAIMS.values() for c in claims)


@dataclass(frozen=True, eq=False)
class User:
    """A resource owner. ``sub`` is the subject identifier every token carries."""

    sub: str
    username: str
    password: str | None = field(default=None, repr=False)
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        """The ``email`` claim, if the user has one."""
        value = self.claims.get("email")
        return value if isinstance(value, str) else None

    def matches(self, hint: str) -> bool:
        """Whether a ``login_hint`` or ``username`` names this user."""
        return hint in (self.sub, self.username) or (self.email is not None and hint == self.email)


def claims_for_scopes(user: User | None, sub: str, scopes: tuple[str, ...]) -> dict[str, Any]:
    """The claims about ``sub`` that ``scopes`` release (OIDC Core §5.4).

    Claims outside the standard scopes (roles, groups ...) are always released.
    """
    claims: dict[str, Any] = {"sub": sub}
    if user is None:
        return claims
    wanted = {c for scope in scopes for c in SCOPE_CLAIMS.get(scope, ())}
    for name, value in user.claims.items():
        if name in wanted or name not in _SCOPED:
            claims[name] = value
    return claims
