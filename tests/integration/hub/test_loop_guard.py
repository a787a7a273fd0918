"""The harness really fails a test whose code blocks the event loop."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from hubee.sqlite_store import SqliteTx
from tests.integration.hub.harness import run_guarded


def test_a_blocked_loop_fails_the_test() -> None:
    async def blocking() -> None:
        time.sleep(3.0)  # what a long synchronous SQLite or file call would do

    with pytest.raises(AssertionError, match="the event loop was blocked"):
        run_guarded(blocking())


def test_storage_refuses_to_run_on_the_loop(tmp_path: Path) -> None:
    async def on_the_loop() -> None:
        SqliteTx(sqlite3.connect(tmp_path / "x.db"))

    with pytest.raises(RuntimeError, match="event loop"):
        run_guarded(on_the_loop())
