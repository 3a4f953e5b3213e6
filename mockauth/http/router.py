"""The one router: paths to endpoints, by exact route or route template.

A :class:`Router` maps the paths of one mount point (an issuer) to its
endpoints. Templates take ``{name}`` segments (``/register/{client_id}``);
a path no route serves gets the nearest known route for its 404 message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["Route", "Router"]

E = TypeVar("E")

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Route(Generic[E]):
    """A path (or template) and what serves it."""

    __slots__ = ("names", "path", "pattern", "target")

    def __init__(self, path: str, target: E) -> None:
        self.path = path
        self.target = target
        self.names = _PARAM.findall(path)
        self.pattern: re.Pattern[str] | None = None
        if self.names:
            regex = "".join(
                f"(?P<{part[1:-1]}>[^/]+)" if _PARAM.fullmatch(part) else re.escape(part)
                for part in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", path)
            )
            self.pattern = re.compile(regex)


class Router(Generic[E]):
    """Exact paths in a dict (the fast path), templates tried in order after."""

    def __init__(self, routes: Iterable[tuple[str, E]] = ()) -> None:
        self._exact: dict[str, E] = {}
        self._templates: list[Route[E]] = []
        self._all: list[str] = []
        for path, target in routes:
            self.add(path, target)

    def add(self, path: str, target: E) -> None:
        route = Route(path, target)
        if route.pattern is None:
            self._exact.setdefault(path, target)
        else:
            self._templates.append(route)
        self._all.append(path)

    def match(self, path: str) -> tuple[E, dict[str, str]] | None:
        """What serves ``path`` and the template's values, or ``None``."""
        found = self._exact.get(path)
        if found is not None:
            return found, {}
        for route in self._templates:
            assert route.pattern is not None
            m = route.pattern.fullmatch(path)
            if m is not None:
                return route.target, m.groupdict()
        return None

    def match_all(self, path: str) -> list[tuple[E, dict[str, str]]]:
        """Everything that serves ``path`` (an exact route first, then templates)."""
        found: list[tuple[E, dict[str, str]]] = []
        exact = self._exact.get(path)
        if exact is not None:
            found.append((exact, {}))
        for route in self._templates:
            assert route.pattern is not None
            m = route.pattern.fullmatch(path)
            if m is not None:
                found.append((route.target, m.groupdict()))
        return found

    def nearest(self, path: str) -> str | None:
        """The known route most like ``path`` (for a 404 that helps)."""
        close = difflib.get_close_matches(path, self._all, n=1, cutoff=0.5)
        return close[0] if close else None

    @property
    def paths(self) -> list[str]:
        return list(self._all)
