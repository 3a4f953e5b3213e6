"""The request log of ``mockauth serve``: one line a request, for a person or a machine.

A line says what was asked and how it went: method, path, status, duration,
client id, grant type and error code; never a secret (parameters are the
journal's, redacted). ``text`` lines are coloured only on a terminal;
``json`` lines are one object each.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from .journal import Call

__all__ = ["LOG_FORMATS", "RequestLog"]

LOG_FORMATS = ("text", "json")

_COLOURS = {"2": "\x1b[32m", "3": "\x1b[36m", "4": "\x1b[33m", "5": "\x1b[31m"}
_RESET = "\x1b[0m"


def _now_iso() -> str:
    """Now, in UTC, as RFC 3339 with milliseconds."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    return f"{stamp}.{int(now * 1000) % 1000:03d}Z"


class RequestLog:
    """Writes a line for each finished call (a listener of the providers' pipelines).

    ``params`` adds the call's parameters (redacted) to each line.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        format: Literal["text", "json"] = "text",
        colour: bool | None = None,
        params: bool = False,
    ) -> None:
        if format not in LOG_FORMATS:
            raise ValueError(f"log format {format!r} is not one of {', '.join(LOG_FORMATS)}")
        self.stream = stream if stream is not None else sys.stderr
        self.format = format
        isatty = getattr(self.stream, "isatty", None)
        self.colour = colour if colour is not None else bool(isatty and isatty())
        self.params = params
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        line = self.json_line(call) if self.format == "json" else self.text_line(call)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def fields(self, call: Call) -> dict[str, object]:
        """What a line says, by name."""
        data: dict[str, object] = {
            # wall time: the provider clock may be frozen or skewed by a scenario
            "time": _now_iso(),
            "method": call.method,
            "path": call.path,
            "status": call.status,
            "duration_ms": round(call.duration * 1000, 2) if call.duration is not None else None,
            "endpoint": call.endpoint,
            "client_id": call.client_id,
            "grant_type": call.grant_type,
            "error": call.error,
        }
        if call.rule is not None:
            data["rule"] = call.rule.id
        if call.issued:
            data["issued"] = call.issued
        if call.events:
            data["events"] = call.events
        if self.params:
            data["params"] = call.params
        return data

    def json_line(self, call: Call) -> str:
        return json.dumps(self.fields(call), separators=(",", ":"))

    def text_line(self, call: Call) -> str:
        data = self.fields(call)
        status = str(data["status"]) if data["status"] is not None else "dropped"
        if self.colour:
            status = _COLOURS.get(status[0], "") + status + _RESET
        duration = data["duration_ms"]
        parts = [str(data["time"]), call.method, call.path, status]
        if duration is not None:
            parts.append(f"{duration}ms")
        for name in ("client_id", "grant_type", "error", "rule"):
            if data.get(name) is not None:
                parts.append(f"{name}={data[name]}")
        for entry in call.issued:  # what was issued, by its claims: never the token itself
            claims = entry["claims"]
            shown = " ".join(
                f"{k}={claims[k]}" for k in ("sub", "aud", "scope", "exp") if k in claims
            )
            parts.append(f"{entry['token']}[{shown}]")
        if self.params and call.params:
            parts.append(" ".join(f"{k}={v}" for k, v in call.params.items()))
        return " ".join(parts)
