"""Group commit for many concurrent producers of journal entries.

A :class:`JournalWriter` owns a dedicated thread and the journal connection
it writes with. Producers call :meth:`JournalWriter.submit` from any thread;
the writer takes everything pending, appends it in one transaction, and only
after that commit is durable (WAL fsynced) resolves each future with the
entry's index. A crash (even ``kill -9``) therefore loses only entries whose
future had not resolved; SQLite's WAL leaves the database whole.

:class:`AsyncJournalWriter` is the same for asyncio code: ``await
writer.append(entry)`` never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType

from trust.errors import JournalError
from trust.journal import Journal, check_entry

DEFAULT_MAX_BATCH = 10_000


class JournalWriter:
    """A thread appending submitted entries to the journal at ``path`` in group commits."""

    def __init__(self, path: str | Path, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.path = Path(path)
        self._max_batch = max_batch
        self._pending: deque[tuple[bytes, Future[int]]] = deque()
        self._wakeup = threading.Condition()
        self._closing = False
        self.commits = 0
        """Transactions committed so far (each holding one or more entries)."""
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
        check_entry(entry)
        future: Future[int] = Future()
        with self._wakeup:
            if self._closing:
                raise JournalError(f"journal writer for {self.path} is closed")
            self._pending.append((entry, future))
            self._wakeup.notify()
        return future

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

    def _take(self) -> list[tuple[bytes, Future[int]]] | None:
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
                batch = [(e, f) for e, f in taken if f.set_running_or_notify_cancel()]
                if batch and self._commit(journal, batch):
                    self.commits += 1
        finally:
            journal.close()

    @staticmethod
    def _commit(journal: Journal, batch: list[tuple[bytes, Future[int]]]) -> bool:
        try:
            indexes = journal.append_many(e for e, _ in batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through its future
            for _, future in batch:
                future.set_exception(exc)
            return False
        for index, (_, future) in zip(indexes, batch, strict=True):
            future.set_result(index)
        return True


class AsyncJournalWriter:
    """An asyncio face on :class:`JournalWriter`."""

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
        return await asyncio.wrap_future(self.writer.submit(entry))

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
