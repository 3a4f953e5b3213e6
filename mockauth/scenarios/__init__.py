"""Scenario rules: a matcher, a lifetime and a fault.

:mod:`.match` (which requests), :mod:`.rules` (rules and rule sets, rules
from plain data), :mod:`.easy` (the one-line ``provider.fail()`` form),
:mod:`.files` (scenario files and the built-in library, loaded by name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import ENDPOINTS
from .match import Match
from .rules import Rule, RuleSet, UnusedRuleError, rule_from_mapping, rule_keys

if TYPE_CHECKING:
    from .easy import FailSpec, rule_for
    from .files import ClockSettings, Scenario, library, load_scenario

__all__ = [
    "ENDPOINT_NAMES",
    "ClockSettings",
    "FailSpec",
    "Match",
    "Rule",
    "RuleSet",
    "Scenario",
    "UnusedRuleError",
    "library",
    "load_scenario",
    "rule_for",
    "rule_from_mapping",
    "rule_keys",
]


_FILES = ("ClockSettings", "Scenario", "library", "load_scenario")


def __getattr__(name: str) -> Any:
    if name in _FILES:  # scenario files load on first use: a plain start stays fast
        from . import files

        return getattr(files, name)
    if name in ("FailSpec", "rule_for"):
        from . import easy

        return getattr(easy, name)
    # Read off the registries when asked, so endpoints registered later count too.
    if name == "ENDPOINT_NAMES":
        return ENDPOINTS.names()
    if name == "RULE_KEYS":
        return rule_keys()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
