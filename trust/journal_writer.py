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

from trust.errors import JournalError
from trust.journal import Journal, check_entry
from trust.merkle import LEAF_PREFIX

DEFAULT_MAX_BATCH = 10_000


@dataclass(frozen=True)
class _LoopWaiter:
    """An asyncio future, resolved on its own loop."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int]


_Waiter = Future[int] | _LoopWaiter
_Item = tuple[bytes, bytes, _Waiter]


def _settle(outcomes: Sequence[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    for future, outcome in outcomes:
        if future.cancelled():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _resolve(waiters: Sequence[_Waiter], outcomes: Sequence[int | BaseException]) -> None:
    """Settle thread futures now, and each loop's futures in one call on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]]
    by_loop = {}
    for waiter, outcome in zip(waiters, outcomes, strict=True):
        if isinstance(waiter, _LoopWaiter):
            by_loop.setdefault(waiter.loop, []).append((waiter.future, outcome))
        elif isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)
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
        self._enqueue(entry, future)
        return future

    def _enqueue(self, entry: bytes, waiter: _Waiter) -> None:
        check_entry(entry)
        item = (entry, hashlib.sha256(LEAF_PREFIX + entry).digest(), waiter)
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
            if not self._pending:
                return None
            count = min(len(self._pending), self._max_batch)
            return [self._pending.popleft() for _ in range(count)]

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
                    if isinstance(item[2], _LoopWaiter) or item[2].set_running_or_notify_cancel()
                ]
                if batch:
                    self._commit(journal, batch)
        finally:
            journal.close()

    def _commit(self, journal: Journal, batch: list[_Item]) -> None:
        waiters = [waiter for _, _, waiter in batch]
        try:
            indexes = journal._append_hashed([e for e, _, _ in batch], [h for _, h, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through its future
            _resolve(waiters, [exc] * len(batch))
            return
        self.commits += 1
        _resolve(waiters, indexes)


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
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.writer._enqueue(entry, _LoopWaiter(loop, future))
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
