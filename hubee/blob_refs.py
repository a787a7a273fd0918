"""Removal of blobs that no attachment references any more."""

from __future__ import annotations

from collections.abc import Iterable

from hubee.blobs import BlobStore
from hubee.store import Store, StoreTx


async def drop_unreferenced_blobs(store: Store, blobs: BlobStore, shas: Iterable[str]) -> int:
    """Delete the blobs among ``shas`` that no live attachment uses; returns how many.

    Runs as a write unit, after the unit that dropped the references has committed:
    on the writer thread, "is it still used?" and "delete it" cannot interleave with
    the publication of a new upload of the same content.
    """
    wanted = sorted(set(shas))
    if not wanted:
        return 0

    def work(tx: StoreTx) -> int:
        return sum(1 for sha in wanted if not tx.blob_in_use(sha) and blobs.delete(sha))

    return await store.write(work)
