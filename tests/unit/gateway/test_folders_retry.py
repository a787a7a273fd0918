from __future__ import annotations

import pytest

from gateway.folders_retry import Backoff


def test_delays_grow_then_stay_at_the_cap() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=60.0, jitter=0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 7, 8, 1000)] == [1, 2, 4, 8, 60, 60, 60]


def test_jitter_only_shortens_and_stays_within_its_fraction() -> None:
    backoff = Backoff(initial=10.0, maximum=10.0, jitter=0.2)
    delays = {backoff.delay(1) for _ in range(200)}
    assert all(8.0 <= d <= 10.0 for d in delays) and len(delays) > 1


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"factor": 0.5}, {"initial": 5, "maximum": 1}, {"jitter": 1.5}],
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)
