"""The fault base: what a fault is, what it sees, and the fault registry.

A fault decides how one scripted request is answered. It gets a
:class:`FaultContext` (the request, the endpoint, the provider's services
and a way to produce the real answer) and returns a response, or raises an
:class:`~mockauth.errors.OAuthError` that the pipeline renders in the
endpoint's own error style. Fault kinds that can be written as data
(scenario files, the admin API, ``provider.fail()``) register with
:func:`register_fault`: their keys and schemas are read off the registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..errors import ConfigError, ErrorStyle
from ..registry import FAULTS

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..services import Services

__all__ = [
    "Callback",
    "ConnectionDropped",
    "Exchange",
    "Fault",
    "FaultContext",
    "Real",
    "buildable_faults",
    "register_fault",
]


class ConnectionDropped(Exception):
    """Raised through the server or transport to drop the connection without a response."""


@dataclass
class FaultContext:
    """One scripted request: what a fault may look at and call."""

    services: Services
    endpoint: str
    style: ErrorStyle
    request: Request
    params: Mapping[str, str]
    _real: Callable[[], Response]
    _cached: Response | None = field(default=None, init=False)

    def real(self) -> Response:
        """The answer the provider would give without the rule (computed once)."""
        if self._cached is None:
            self._cached = self._real()
        return self._cached

    @property
    def real_answered(self) -> Response | None:
        """The real answer, if a fault asked for it."""
        return self._cached


#: The old name of :class:`FaultContext`.
Exchange = FaultContext


class Fault(ABC):
    """Base class of faults: a fault answers one scripted request.

    A kind that can be written as data sets ``keys`` (its table keys, the
    first of which names it) and ``schema`` (JSON Schema of each key), and
    implements :meth:`from_table`; :func:`register_fault` puts it in the registry.
    """

    kind: ClassVar[str] = "fault"
    #: Table keys this kind reads; the first one selects the kind.
    keys: ClassVar[tuple[str, ...]] = ()
    #: JSON Schema of each key (the admin API's OpenAPI document shows them).
    schema: ClassVar[Mapping[str, Any]] = {}
    #: Where the kind stands when a table has several selecting keys (lower first).
    priority: ClassVar[int] = 100

    @abstractmethod
    def respond(self, ctx: FaultContext) -> Response:
        """The response to send instead of (or made from) the real answer."""

    @classmethod
    def from_table(cls, data: dict[str, Any], build: Builder) -> Fault:
        """Build from a table holding this kind's selecting key; pop what is used.

        ``build(value, key)`` builds a nested fault (``then``); ``build(table)``
        with the rest of a table builds what follows (a delay's outcome).
        Kinds that are not data (:class:`Real`, :class:`Callback`) keep this
        default; :func:`register_fault` refuses them, so no table reaches it.
        """
        raise TypeError(f"{cls.__name__} cannot be written as data")

    def check(self, endpoint: str | None, key: str) -> None:  # noqa: B027 - most faults fit anywhere
        """Raise :class:`ConfigError` at ``key`` if this fault cannot happen at ``endpoint``."""

    def describe(self) -> str:
        return self.kind

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


#: ``build(spec, key)``: a fault from plain data (:func:`mockauth.faults.tables.build`).
Builder = Callable[[Any, str], "Fault"]

F = TypeVar("F", bound=type[Fault])


def register_fault(cls: F) -> F:
    """Let ``cls`` be written as data (a class decorator)."""
    if not cls.keys:
        raise TypeError(f"{cls.__name__} needs keys to be written as data")
    if cls.from_table.__func__ is Fault.from_table.__func__:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} needs a from_table classmethod to be written as data")
    FAULTS.register(cls)
    return cls


def buildable_faults() -> list[type[Fault]]:
    """The registered fault kinds, in the order a table is tried against them."""
    kinds = [k for k in FAULTS if isinstance(k, type) and issubclass(k, Fault)]
    return sorted(kinds, key=lambda k: k.priority)


def check_fault(value: object, key: str) -> None:
    if not isinstance(value, Fault):
        raise ConfigError(key, f"expected a fault, got {value!r}")


@dataclass
class Real(Fault):
    """The real answer (a step of a sequence: ``[HttpFault(503), Real()]``)."""

    kind: ClassVar[str] = "real"

    def respond(self, ctx: FaultContext) -> Response:
        return ctx.real()


@dataclass
class Callback(Fault):
    """Answer with ``fn(ctx)``; ``None`` from it passes the request on to the real answer."""

    fn: Callable[[FaultContext], Response | None]
    kind: ClassVar[str] = "callback"

    def respond(self, ctx: FaultContext) -> Response:
        answer = self.fn(ctx)
        return ctx.real() if answer is None else answer

    def describe(self) -> str:
        return f"callback {getattr(self.fn, '__name__', repr(self.fn))}"
