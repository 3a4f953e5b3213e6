"""The one-line form of a scenario rule: ``provider.fail("token", status=503, times=2)``.

Its keywords are typed once (:class:`FailSpec`): the match criteria, the
lifetime, and the fault keys of a scenario file's fault table, checked the
same way (:func:`mockauth.faults.tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

from .._check import did_you_mean
from ..errors import MockauthError
from ..faults.base import Fault
from ..faults.tables import build
from .match import Match
from .rules import Rule

__all__ = ["FailSpec", "rule_for"]


class FailSpec(TypedDict, total=False):
    """The keywords of ``provider.fail()``."""

    # the fault (keys of a fault table)
    error: str
    status: int
    description: str
    headers: Mapping[str, str]
    body: bytes | str | Mapping[str, Any] | list[Any]
    content_type: str
    delay: float
    drop: bool
    token: str
    target: str
    claim: str
    value: Any
    extension: bool
    fault: Fault
    sequence: Iterable[Fault | int | str | Mapping[str, Any]]
    # the lifetime
    times: int
    after: int
    strict: bool
    name: str
    # the match
    grant_type: str
    client_id: str
    method: str
    params: Mapping[str, str]


_MATCH = ("grant_type", "client_id", "method", "params")
_LIFE = ("times", "after", "strict", "name")
_OUTCOME = ("fault", "sequence")
_KNOWN = tuple(FailSpec.__annotations__)


def rule_for(endpoint: str | None = None, **spec: Unpack[FailSpec]) -> Rule:
    """The rule ``provider.fail(endpoint, **spec)`` adds.

    ``fail("token", error="invalid_grant", times=2)``, ``fail("token",
    status=503, times=2)``, ``fail("jwks", delay=2.0)``, ``fail("token",
    token="expired")``, ``fail("userinfo", drop=True)``, ``fail("token",
    sequence=[503, 503, "real"])``. Without ``times`` or a sequence the rule
    applies to every match; an argument that does not go with the fault is a
    :class:`~mockauth.errors.ConfigError`.
    """
    given: dict[str, Any] = dict(spec)
    for key in given:
        if key not in _KNOWN:
            raise MockauthError(f"fail() got an unknown keyword {key!r}{did_you_mean(key, _KNOWN)}")
    match = Match(
        endpoint=endpoint,
        method=given.get("method"),
        grant_type=given.get("grant_type"),
        client_id=given.get("client_id"),
        params=dict(given.get("params") or {}),
    )
    life = {k: given[k] for k in _LIFE if k in given}
    times = life.pop("times", None)
    after = life.pop("after", 0)
    fields = {
        k: v for k, v in given.items() if k not in (*_MATCH, *_LIFE, *_OUTCOME) and v is not None
    }
    if fields.get("drop") is False:
        del fields["drop"]
    fault = given.get("fault")
    sequence = given.get("sequence")
    if fault is not None:
        if fields or sequence is not None:
            raise MockauthError(
                f"fail(): fault= is the whole outcome, so {[*fields, 'sequence'][0]}= "
                "cannot go with it"
            )
        return Rule(match, fault, times=times, after=after, **life)
    if sequence is not None:
        extra = [*fields, *(["times"] if times is not None else [])]
        if extra:
            raise MockauthError(
                f"fail(): sequence= gives every outcome, so {extra[0]}= cannot go with it"
            )
        return Rule(match, sequence=sequence, after=after, **life)
    if not fields:
        raise MockauthError("fail() needs error=, status=, token=, drop=True, delay= or sequence=")
    return Rule(match, build(fields), times=times, after=after, **life)
