"""Progressive backoff: how long to wait before the next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential delays, ``initial · factor^(attempt-1)``, capped at ``maximum``.

    ``jitter`` (a fraction, 0 to 1) spreads retries of many dossiers or many
    deliveries so that they do not all hit the API in the same second; tests set it
    to 0 to get exact delays.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 300.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.maximum < self.initial:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a fraction between 0 and 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure (1 for the first)."""
        exponent = max(0, attempt - 1)
        # Past ~64 doublings the float overflows; the cap is reached long before.
        base = (
            self.maximum
            if exponent > 64
            else min(self.maximum, self.initial * self.factor**exponent)
        )
        if self.jitter:
            base *= 1 - self.jitter * random.random()  # noqa: S311 - spreading, not secrecy
        return base
