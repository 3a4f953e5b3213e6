"""The request journal: every request the provider received, for assertions.

Secrets, passwords, codes and tokens are redacted before they are stored.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlsplit

from .errors import MockauthError, OAuthError
from .http import form_params, is_form
from .registry import secret_params
from .scenarios.match import Match

if TYPE_CHECKING:
    from .http import Request
    from .scenarios.rules import Rule

__all__ = ["REDACTED", "Call", "Calls", "Journal"]

REDACTED = "[redacted]"
#: The most calls a journal keeps; older ones are dropped first.
MAX_CALLS = 10_000
#: The most bytes of requests a journal keeps (parameters, credentials); older go first.
MAX_BYTES = 16 * 1024 * 1024
#: What one call costs beyond its parameters (the object, its strings and references).
_OVERHEAD = 512


def redact(params: Mapping[str, str]) -> dict[str, str]:
    """``params`` with the value of every secret parameter (those the registered
    grants, auth methods and endpoints name) replaced by :data:`REDACTED`.
    """
    secret = secret_params()
    return {k: (REDACTED if k in secret else v) for k, v in params.items()}


def basic_client_id(header: str | None) -> str | None:
    """The client id of ``Authorization: Basic`` credentials, if any (never the secret)."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, sep, _ = decoded.partition(":")
    return unquote_plus(client_id) if sep else None


def _unverified_claim(jwt: str | None, name: str) -> str | None:
    """A string claim of a JWT's payload, unverified (what the call says it is)."""
    if not jwt or jwt.count(".") != 2 or len(jwt) > 16_384:
        return None
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    value = claims.get(name) if isinstance(claims, dict) else None
    return value if isinstance(value, str) and value else None


def assertion_client_id(assertion: str | None) -> str | None:
    """The client a client assertion names (its ``sub``, RFC 7523 §3), unverified:
    who the call claims to be, as a ``client_id`` parameter would say.
    """
    return _unverified_claim(assertion, "sub")


def token_client_id(header: str | None) -> str | None:
    """The client of a JWT access token presented as ``Bearer`` or ``DPoP``
    (its ``client_id``, RFC 9068 §2.2), unverified: whose token a resource got.
    """
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() not in ("bearer", "dpop"):
        return None
    return _unverified_claim(value.strip(), "client_id")


class Call:
    """One request as the provider saw it, and how it answered.

    ``params`` (secrets redacted), ``client_id`` and ``grant_type`` are worked
    out on first use: recording a call stays cheap on the request path.
    """

    __slots__ = (
        "_client_id", "_params", "_source", "duration", "endpoint", "error", "events", "issued",
        "method", "path", "rule", "size", "status", "time",
    )  # fmt: skip

    def __init__(
        self,
        endpoint: str | None,
        method: str,
        path: str,
        time: float,
        *,
        params: Mapping[str, str] | None = None,
        authorization: str | None = None,
        source: tuple[bytes, Any, str | None] | None = None,
    ) -> None:
        #: The endpoint's name; ``None`` for a path no endpoint serves (a 404).
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.time = time
        self.status: int | None = None
        self.error: str | None = None
        #: Seconds from the request's arrival to its answer (``None`` until answered).
        self.duration: float | None = None
        #: The tokens the provider minted for this request: ``{"token": kind,
        #: "claims": {...}}`` each (decoded claims, never the token strings).
        self.issued: list[dict[str, Any]] = []
        #: What the provider noticed that did not change the answer: ``{"event":
        #: name, ...}`` each (``assertion_replayed`` names the client and ``jti``).
        self.events: list[dict[str, Any]] = []
        self.rule: Rule | None = None
        #: About how many bytes the call holds on to (what the journal's byte bound counts).
        self.size = _OVERHEAD + len(path)
        self._params: dict[str, str] | None = None
        self._client_id: str | None = None
        self._source = source
        if params is not None:
            self._resolve(params, authorization)

    def _resolve(self, raw: Mapping[str, str], authorization: str | None) -> None:
        self._params = redact(raw)
        self._client_id = (
            raw.get("client_id")
            or basic_client_id(authorization)
            or assertion_client_id(raw.get("client_assertion"))
            or token_client_id(authorization)
        )

    def _ensure(self) -> None:
        if self._params is None:
            query, form, authorization = self._source or (b"", None, None)
            raw = dict(parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True))
            if form is not None:
                raw.update(_single(form))
            self._resolve(raw, authorization)
            self._source = None

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters, secrets redacted."""
        self._ensure()
        assert self._params is not None
        return self._params

    @property
    def client_id(self) -> str | None:
        """From the body, the query or Basic credentials."""
        self._ensure()
        return self._client_id

    @property
    def grant_type(self) -> str | None:
        return self.params.get("grant_type")

    def __repr__(self) -> str:
        return (
            f"Call(endpoint={self.endpoint!r}, method={self.method!r}, path={self.path!r}, "
            f"params={self.params!r}, client_id={self.client_id!r}, "
            f"grant_type={self.grant_type!r}, time={self.time!r}, status={self.status!r}, "
            f"error={self.error!r})"
        )

    def __str__(self) -> str:
        bits = [f"{self.method} {self.endpoint or self.path}"]
        if self.grant_type:
            bits.append(f"grant_type={self.grant_type}")
        if self.client_id:
            bits.append(f"client_id={self.client_id}")
        outcome = f"-> {self.status}" if self.status is not None else "-> (no response)"
        if self.error:
            outcome += f" {self.error}"
        if self.rule is not None:
            outcome += f" [scripted by rule {self.rule.id}]"
        return " ".join(bits) + " " + outcome


class Calls(Sequence[Call]):
    """A list of calls with filters and assertion helpers.

    ``provider.calls.filter(endpoint="token", grant_type="refresh_token")``;
    ``provider.calls.assert_called("token", times=2, client_id="web")``.
    Failures list the calls that came close and why they did not match.
    """

    def __init__(self, calls: Sequence[Call]) -> None:
        self._calls = list(calls)

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> Calls: ...
    def __getitem__(self, index: int | slice) -> Call | Calls:
        if isinstance(index, slice):
            return Calls(self._calls[index])
        return self._calls[index]

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self._calls)

    def __repr__(self) -> str:
        return f"Calls({self._calls!r})"

    def filter(self, endpoint: str | None = None, **criteria: Any) -> Calls:
        """The calls that match: the criteria of :class:`~mockauth.scenarios.Match`
        (``method``, ``grant_type``, ``client_id``, ``params``) plus ``status`` and ``error``.
        """
        match = _match(endpoint, criteria)
        return Calls([c for c in self._calls if not match.mismatches(c)])

    def assert_called(
        self, endpoint: str | None = None, *, times: int | None = None, **criteria: Any
    ) -> Calls:
        """Assert matching calls were made (``times`` exactly, else at least once)."""
        match = _match(endpoint, criteria)
        found = Calls([c for c in self._calls if not match.mismatches(c)])
        ok = len(found) == times if times is not None else len(found) > 0
        if not ok:
            wanted = f"exactly {times}" if times is not None else "at least one"
            raise JournalAssertionError(
                f"expected {wanted} call matching {match}, found {len(found)}.\n"
                + self.near_misses(match)
            )
        return found

    def assert_not_called(self, endpoint: str | None = None, **criteria: Any) -> None:
        """Assert no call matches."""
        match = _match(endpoint, criteria)
        found = [c for c in self._calls if not match.mismatches(c)]
        if found:
            listed = "\n".join(f"  {c}" for c in found)
            raise JournalAssertionError(f"expected no call matching {match}, found:\n{listed}")

    def near_misses(self, match: Match | CallMatch, limit: int = 10) -> str:
        """The calls that came closest to ``match``, each with why it did not match."""
        if not self._calls:
            return "The provider received no requests."
        scored = sorted(
            ((match.mismatches(c), i, c) for i, c in enumerate(self._calls)),
            key=lambda t: (len(t[0]), t[1]),
        )
        lines = ["Calls received (closest first):"]
        for reasons, _, call in scored[:limit]:
            why = "; ".join(reasons) if reasons else "matches"
            lines.append(f"  {call}\n      {why}")
        if len(scored) > limit:
            lines.append(f"  ... and {len(scored) - limit} more")
        return "\n".join(lines)


class CallMatch:
    """A :class:`~mockauth.scenarios.Match` plus what only a finished call has:
    the ``status`` it got and the OAuth ``error`` it carried.
    """

    def __init__(self, match: Match, status: int | None = None, error: str | None = None) -> None:
        self.match = match
        self.status = status
        self.error = error

    def mismatches(self, call: Call) -> list[str]:
        reasons = self.match.mismatches(call)
        if self.status is not None and call.status != self.status:
            reasons.append(f"status is {call.status}, not {self.status}")
        if self.error is not None and call.error != self.error:
            reasons.append(f"error is {call.error!r}, not {self.error!r}")
        return reasons

    def __str__(self) -> str:
        extra = [f"{k}={v!r}" for k, v in (("status", self.status), ("error", self.error)) if v]
        text = str(self.match)
        if not extra:
            return text
        inner = text[1:-1] if text != "(any request)" else ""
        return "(" + ", ".join([*([inner] if inner else []), *extra]) + ")"


def _match(endpoint: str | None, criteria: Mapping[str, Any]) -> CallMatch:
    rest = dict(criteria)
    status, error = rest.pop("status", None), rest.pop("error", None)
    return CallMatch(Match(endpoint=endpoint, **rest), status, error)


class JournalAssertionError(MockauthError, AssertionError):
    """A journal assertion failed; the message lists the near-misses."""


class Journal:
    """Thread-safe store of :class:`Call` records, bounded by count and by bytes:
    the newest ``max_calls`` calls holding at most ``max_bytes`` of requests
    (10,000 calls and 16 MiB by default). The newest call is always kept.
    """

    def __init__(self, max_calls: int = MAX_CALLS, max_bytes: int = MAX_BYTES) -> None:
        for name, value in (("max_calls", max_calls), ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise MockauthError(f"{name} must be a positive integer, got {value!r}")
        self._lock = threading.Lock()
        self._calls: deque[Call] = deque()
        self._max_calls = max_calls
        self._max_bytes = max_bytes
        self._bytes = 0

    @property
    def max_calls(self) -> int:
        """How many calls are kept; older ones are dropped first."""
        return self._max_calls

    @property
    def max_bytes(self) -> int:
        """How many bytes of requests are kept; older calls are dropped first."""
        return self._max_bytes

    @property
    def bytes(self) -> int:
        """About how many bytes the kept calls hold."""
        return self._bytes

    def record(self, call: Call) -> None:
        with self._lock:
            calls = self._calls
            calls.append(call)
            self._bytes += call.size
            while len(calls) > 1 and (
                len(calls) > self._max_calls or self._bytes > self._max_bytes
            ):
                self._bytes -= calls.popleft().size

    def snapshot(self) -> Calls:
        with self._lock:
            return Calls(list(self._calls))

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._bytes = 0


def _single(multi: Any) -> dict[str, str]:
    return {k: v[0] for k, v in multi.lists() if v}


def request_params(request: Request) -> dict[str, str]:
    """Query and form parameters (raw), parsing the form the way endpoints do."""
    params = _single(request.args)
    if request.method == "POST" and is_form(request):
        try:
            form = form_params(request)
        except OAuthError:
            return params
        params.update(form.values)
    return params


def new_call(
    endpoint: str | None, request: Request, params: Mapping[str, str] | None, now: float
) -> Call:
    """A journal entry for a request. Without ``params`` (the plain path) it keeps
    only references and works out parameters when someone reads them.
    """
    authorization = request.headers.get("Authorization")
    if params is not None:
        call = Call(
            endpoint, request.method, request.path, now, params=params,
            authorization=authorization,
        )  # fmt: skip
    else:
        # The form only if the endpoint parsed it already: recording never parses.
        source = (request.query_string, request.__dict__.get("form"), authorization)
        call = Call(endpoint, request.method, request.path, now, source=source)
    call.size += len(request.query_string) + len(request.body) + len(authorization or "")
    return call


def error_of(response: Any) -> str | None:
    """The OAuth error code a scripted response carries, if any (JSON body or
    redirect). Errors the provider raised are recorded as raised, not parsed back.
    """
    status = response.status_code
    if status in (302, 303):
        location = urlsplit(response.headers.get("Location", ""))
        found = parse_qs(location.query or location.fragment).get("error")
        return found[0] if found else None
    if status < 400 or response.mimetype != "application/json":
        return None
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None
