"""Scenario rules: a matcher, a lifetime and a fault.

A rule decides, for each request that matches it, whether a fault answers
(and which) or the real provider does. Lifetimes: always; ``times=n`` (the
first n matches); ``after=n`` (let n matches through first); an ordered
``sequence`` of outcomes, one per match, like ``unittest.mock``'s
``side_effect``. Rules are tried in the order they were added.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .._check import unknown_key
from ..errors import ConfigError, MockauthError
from ..faults.base import Fault
from .match import Call, Match

__all__ = ["MATCH_KEYS", "Rule", "RuleSet", "UnusedRuleError", "rule_from_mapping", "rule_keys"]


_ids = itertools.count(1)


class Rule:
    """A scenario rule. Build one directly or with ``provider.fail(...)``.

    ``fault`` answers matching requests (``times`` of them, after letting
    ``after`` through), or ``sequence`` gives one outcome per match (a fault,
    or :class:`~mockauth.faults.Real` for the real answer). ``strict`` rules
    that were not used as expected fail the test at teardown; by default a
    rule is strict when it has ``times`` or a ``sequence``.

    Plain values work too: an endpoint name for ``match``, and for outcomes
    an HTTP status, an OAuth error code, ``"real"`` or a fault table, as in
    ``Rule("token", 503, times=2)`` or ``Rule("jwks", sequence=[503, "real"])``.
    """

    def __init__(
        self,
        match: Match | str | None,
        fault: Fault | int | str | Mapping[str, Any] | None = None,
        *,
        times: int | None = None,
        after: int = 0,
        sequence: Iterable[Fault | int | str | Mapping[str, Any]] | None = None,
        strict: bool | None = None,
        name: str | None = None,
    ) -> None:
        from ..faults.tables import outcome  # the fault kinds load with the first rule

        if (fault is None) == (sequence is None):
            raise MockauthError("a rule needs a fault or a sequence of outcomes, not both")
        for key, value in (("times", times), ("after", after)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(key, f"expected an integer, got {value!r}")
        if times is not None and times < 1:
            raise ConfigError("times", f"must be at least 1, got {times}")
        if after < 0:
            raise ConfigError("after", f"must not be negative, got {after}")
        if sequence is not None and (times is not None or isinstance(sequence, str | Mapping)):
            raise ConfigError("sequence", "expected a list of outcomes, and no 'times' beside it")
        if strict is not None and not isinstance(strict, bool):
            raise ConfigError("strict", f"expected true or false, got {strict!r}")
        if name is not None and not isinstance(name, str):
            raise ConfigError("name", f"expected a string, got {name!r}")
        if match is None or isinstance(match, str):
            match = Match(endpoint=match)
        elif not isinstance(match, Match):
            raise ConfigError("match", f"expected a Match or an endpoint name, got {match!r}")
        steps = None
        if sequence is not None:
            steps = [outcome(step, f"sequence[{i}]") for i, step in enumerate(sequence)]
            if not steps:
                raise ConfigError("sequence", "needs at least one outcome")
            for i, step in enumerate(steps):
                step.check(match.endpoint, f"sequence[{i}]")
        single = outcome(fault, "fault") if fault is not None else None
        if single is not None:
            single.check(match.endpoint, "")
        self.id = next(_ids)  # renumbered per provider by RuleSet.add
        self.match = match
        self.fault = single
        self.sequence = steps
        self.times = times
        self.after = after
        self.strict = strict if strict is not None else (times is not None or sequence is not None)
        self.name = name
        self.seen = 0  # matching requests
        self.used = 0  # outcomes given (faults and scripted real answers)

    @property
    def expected(self) -> int | None:
        """How many outcomes this rule expects to give, if bounded."""
        if self.sequence is not None:
            return len(self.sequence)
        return self.times

    @property
    def exhausted(self) -> bool:
        expected = self.expected
        return expected is not None and self.used >= expected

    def next_outcome(self) -> Fault | None:
        """The outcome for one more matching request, or ``None`` to pass it on.

        Called under the rule set's lock.
        """
        index = self.seen - self.after
        self.seen += 1
        if index < 0 or self.exhausted:
            return None
        self.used += 1
        if self.sequence is not None:
            return self.sequence[index]
        return self.fault

    def unmet(self) -> str | None:
        """Why this strict rule is not satisfied, or ``None``.

        A bounded rule expects all its outcomes used; an unbounded one made
        strict explicitly expects at least one.
        """
        expected = self.expected
        if not self.strict or self.used >= (expected or 1):
            return None
        wanted = f"{expected}" if expected is not None else "at least 1"
        skipped = f" after the first {self.after}" if self.after else ""
        return f"expected {wanted} matching request(s){skipped}, got {self.used}"

    def describe(self) -> str:
        if self.sequence is not None:
            what = "sequence [" + ", ".join(f.describe() for f in self.sequence) + "]"
        else:
            assert self.fault is not None
            what = self.fault.describe()
        life = []
        if self.times is not None:
            life.append(f"times={self.times}")
        if self.after:
            life.append(f"after={self.after}")
        label = f" {self.name!r}" if self.name else ""
        return f"rule {self.id}{label}: {self.match} -> {what}" + (
            f" ({', '.join(life)})" if life else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (the admin API lists rules this way)."""
        return {
            "id": self.id,
            "name": self.name,
            "match": {k: v for k, v in vars(self.match).items() if v not in (None, {})},
            "fault": self.fault.to_dict() if self.fault is not None else None,
            "sequence": [f.to_dict() for f in self.sequence] if self.sequence else None,
            "times": self.times,
            "after": self.after,
            "strict": self.strict,
            "seen": self.seen,
            "used": self.used,
        }

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


class UnusedRuleError(MockauthError, AssertionError):
    """Strict rules were not used as expected; the message shows the near-misses."""


class RuleSet:
    """A provider's rules, tried in order under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._ids = itertools.count(1)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.all())

    def add(self, rule: Rule) -> Rule:
        """Append ``rule``; it is numbered in this set (1, 2, ...) so messages are stable."""
        if not isinstance(rule, Rule):
            raise MockauthError(f"expected a Rule, got {rule!r}")
        with self._lock:
            if any(existing is rule for existing in self._rules):
                raise MockauthError(f"{rule.describe()} was already added")
            rule.id = next(self._ids)
            self._rules.append(rule)
        return rule

    def remove(self, rule: Rule | int) -> None:
        with self._lock:
            for existing in self._rules:
                if existing is rule or existing.id == rule:
                    self._rules.remove(existing)
                    return
        raise MockauthError(f"no such rule: {rule!r}")

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def all(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    def pick(self, call: Call, raw: Mapping[str, str]) -> tuple[Rule, Fault] | None:
        """The first rule that has an outcome for this request, and that outcome."""
        with self._lock:
            for rule in self._rules:
                if rule.match.mismatches(call, raw):
                    continue
                outcome = rule.next_outcome()
                if outcome is not None:
                    return rule, outcome
        return None

    def unmet(self) -> list[tuple[Rule, str]]:
        return [(r, why) for r in self.all() if (why := r.unmet()) is not None]


MATCH_KEYS = ("endpoint", "method", "grant_type", "client_id", "params")
_LIFETIME_KEYS = ("times", "after", "sequence", "strict", "name")


def rule_keys() -> tuple[str, ...]:
    """Every key a rule table may hold: matcher, lifetime and (registered) fault keys."""
    from ..faults.tables import fault_keys

    return (*MATCH_KEYS, *_LIFETIME_KEYS, *fault_keys())


def rule_from_mapping(data: Mapping[str, Any], key: str = "") -> Rule:
    """A rule from plain data (scenario files, the admin API); errors name the key.

    ``{"endpoint": "token", "grant_type": "refresh_token", "error": "invalid_grant",
    "times": 1}``, ``{"endpoint": "jwks", "delay": 2.0}``, ``{"endpoint": "token",
    "sequence": [503, 503, "real"]}``. The fault keys are those of
    :func:`mockauth.faults.tables`; a misspelt key gets a "did you mean".
    """
    try:
        return _rule(data)
    except ConfigError as exc:
        where = f"{key}.{exc.key}" if key and exc.key else key or exc.key
        raise ConfigError(where, exc.message) from None


def _rule(data: Mapping[str, Any]) -> Rule:
    """:func:`rule_from_mapping` with error keys relative to the rule's table."""
    if not isinstance(data, Mapping):
        raise ConfigError("", f"expected a table/object, got {data!r}")
    fields = dict(data)
    known = rule_keys()
    for name in fields:
        if not isinstance(name, str) or name not in known:
            raise unknown_key(str(name), known)
    match = Match(**{k: fields.pop(k) for k in MATCH_KEYS if k in fields})
    life = {k: fields.pop(k) for k in _LIFETIME_KEYS if k in fields}
    sequence = life.pop("sequence", None)
    if sequence is not None:
        if fields:
            raise ConfigError(next(iter(fields)), "cannot stand beside 'sequence'")
        if not isinstance(sequence, list):
            raise ConfigError("sequence", f"expected a list of outcomes, got {sequence!r}")
        return Rule(match, sequence=sequence, **life)
    if not fields:
        raise ConfigError("", "a rule needs a fault (error, status, delay, token, ...)")
    from ..faults.tables import build

    return Rule(match, build(fields), **life)
