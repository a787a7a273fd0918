"""The per-address budget of failed sign-ins (no clock mocking: time is a parameter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.console.signin_guard import SignInGuard

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_an_address_is_refused_after_its_burst_and_refills_slowly() -> None:
    guard = SignInGuard(burst=3, refill=timedelta(seconds=10))
    for _ in range(3):
        assert guard.allows("10.0.0.7", now=T0)
        guard.failed("10.0.0.7", now=T0)
    assert not guard.allows("10.0.0.7", now=T0)
    assert not guard.allows("10.0.0.7", now=T0 + timedelta(seconds=9))
    assert guard.allows("10.0.0.8", now=T0)  # another address has its own budget
    assert guard.allows("10.0.0.7", now=T0 + timedelta(seconds=10))
    guard.failed("10.0.0.7", now=T0 + timedelta(seconds=10))
    assert not guard.allows("10.0.0.7", now=T0 + timedelta(seconds=10))
    assert guard.refused_for_rate == 3


def test_a_full_bucket_is_forgotten_and_the_table_is_bounded() -> None:
    guard = SignInGuard(burst=2, refill=timedelta(seconds=1), max_addresses=3)
    for n in range(10):
        guard.failed(f"10.0.0.{n}", now=T0)
    assert len(guard._buckets) == 3  # the oldest addresses were dropped
    assert list(guard._buckets) == ["10.0.0.7", "10.0.0.8", "10.0.0.9"]
    assert guard.allows("10.0.0.9", now=T0 + timedelta(seconds=5))
    assert "10.0.0.9" not in guard._buckets  # refilled: nothing kept for it
