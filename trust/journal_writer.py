"""Group commit for many concurrent producers of journal entries.

A :class:`JournalWriter` owns a dedicated thread and the journal connection
it writes with. Producers call :meth:`JournalWriter.submit` from any thread;
the writer takes everything pending, appends it in one transaction, and only
after that commit is durable (WAL fsynced) resolves each future with the
entry's index. A crash (even ``kill -9``) therefore loses only entries whose
future had not resolved; SQLite's WAL leaves the database whole.

:class:`AsyncJournalWriter` is the same for asyncio code: ``await
writer.append(entry)`` never blocks the event loop.

Producers check and hash their own entries, so that work runs while the
writer thread waits on SQLite and fsync with the GIL released.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from trust.errors import JournalError
from trust.journal import Journal, check_entry
from trust.merkle import LEAF_PREFIX

DEFAULT_MAX_BATCH = 10_000


@dataclass(frozen=True)
class _LoopWaiter:
    """An asyncio future, resolved on its own loop."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class _Item:
    """Entries submitted together: one commit holds all of them, one waiter learns their indexes."""

    entries: list[bytes]
    leaves: list[bytes]
    waiter: Future[Any] | _LoopWaiter
    single: bool


def _settle(outcomes: Sequence[tuple[asyncio.Future[Any], object]]) -> None:
    for future, outcome in outcomes:
        if future.cancelled():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _resolve(items: Sequence[_Item], outcomes: Sequence[list[int] | BaseException]) -> None:
    """Settle thread futures now, and each loop's futures in one call on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], object]]] = {}
    for item, outcome in zip(items, outcomes, strict=True):
        result = outcome[0] if item.single and isinstance(outcome, list) else outcome
        waiter = item.waiter
        if isinstance(waiter, _LoopWaiter):
            by_loop.setdefault(waiter.loop, []).append((waiter.future, result))
        elif isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled)


class JournalWriter:
    """A thread appending submitted entries to the journal at ``path`` in group commits.

    ``commits`` counts the transactions committed so far.
    """

    def __init__(self, path: str | Path, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.path = Path(path)
        self.commits = 0
        self._max_batch = max_batch
        self._pending: deque[_Item] = deque()
        self._wakeup = threading.Condition()
        self._closing = False
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name=f"journal-writer:{self.path.name}", daemon=True
        )
        self._thread.start()
        opened.result()  # re-raises JournalError if the journal could not be opened

    def submit(self, entry: bytes) -> Future[int]:
        """Queue ``entry``; the future resolves to its index once it is durable.

        Never blocks on I/O. A cancelled future's entry is not written, if the
        writer has not taken it yet.
        """
        future: Future[int] = Future()
        self._enqueue([entry], future, single=True)
        return future

    def submit_many(self, entries: Sequence[bytes]) -> Future[list[int]]:
        """Queue ``entries`` to be committed together (all or none); one future for them all."""
        future: Future[list[int]] = Future()
        if entries:
            self._enqueue(list(entries), future, single=False)
        else:
            future.set_result([])
        return future

    def _enqueue(
        self, entries: list[bytes], waiter: Future[Any] | _LoopWaiter, *, single: bool
    ) -> None:
        for entry in entries:
            check_entry(entry)
        leaves = [hashlib.sha256(LEAF_PREFIX + e).digest() for e in entries]
        item = _Item(entries, leaves, waiter, single)
        with self._wakeup:
            if self._closing:
                raise JournalError(f"journal writer for {self.path} is closed")
            self._pending.append(item)
            self._wakeup.notify()

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting entries, write those already submitted, close the journal."""
        with self._wakeup:
            self._closing = True
            self._wakeup.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise JournalError(f"journal writer for {self.path} did not stop in time")

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _take(self) -> list[_Item] | None:
        with self._wakeup:
            while not self._pending and not self._closing:
                self._wakeup.wait()
            taken: list[_Item] = []
            count = 0
            while self._pending and (
                not taken or count + len(self._pending[0].entries) <= self._max_batch
            ):
                item = self._pending.popleft()
                taken.append(item)
                count += len(item.entries)
            return taken or None

    def _run(self, opened: Future[None]) -> None:
        try:
            journal = Journal.open(self.path)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through its future
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            while (taken := self._take()) is not None:
                batch = [
                    item
                    for item in taken
                    if isinstance(item.waiter, _LoopWaiter)
                    or item.waiter.set_running_or_notify_cancel()
                ]
                if batch:
                    self._commit(journal, batch)
        finally:
            journal.close()

    def _commit(self, journal: Journal, batch: list[_Item]) -> None:
        entries = [e for item in batch for e in item.entries]
        leaves = [h for item in batch for h in item.leaves]
        try:
            indexes = journal._append_hashed(entries, leaves)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through its future
            _resolve(batch, [exc] * len(batch))
            return
        self.commits += 1
        outcomes, start = [], 0
        for item in batch:
            outcomes.append(indexes[start : start + len(item.entries)])
            start += len(item.entries)
        _resolve(batch, outcomes)


class AsyncJournalWriter:
    """An asyncio face on :class:`JournalWriter`.

    Each commit settles all of a loop's waiting appends in one callback on that
    loop, rather than one cross-thread wake-up per entry (as
    ``asyncio.wrap_future`` would). Cancelling an awaiting task does not
    withdraw its entry: it may still be written.
    """

    def __init__(self, writer: JournalWriter) -> None:
        self.writer = writer

    @classmethod
    async def open(
        cls, path: str | Path, *, max_batch: int = DEFAULT_MAX_BATCH
    ) -> AsyncJournalWriter:
        writer = await asyncio.to_thread(JournalWriter, path, max_batch=max_batch)
        return cls(writer)

    async def append(self, entry: bytes) -> int:
        """Append ``entry``; return its index once it is durable."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.writer._enqueue([entry], _LoopWaiter(future.get_loop(), future), single=True)
        return await future

    async def append_many(self, entries: Sequence[bytes]) -> list[int]:
        """Append ``entries`` in one commit (all or none); return their indexes once durable."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self.writer._enqueue(list(entries), _LoopWaiter(future.get_loop(), future), single=False)
        return await future

    async def aclose(self) -> None:
        await asyncio.to_thread(self.writer.close)

    async def __aenter__(self) -> AsyncJournalWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
