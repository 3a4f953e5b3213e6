"""Reading and checking the members of a JSON body; each check names the bad key."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .._check import did_you_mean, number
from ..config import SIGNING_ALGS
from ..errors import ConfigError
from .errors import AdminError, bad

#: Timestamps the clock may be set to: 1970 to the end of year 9999.
_MAX_TIME = 253402300799.0
#: The most a token lifetime or ``nbf`` offset may be, in seconds (100 years).
_MAX_SECONDS = 3_155_760_000

Check = Callable[[str, Any], Any]


def _unknown(key: str, known: typing.Iterable[str]) -> AdminError:
    return bad(key, f"unknown key{did_you_mean(key, known)}")


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise bad(key, f"expected a string, got {_describe(value)}")
    return value


def _token(key: str, value: Any) -> str:
    """A token string: visible ASCII only (RFC 6750 §2.1), as every token this provider makes."""
    text = _string(key, value)
    if not text or not all("\x21" <= c <= "\x7e" for c in text):
        raise bad(key, "a token is visible ASCII characters (RFC 6750 §2.1)")
    return text


def _nonempty(key: str, value: Any) -> str:
    text = _string(key, value)
    if not text:
        raise bad(key, "must not be empty")
    return text


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad(key, f"expected true or false, got {_describe(value)}")
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(key, f"expected a number, got {_describe(value)}")
    try:
        return number(value, key, "a finite number")
    except ConfigError as exc:
        raise bad(key, exc.message) from None


def _seconds(key: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer() and abs(value) <= _MAX_SECONDS:
        value = int(value)  # 60.0 is a JSON integer (JSON Schema 2020-12 §6.3)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(key, f"expected a whole number of seconds, got {_describe(value)}")
    if abs(value) > _MAX_SECONDS:
        raise bad(key, f"must be within ±{_MAX_SECONDS} seconds (100 years)")
    return value


def _instant(key: str, value: Any) -> float:
    """A POSIX timestamp, or an ISO 8601 date-time with a time zone."""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise bad(key, f"{value!r} is not an ISO 8601 date-time") from None
        if when.tzinfo is None:
            raise bad(key, "give a time zone (e.g. 2030-01-01T00:00:00Z)")
        number = when.timestamp()
    else:
        number = _number(key, value)
    if not 0 <= number <= _MAX_TIME:
        raise bad(key, "must lie between 1970 and the end of year 9999")
    return number


def _strings(key: str, value: Any) -> str | list[str]:
    """A string or a list of strings (scopes, audiences)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise bad(key, f"expected a string or a list of strings, got {_describe(value)}")
    for i, item in enumerate(value):
        _string(f"{key}[{i}]", item)
    return value


def _object(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(key, f"expected an object, got {_describe(value)}")
    return value


def _alg(key: str, value: Any) -> str:
    alg = _string(key, value)
    if alg not in SIGNING_ALGS:
        raise bad(key, f"{alg!r} is not one of {', '.join(SIGNING_ALGS)}")
    return alg


def _fields(
    body: Mapping[str, Any], checks: Mapping[str, Check], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check every member of a JSON body; ``null`` counts as absent."""
    for key in body:
        if key not in checks:
            raise _unknown(key, checks)
    for key in required:
        if body.get(key) is None:
            raise bad(key, "is required")
    return {k: checks[k](k, v) for k, v in body.items() if v is not None}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise bad(key, "appears twice in the object")
        result[key] = value
    return result


def _toml(raw: bytes) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad(None, "the body is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise AdminError(400, "invalid_toml", f"the body is not TOML: {exc}") from None


def _no_constant(name: str) -> Any:
    raise bad(None, f"{name} is not valid JSON")
