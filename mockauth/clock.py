"""The provider's clock.

Everything that expires (codes, tokens, sessions) is judged by
``provider.clock``, never by ``time.time()`` directly, so a test can move
provider time without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ClockLike", "ControllableClock", "to_timestamp"]


@runtime_checkable
class ClockLike(Protocol):
    """Anything with a ``now()`` returning POSIX seconds can drive a provider."""

    def now(self) -> float: ...


@runtime_checkable
class ControllableClock(ClockLike, Protocol):
    """A clock tests can move: what scenario files and the admin API's reset need.

    :class:`Clock` is one; a custom clock without these methods still drives a
    provider, but cannot be moved by a scenario.
    """

    @property
    def frozen(self) -> bool: ...
    def advance(self, seconds: float) -> float: ...
    def move_to(self, when: float | datetime) -> float: ...
    def freeze(self, at: float | datetime | None = None) -> float: ...
    def unfreeze(self) -> None: ...
    def reset(self) -> None: ...


def to_timestamp(value: float | datetime) -> float:
    """Seconds since the epoch for a number or an aware ``datetime``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone (e.g. datetime.now(UTC))")
        return value.timestamp()
    return float(value)


class Clock:
    """The system clock, shifted or frozen on request.

    Unfrozen, it reads ``time.time()`` at every call (so time-machine and
    freezegun move it too) and adds an offset that :meth:`advance` and
    :meth:`move_to` change. Frozen, it returns a fixed instant until advanced.
    """

    def __init__(self, *, frozen_at: float | datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen: float | None = None if frozen_at is None else to_timestamp(frozen_at)

    def now(self) -> float:
        """Current provider time in POSIX seconds."""
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return time.time() + self._offset

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return self._frozen is not None

    def advance(self, seconds: float) -> float:
        """Move provider time forward (or back, if negative); returns the new time."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds
        return self.now()

    def move_to(self, when: float | datetime) -> float:
        """Jump to an absolute instant, keeping the frozen/running state."""
        target = to_timestamp(when)
        with self._lock:
            if self._frozen is not None:
                self._frozen = target
            else:
                self._offset = target - time.time()
        return self.now()

    def freeze(self, at: float | datetime | None = None) -> float:
        """Stop the clock at ``at`` (default: now)."""
        target = self.now() if at is None else to_timestamp(at)
        with self._lock:
            self._frozen = target
        return target

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
                self._frozen = None

    def reset(self) -> None:
        """Back to the plain system clock."""
        with self._lock:
            self._offset = 0.0
            self._frozen = None

    def __repr__(self) -> str:
        state = "frozen" if self._frozen is not None else f"offset={self._offset:+.3f}s"
        return f"<Clock {state} now={self.now():.3f}>"
