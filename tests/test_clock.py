"""The provider clock: system time, shifted or frozen, and what expiry follows it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from mockauth import Clock, Provider, UnknownClientError


def test_unfrozen_it_reads_time_time_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "time", lambda: 1_000.0)
    assert clock.now() == 1_000.0
    monkeypatch.setattr(time, "time", lambda: 2_000.0)  # what time-machine / freezegun do
    assert clock.now() == 2_000.0


def test_advance_and_move_to_shift_a_running_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_000.0)
    clock = Clock()
    assert clock.advance(60) == 1_060.0
    assert clock.advance(-10) == 1_050.0
    assert (
        clock.move_to(datetime(2030, 1, 1, tzinfo=UTC))
        == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    )
    monkeypatch.setattr(time, "time", lambda: 1_005.0)  # still running: the offset stays
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC).timestamp() + 5
    clock.reset()
    assert clock.now() == 1_005.0


def test_freeze_and_unfreeze(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_000.0)
    clock = Clock()
    assert clock.freeze() == 1_000.0
    assert clock.frozen
    monkeypatch.setattr(time, "time", lambda: 9_999.0)
    assert clock.now() == 1_000.0
    clock.advance(30)
    assert clock.now() == 1_030.0
    clock.unfreeze()  # runs on from where it stood
    assert not clock.frozen
    monkeypatch.setattr(time, "time", lambda: 10_009.0)
    assert clock.now() == 1_040.0
    assert Clock(frozen_at=5.0).now() == 5.0


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        Clock().move_to(datetime(2030, 1, 1))


def test_tokens_expire_by_the_provider_clock(provider: Provider, http: httpx.Client) -> None:
    token = provider.issue_token("alice", scope="openid", expires_in=60)
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get(provider.endpoint("userinfo"), headers=headers).status_code == 200
    provider.clock.advance(61)
    assert http.get(provider.endpoint("userinfo"), headers=headers).status_code == 401


def test_a_provider_can_be_given_a_clock() -> None:
    clock = Clock(frozen_at=1_700_000_000)
    provider = Provider(clock=clock)
    token = provider.issue_token("x")
    assert provider.tokens.decode(token, verify_exp=False)["iat"] == 1_700_000_000


def test_remove_client(provider: Provider, http: httpx.Client) -> None:
    provider.remove_client("service")
    assert provider.get_client("service") is None
    response = http.post(
        provider.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=("service", "service-secret-0123456789-abcdefgh"),
    )
    assert response.status_code == 401
    with pytest.raises(UnknownClientError):
        provider.remove_client("service")
