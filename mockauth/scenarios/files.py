"""Scenario files: scenario rules, clock settings and one-off actions as data.

A scenario file (JSON, TOML or YAML) describes how a provider misbehaves::

    description = "The token endpoint answers 503 twice, then works."

    [[rules]]
    endpoint = "token"
    sequence = [503, 503, "real"]

Top-level keys: ``description`` (text); ``rules`` (rule tables as
:func:`mockauth.scenarios.rule_from_mapping` takes them); ``clock`` (``offset``:
seconds of skew added to a running provider clock, ``frozen_at``: an instant,
``advance``: seconds to move the clock once); and actions done once when the
scenario is applied: ``rotate_keys``, ``rotate_client_secret``,
``revoke_tokens``. :func:`load_scenario` validates the whole file up front;
errors are :class:`~mockauth.errors.ConfigError` naming the file and the key
(``flaky.toml: rules[1].sequence[0]: ...``).

A :class:`Scenario` is frozen and keeps its rules as data, so one scenario can
be applied to any number of providers: each :meth:`Scenario.apply` adds fresh
:class:`~mockauth.scenarios.Rule` objects with their own counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from .._check import describe as _describe
from .._check import did_you_mean, number
from .._check import join as _join
from .._check import unknown_key as _unknown
from ..clock import to_timestamp
from ..config import SIGNING_ALGS, read_mapping
from ..errors import ConfigError, MockauthError
from .rules import Rule, rule_from_mapping

if TYPE_CHECKING:
    from ..provider import Provider

__all__ = ["ClockSettings", "Scenario", "is_library_name", "library", "load_scenario"]

_TOP_KEYS = ("description", "rules", "clock", "rotate_keys", "rotate_client_secret",
             "revoke_tokens")  # fmt: skip
_CLOCK_KEYS = ("offset", "frozen_at", "advance")


@dataclass(frozen=True, kw_only=True)
class ClockSettings:
    """What a scenario does to the provider clock, in this order.

    ``frozen_at`` stops the clock at an instant (POSIX seconds, or ``"now"``);
    ``offset`` adds seconds of skew to a running clock (the provider's time runs
    ahead of the application's, or behind if negative); ``advance`` moves the
    clock once, frozen or not.
    """

    offset: float = 0.0
    frozen_at: float | Literal["now"] | None = None
    advance: float = 0.0

    def apply(self, clock: Any) -> None:
        if self.frozen_at is not None:
            clock.freeze(None if self.frozen_at == "now" else self.frozen_at)
        if self.offset:
            clock.advance(self.offset)
        if self.advance:
            clock.advance(self.advance)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.frozen_at is not None:
            data["frozen_at"] = self.frozen_at
        if self.offset:
            data["offset"] = self.offset
        if self.advance:
            data["advance"] = self.advance
        return data or {"offset": self.offset}


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A validated scenario file; :meth:`apply` puts it into effect on a provider.

    ``rules`` holds the rule tables as read-only data (each :meth:`apply` builds
    new rules from it); ``source`` names the file it came from, if any.
    """

    description: str = ""
    rules: tuple[Mapping[str, Any], ...] = ()
    clock: ClockSettings | None = None
    rotate_keys: tuple[str | None, ...] = ()
    rotate_client_secret: tuple[tuple[str, str | None], ...] = ()
    revoke_tokens: tuple[tuple[str | None, str | None], ...] = ()
    source: str | None = field(default=None, compare=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> Scenario:
        """Validate plain data (a parsed file, an admin API request) into a scenario."""
        try:
            return _parse(data, source)
        except ConfigError as exc:
            if source is None or exc.source is not None:
                raise
            raise ConfigError(exc.key, exc.message, source=source) from None

    @property
    def name(self) -> str:
        """The file name without its suffix (``flaky-token-endpoint``), else ``"scenario"``."""
        return Path(self.source).stem if self.source else "scenario"

    def build_rules(self) -> list[Rule]:
        """Fresh :class:`~mockauth.scenarios.Rule` objects for this scenario's rules.

        A rule from a file without a ``name`` is named after the file and its
        place in it (``flaky: rules[0]``), so teardown messages point there.
        """
        rules = []
        for i, data in enumerate(self.rules):
            table = _thaw(data)
            if self.source is not None and isinstance(table, dict):
                table.setdefault("name", f"{self.name}: rules[{i}]")
            try:
                rules.append(_rule(table, f"rules[{i}]"))
            except ConfigError as exc:
                raise ConfigError(exc.key, exc.message, source=self.source) from None
        return rules

    def apply(self, provider: Provider) -> list[Rule]:
        """Put this scenario into effect: clock, actions, then rules (added after any
        existing ones). Returns the rules added. Everything is checked before
        anything changes, so a scenario that cannot apply leaves the provider as it was.
        """
        rules = self.build_rules()
        clock = provider.clock
        if self.clock is not None and not all(
            callable(getattr(clock, m, None)) for m in ("freeze", "advance")
        ):
            self._fail("clock", f"the provider's clock {clock!r} cannot be moved")
        clients = {c.client_id: c for c in provider.clients}
        for client_id, _ in self.rotate_client_secret:
            client = clients.get(client_id)
            if client is None:
                known = ", ".join(clients) or "none"
                self._fail("rotate_client_secret", f"no client {client_id!r} (registered: {known})")
            if client.public:
                self._fail("rotate_client_secret", f"client {client_id!r} is public: no secret")
        for user, _ in self.revoke_tokens:
            if user is not None and provider.find_user(user) is None:
                known = ", ".join(u.username for u in provider.users) or "none"
                self._fail("revoke_tokens", f"no user {user!r} (registered: {known})")
        if self.clock is not None:
            self.clock.apply(clock)
        for alg in self.rotate_keys:
            provider.rotate_keys(alg)
        for client_id, secret in self.rotate_client_secret:
            provider.rotate_client_secret(client_id, secret)
        for user, owner in self.revoke_tokens:
            provider.revoke_tokens(user=user, client=owner)
        for rule in rules:
            provider.add_rule(rule)
        return rules

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_mapping` turns back into an equal scenario."""
        data: dict[str, Any] = {}
        if self.description:
            data["description"] = self.description
        if self.rules:
            data["rules"] = [_thaw(r) for r in self.rules]
        if self.clock is not None:
            data["clock"] = self.clock.to_dict()
        if self.rotate_keys:
            default = self.rotate_keys == (None,)  # rotate_keys = true
            data["rotate_keys"] = True if default else list(self.rotate_keys)
        if self.rotate_client_secret:
            data["rotate_client_secret"] = [c for c, _ in self.rotate_client_secret]
            if any(s for _, s in self.rotate_client_secret):
                data["rotate_client_secret"] = dict(self.rotate_client_secret)
        if self.revoke_tokens:
            data["revoke_tokens"] = [
                {k: v for k, v in (("user", u), ("client", c)) if v is not None}
                for u, c in self.revoke_tokens
            ]
        return data

    def describe(self) -> str:
        """One line: the name and the first line of the description."""
        first = self.description.strip().splitlines()[0] if self.description.strip() else ""
        return f"{self.name}: {first}" if first else self.name

    def _fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(key, message, source=self.source)


_SUFFIXES = (".toml", ".json", ".yaml", ".yml")


def library() -> dict[str, Path]:
    """The scenarios that ship with mockauth, by name (``flaky-token-endpoint``)."""
    folder = resources.files("mockauth").joinpath("data/scenarios")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(_SUFFIXES):
            found[entry.name.rsplit(".", 1)[0]] = Path(str(entry))
    return dict(sorted(found.items()))


def is_library_name(value: str | Path) -> bool:
    """Whether ``value`` names a library scenario rather than a file (no folder, no suffix)."""
    text = str(value)
    return (
        isinstance(value, str)
        and "/" not in text
        and "\\" not in text
        and not text.endswith(_SUFFIXES)
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario from the library by name (``load_scenario("flaky-token-endpoint")``)
    or from a JSON, TOML or YAML file, validated.
    """
    if is_library_name(name_or_path):
        known = library()
        path = known.get(str(name_or_path))
        if path is None:
            names = ", ".join(known)
            raise ConfigError(
                "",
                f"no scenario named {str(name_or_path)!r} in the library ({names})"
                f"{did_you_mean(str(name_or_path), known)}; a file needs its suffix",
            )
        return Scenario.from_mapping(read_mapping(path), source=str(path))
    source = str(Path(name_or_path))
    return Scenario.from_mapping(read_mapping(name_or_path), source=source)


# --- validation -----------------------------------------------------------------------


def _table(value: Any, key: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a table/object, got {_describe(value)}")
    return value


def _string(value: Any, key: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, f"expected a non-empty string, got {_describe(value)}")


def _text(value: Any, key: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {_describe(value)}")


def _alg(value: Any, key: str) -> None:
    if value not in SIGNING_ALGS:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(SIGNING_ALGS)}")


def _rule(data: Any, key: str) -> Rule:
    try:
        return rule_from_mapping(data, key)
    except ConfigError:
        raise
    except (TypeError, ValueError, MockauthError) as exc:  # a value no check caught
        raise ConfigError(key, str(exc)) from None


def _instant(value: Any, key: str) -> float | Literal["now"]:
    if value == "now":
        return "now"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(key, f"{value!r} is not an RFC 3339 date-time or 'now'") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(key, "give a time zone (2030-01-01T00:00:00Z)")
        return to_timestamp(value)
    if isinstance(value, date):
        raise ConfigError(key, "a date needs a time and a time zone (2030-01-01T00:00:00Z)")
    return number(value, key)


def _clock(value: Any, key: str) -> ClockSettings:
    data = _table(value, key)
    for name in data:
        if name not in _CLOCK_KEYS:
            raise _unknown(name, _CLOCK_KEYS, key)
    if not data:
        raise ConfigError(key, f"give {', '.join(_CLOCK_KEYS)}")
    offset = number(data.get("offset", 0), _join(key, "offset"))
    advance = number(data.get("advance", 0), _join(key, "advance"))
    frozen = data.get("frozen_at")
    frozen_at = None if frozen is None else _instant(frozen, _join(key, "frozen_at"))
    if frozen_at is not None and "offset" in data:
        raise ConfigError(
            _join(key, "offset"), "is the skew of a running clock: with frozen_at, use advance"
        )
    return ClockSettings(offset=offset, frozen_at=frozen_at, advance=advance)


def _rotate_keys(value: Any, key: str) -> tuple[str | None, ...]:
    if isinstance(value, bool):
        return (None,) if value else ()
    items = value if isinstance(value, list) else [value]
    for i, alg in enumerate(items):
        _alg(alg, f"{key}[{i}]" if isinstance(value, list) else key)
    return tuple(items)


def _secrets(value: Any, key: str) -> tuple[tuple[str, str | None], ...]:
    if isinstance(value, list):
        for i, client_id in enumerate(value):
            _string(client_id, f"{key}[{i}]")
        return tuple((c, None) for c in value)
    if isinstance(value, Mapping):
        for client_id, secret in value.items():
            _string(secret, _join(key, str(client_id)))
        return tuple(value.items())
    raise ConfigError(key, "expected a list of client ids, or a table of client id = new secret")


def _revocations(value: Any, key: str) -> tuple[tuple[str | None, str | None], ...]:
    items = value if isinstance(value, list) else [value]
    found = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]" if isinstance(value, list) else key
        table = _table(item, where)
        for name, given in table.items():
            if name not in ("user", "client"):
                raise _unknown(name, ("user", "client"), where)
            _string(given, _join(where, name))
        if not table:
            raise ConfigError(where, "give user and/or client")
        found.append((table.get("user"), table.get("client")))
    return tuple(found)


def _parse(data: Mapping[str, Any], source: str | None) -> Scenario:
    data = _table(data, "")
    for name in data:
        if name not in _TOP_KEYS:
            raise _unknown(name, _TOP_KEYS, "")
    description = data.get("description", "")
    _text(description, "description")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError("rules", f"expected a list of rule tables, got {_describe(rules)}")
    for i, rule in enumerate(rules):
        _rule(rule, f"rules[{i}]")  # built once to validate; apply() builds its own
    scenario = Scenario(
        description=description,
        rules=tuple(_freeze(r) for r in rules),
        clock=_clock(data["clock"], "clock") if "clock" in data else None,
        rotate_keys=_rotate_keys(data.get("rotate_keys", False), "rotate_keys"),
        rotate_client_secret=_secrets(data.get("rotate_client_secret", []), "rotate_client_secret"),
        revoke_tokens=_revocations(data.get("revoke_tokens", []), "revoke_tokens"),
        source=source,
    )
    if not (scenario.rules or scenario.clock or scenario.rotate_keys
            or scenario.rotate_client_secret or scenario.revoke_tokens):  # fmt: skip
        raise ConfigError("", "the scenario does nothing: give rules, clock or an action")
    return scenario


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value
