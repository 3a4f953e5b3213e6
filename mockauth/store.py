"""Codes, refresh tokens, access-token records and sessions: one lock, atomic take.

Everything a client can redeem is taken under the store's lock, so a code or
refresh token presented by many threads at once succeeds exactly once
(RFC 6749 §4.1.2, RFC 9700 §4.14.2). Each table is bounded: when full,
expired entries go first, then the oldest.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .ids import unique_hex

__all__ = [
    "AccessRecord",
    "AuthorizationCode",
    "DeviceAuthorization",
    "Nonces",
    "PendingLogin",
    "PushedRequest",
    "RefreshRecord",
    "Session",
    "Store",
]

#: The most entries one table keeps (DESIGN: "stores are bounded").
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class AuthorizationCode:
    """An issued authorization code and everything it is bound to (RFC 6749 §4.1.2)."""

    code: str
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    sub: str
    auth_time: int
    expires_at: float
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    audience: tuple[str, ...] = ()
    #: The targets the authorization request named (RFC 8707 §2.1); a token
    #: request may narrow the audience to some of them.
    resources: tuple[str, ...] = ()
    sid: str | None = None
    #: RFC 9449 §10: the DPoP key the code is bound to (``dpop_jkt``).
    dpop_jkt: str | None = None
    #: Whether the authorization request named the redirect URI (else it was the
    #: client's only one): the token request must then repeat it (RFC 6749 §4.1.3).
    redirect_uri_sent: bool = True
    #: Claims the login added to the user's (the login page's textarea).
    login_claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RefreshRecord:
    """A refresh token; ``grant_id`` names its family for reuse detection."""

    token: str
    grant_id: str
    client_id: str
    sub: str
    scope: tuple[str, ...]
    auth_time: int | None
    expires_at: float
    audience: tuple[str, ...] = ()
    #: The targets its authorization named (RFC 8707 §2.2): a refresh may narrow to them.
    resources: tuple[str, ...] = ()
    sid: str | None = None
    used: bool = False
    #: The DPoP key a public client's refresh token is bound to (RFC 9449 §5).
    jkt: str | None = None
    #: Claims typed at the login page (or given to ``next_login``): in ID tokens and userinfo.
    login_claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class AccessRecord:
    """What the provider remembers of an access token it issued."""

    jti: str
    client_id: str
    sub: str
    scope: tuple[str, ...]
    issued_at: int
    expires_at: float
    audience: tuple[str, ...] = ()
    grant_id: str | None = None
    username: str | None = None
    opaque: str | None = None
    revoked: bool = False
    claims: dict[str, object] = field(default_factory=dict)
    #: How the token is presented (RFC 6750 ``Bearer``; ``DPoP`` for bound tokens).
    token_type: str = "Bearer"
    #: The login's own claims (the login page's), which userinfo adds to the user's.
    login_claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Session:
    """A browser session at the authorization endpoint (a cookie names it)."""

    sid: str
    sub: str
    auth_time: int
    expires_at: float
    #: Claims the login added to the user's (the login page's textarea).
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class DeviceAuthorization:
    """A device authorization request (RFC 8628 §3.2) and where it stands.

    ``status`` is ``pending`` until the user approves (``approved``, with ``sub``)
    or denies (``denied``); ``used`` once tokens were issued for it. ``interval``
    grows by 5 s at each ``slow_down`` (§3.5); ``last_poll`` is on the provider clock.
    """

    device_code: str
    user_code: str  # normalised: the 8 characters, upper case, no separator
    client_id: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    expires_at: float
    interval: int
    status: str = "pending"
    sub: str | None = None
    auth_time: int | None = None
    last_poll: float | None = None
    polls: int = 0


@dataclass(frozen=True)
class PushedRequest:
    """A pushed authorization request (RFC 9126 §2): its parameters, bound to its
    client, until ``expires_at`` or its one use."""

    request_uri: str
    client_id: str
    params: tuple[tuple[str, str], ...]
    expires_at: float


@dataclass(frozen=True)
class PendingLogin:
    """An authorization request waiting at the login page: its validated request
    (``request``), until ``expires_at``; a form posted for it must carry ``csrf``,
    in its fields and in the browser's cookie.
    """

    login_id: str
    csrf: str
    request: Any
    expires_at: float
    #: Once signed in, who (an ``Approved``): the page then asks for consent.
    approved: Any = None


class Nonces:
    """Server nonces (RFC 9449 §8): one current, replaced every ``ttl`` seconds of
    provider time; the one before it is still accepted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[str, float] | None = None
        self._previous: str | None = None

    def current(self, now: float, ttl: float) -> str:
        with self._lock:
            if self._current is None or now - self._current[1] >= ttl:
                self._previous = self._current[0] if self._current else None
                self._current = (unique_hex(), now)
            return self._current[0]

    def valid(self, nonce: object, now: float, ttl: float) -> bool:
        current = self.current(now, ttl)
        return isinstance(nonce, str) and nonce in (current, self._previous)


V = TypeVar("V")


class _Table(Generic[V]):
    """A dict with a size bound; expiry is read through ``expires``.

    A heap of ``(expires_at, key)`` beside the dict finds what to drop in
    O(log n): expired entries go as time passes, and a full table drops the
    entry that expires soonest (an expired one first). Nothing scans the table:
    a heap entry whose key is gone, or now expires at another time, is skipped
    when it comes up, and the heap is rebuilt once such stale entries outnumber
    the live ones (amortised O(1) per insertion, as asyncio does with its timers).
    """

    __slots__ = ("_expires", "_heap", "items", "limit")

    def __init__(self, expires: Callable[[V], float], limit: int = MAX_ENTRIES) -> None:
        self.items: dict[str, V] = {}
        self._expires = expires
        self._heap: list[tuple[float, str]] = []
        self.limit = limit

    def put(self, key: str, value: V, now: float) -> None:
        items, heap = self.items, self._heap
        self._drop_expired(now)
        if key not in items:
            while len(items) >= self.limit and heap:
                self._drop_first()
        items[key] = value
        heapq.heappush(heap, (self._expires(value), key))
        if len(heap) > 2 * len(items) + 1024:  # mostly stale: start again from the live entries
            self._heap = [(self._expires(v), k) for k, v in items.items()]
            heapq.heapify(self._heap)

    def _live(self, entry: tuple[float, str]) -> bool:
        found = self.items.get(entry[1])
        return found is not None and self._expires(found) == entry[0]

    def _drop_first(self) -> None:
        entry = heapq.heappop(self._heap)
        if self._live(entry):
            del self.items[entry[1]]

    def _drop_expired(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            self._drop_first()

    def clear(self) -> None:
        self.items.clear()
        self._heap.clear()


@dataclass(frozen=True)
class _Tombstone:
    grant_id: str
    expires_at: float


class Store:
    """All mutable protocol state of one provider."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.codes: _Table[AuthorizationCode] = _Table(lambda c: c.expires_at)
        self.used_codes: _Table[_Tombstone] = _Table(lambda t: t.expires_at)
        self.refresh: _Table[RefreshRecord] = _Table(lambda r: r.expires_at)
        self.access: _Table[AccessRecord] = _Table(lambda a: a.expires_at)
        self.opaque: _Table[AccessRecord] = _Table(lambda a: a.expires_at)
        self.sessions: _Table[Session] = _Table(lambda s: s.expires_at)
        self.revoked_grants: _Table[float] = _Table(lambda t: t)
        #: JWT ids already seen (client assertions, DPoP proofs), until they expire.
        self.seen_jti: _Table[float] = _Table(lambda t: t)
        #: Device authorizations by device code, and their device codes by user code.
        self.devices: _Table[DeviceAuthorization] = _Table(lambda d: d.expires_at)
        self.user_codes: _Table[tuple[str, float]] = _Table(lambda u: u[1])
        #: DPoP server nonces (RFC 9449 §8).
        self.dpop_nonces = Nonces()
        #: Pushed authorization requests by request_uri (RFC 9126).
        self.pushed: _Table[PushedRequest] = _Table(lambda p: p.expires_at)
        #: Authorization requests waiting at the login page, by login id.
        self.logins: _Table[PendingLogin] = _Table(lambda p: p.expires_at)
        #: Logins a test queued (``next_login``): (sub, claims), oldest first.
        self.next_logins: list[tuple[str, dict[str, Any]]] = []
        #: The scopes each user allowed each client, by "sub NUL client_id".
        self.consents: dict[str, frozenset[str]] = {}

    def clear(self) -> None:
        """Forget every code, token, session and revocation (an admin reset)."""
        with self.lock:
            for table in (self.codes, self.used_codes, self.refresh, self.access, self.opaque,
                          self.sessions, self.revoked_grants, self.seen_jti, self.devices,
                          self.user_codes, self.pushed, self.logins):  # fmt: skip
                table.clear()
            self.next_logins.clear()
            self.consents.clear()

    # codes -----------------------------------------------------------------
    def put_code(self, code: AuthorizationCode, now: float) -> None:
        with self.lock:
            self.codes.put(code.code, code, now)

    def put_pushed(self, pushed: PushedRequest, now: float) -> None:
        with self.lock:
            self.pushed.put(pushed.request_uri, pushed, now)

    def put_login(self, pending: PendingLogin, now: float) -> None:
        with self.lock:
            self.logins.put(pending.login_id, pending, now)

    def login(self, login_id: str, now: float) -> PendingLogin | None:
        """A pending login, while it lives (it stays until used: a wrong password
        shows the form again)."""
        with self.lock:
            found = self.logins.items.get(login_id)
        return found if found is not None and found.expires_at > now else None

    def take_login(self, login_id: str) -> PendingLogin | None:
        """Use a pending login once: the answer is a redirect, never a second one."""
        with self.lock:
            return self.logins.items.pop(login_id, None)

    def consented(self, sub: str, client_id: str) -> frozenset[str] | None:
        """The scopes ``sub`` allowed ``client_id`` so far (``None``: never asked)."""
        return self.consents.get(f"{sub}\x00{client_id}")

    def consent(self, sub: str, client_id: str, scopes: tuple[str, ...]) -> None:
        with self.lock:
            key = f"{sub}\x00{client_id}"
            self.consents[key] = self.consents.get(key, frozenset()) | frozenset(scopes)

    def queue_login(self, sub: str, claims: Mapping[str, Any]) -> None:
        with self.lock:
            self.next_logins.append((sub, dict(claims)))

    def take_next_login(self) -> tuple[str, dict[str, Any]] | None:
        """The oldest queued login, taken, or ``None``."""
        if not self.next_logins:  # the usual case: no lock on every /authorize
            return None
        with self.lock:
            return self.next_logins.pop(0) if self.next_logins else None

    def take_pushed(self, request_uri: str) -> PushedRequest | None:
        """Take a pushed request once (RFC 9126 §4: a request_uri is used once)."""
        with self.lock:
            return self.pushed.items.pop(request_uri, None)

    def take_code(
        self, value: str, grant_id: str, now: float, keep_tombstone_for: float
    ) -> tuple[AuthorizationCode | None, str | None]:
        """Take a code once. Returns ``(code, None)``, or ``(None, grant_id)`` on replay.

        The tombstone lets a replay revoke what the first redemption produced
        (RFC 6749 §4.1.2).
        """
        with self.lock:
            code = self.codes.items.pop(value, None)
            if code is not None:
                self.used_codes.put(value, _Tombstone(grant_id, now + keep_tombstone_for), now)
                return code, None
            stone = self.used_codes.items.get(value)
            return None, (stone.grant_id if stone is not None else None)

    # grants ----------------------------------------------------------------
    def revoke_grant(self, grant_id: str, until: float, now: float) -> None:
        """Invalidate every token of a grant (code replay, refresh-token reuse,
        revocation) until ``until``, the last expiry of its tokens. Readers ask
        :meth:`grant_revoked`: nothing here scans the tokens.
        """
        with self.lock:
            self.revoked_grants.put(grant_id, until, now)

    def grant_revoked(self, grant_id: str | None) -> bool:
        return grant_id is not None and grant_id in self.revoked_grants.items

    def revoke_matching(self, matches: Callable[[str, str], bool], now: float) -> int:
        """Revoke the access and refresh tokens whose ``(sub, client_id)`` match."""
        count = 0
        with self.lock:
            for record in self.refresh.items.values():
                if not record.used and matches(record.sub, record.client_id):
                    record.used = True
                    self.revoked_grants.put(record.grant_id, record.expires_at, now)
                    count += 1
            for access in self.access.items.values():
                if not access.revoked and matches(access.sub, access.client_id):
                    access.revoked = True
                    count += 1
        return count

    # refresh tokens --------------------------------------------------------
    def put_refresh(self, record: RefreshRecord, now: float) -> None:
        with self.lock:
            self.refresh.put(record.token, record, now)

    def use_refresh(self, token: str, *, rotate: bool) -> tuple[RefreshRecord | None, bool]:
        """Look up a refresh token and, with rotation, mark it used atomically.

        Returns ``(record, was_already_used)``.
        """
        with self.lock:
            record = self.refresh.items.get(token)
            if record is None:
                return None, False
            already = record.used
            if rotate:
                record.used = True
            return record, already

    # access tokens ---------------------------------------------------------
    def put_access(self, record: AccessRecord, now: float) -> None:
        with self.lock:
            self.access.put(record.jti, record, now)
            if record.opaque is not None:
                self.opaque.put(record.opaque, record, now)

    def access_by_jti(self, jti: str) -> AccessRecord | None:
        return self.access.items.get(jti)

    def access_by_opaque(self, token: str) -> AccessRecord | None:
        return self.opaque.items.get(token)

    # replay ----------------------------------------------------------------
    def first_use(self, key: str, until: float, now: float) -> bool:
        """Whether ``key`` (a JWT id) is seen for the first time; it is then
        remembered until ``until``. Atomic: of two concurrent uses, one wins.
        """
        with self.lock:
            seen = self.seen_jti.items.get(key)
            if seen is not None and seen > now:
                return False
            self.seen_jti.put(key, until, now)
            return True

    # sessions --------------------------------------------------------------
    def put_session(self, session: Session, now: float) -> None:
        with self.lock:
            self.sessions.put(session.sid, session, now)

    def session(self, sid: str, now: float) -> Session | None:
        found = self.sessions.items.get(sid)
        if found is None or found.expires_at <= now:
            return None
        return found

    def end_session(self, sid: str) -> Session | None:
        with self.lock:
            return self.sessions.items.pop(sid, None)

    # device authorizations (RFC 8628) ------------------------------------------
    def put_device(self, device: DeviceAuthorization, now: float) -> None:
        with self.lock:
            self.devices.put(device.device_code, device, now)
            self.user_codes.put(device.user_code, (device.device_code, device.expires_at), now)

    def device_by_user_code(self, user_code: str) -> DeviceAuthorization | None:
        """The device authorization a user code (normalised) names, if it is still kept."""
        with self.lock:
            found = self.user_codes.items.get(user_code)
            return self.devices.items.get(found[0]) if found else None
