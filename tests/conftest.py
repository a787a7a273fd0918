"""Shared fixtures: throwaway PKIs over several algorithms, and tool look-ups."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from trust.keys import KeyAlgorithm
from trust.throwaway_pki import ThrowawayPki

_CACHE: dict[KeyAlgorithm, ThrowawayPki] = {}


def _pki_for(algorithm: KeyAlgorithm) -> ThrowawayPki:
    # RSA-3072 key generation is slow; one PKI per algorithm per session is enough.
    if algorithm not in _CACHE:
        _CACHE[algorithm] = ThrowawayPki.create(algorithm)
    return _CACHE[algorithm]


@pytest.fixture
def pki() -> ThrowawayPki:
    """The default PKI: ECDSA P-256."""
    return _pki_for(KeyAlgorithm.EC_P256)


@pytest.fixture(params=list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def any_pki(request: pytest.FixtureRequest) -> ThrowawayPki:
    """The same PKI shape for each supported algorithm: P-256, Ed25519, RSA-3072."""
    return _pki_for(request.param)


@pytest.fixture
def make_pki() -> Callable[..., ThrowawayPki]:
    """A fresh PKI each call (when a test needs its own root)."""
    return ThrowawayPki.create


@pytest.fixture(scope="session")
def openssl() -> str:
    """The real openssl binary; the test setup (./run test) installs it."""
    path = shutil.which("openssl")
    assert path, "openssl is required for interop tests: ./run test installs it with apt"
    return path
