"""Failed sign-ins per client address: a token bucket, and a count of refusals.

A failed sign-in (wrong password, unknown login, or an attempt on a locked account)
takes one token from its address's bucket; a bucket refills at one token every
``REFILL`` and holds at most ``BURST``. An address with an empty bucket gets the « trop
de tentatives » page (HTTP 429) before any password check or journal entry, so an
unauthenticated LAN client can neither burn argon2 work nor grow the append-only
journal at will. Memory is bounded: at most ``MAX_ADDRESSES`` buckets, the oldest
dropped first. The state is in memory only (a restart forgets it, which only helps the
legitimate user).

Attempts refused because the account is already locked are not journaled (the
lock-out was, once, when it started): they are counted in ``refused_while_locked``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

BURST = 10
REFILL = timedelta(seconds=6)  # ten failures a minute, sustained
MAX_ADDRESSES = 4096


@dataclass
class _Bucket:
    tokens: float
    at: datetime


@dataclass
class SignInGuard:
    """Per-address failure budget; not thread-safe (used on the event loop only)."""

    burst: int = BURST
    refill: timedelta = REFILL
    max_addresses: int = MAX_ADDRESSES
    refused_while_locked: int = 0
    refused_for_rate: int = 0
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    def _level(self, address: str, now: datetime) -> _Bucket | None:
        bucket = self._buckets.get(address)
        if bucket is None:
            return None
        gained = max(0.0, (now - bucket.at) / self.refill)
        bucket.tokens = min(float(self.burst), bucket.tokens + gained)
        bucket.at = now
        if bucket.tokens >= self.burst:  # full again: forget the address
            del self._buckets[address]
            return None
        return bucket

    def allows(self, address: str, *, now: datetime) -> bool:
        """Whether ``address`` may try a password now (it has a token left)."""
        bucket = self._level(address, now)
        if bucket is None or bucket.tokens >= 1:
            return True
        self.refused_for_rate += 1
        return False

    def failed(self, address: str, *, now: datetime) -> None:
        """Take one token for a failed attempt from ``address``."""
        bucket = self._level(address, now)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), at=now)
            self._buckets[address] = bucket
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(address)
        bucket.tokens = max(0.0, bucket.tokens - 1)
