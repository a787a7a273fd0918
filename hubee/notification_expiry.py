"""Notifications nobody deleted: expired after the démarche's retention.

HubEE's model is that the client deletes a notification once it has processed it
(``DELETE /notifications/{id}``). A client that never does would make the table grow
until the dossier itself is deleted, or for ever while its cases stay open. So a
notification older than its démarche's ``timeBeforeFolderDeletion`` (days, the longest
of its delays) is deleted by the retention purge, in batches, each batch journaled as
``purge.notifications`` with the démarche's code, the cut-off and the ids (nothing
else: no names, no dossier content).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hubee.event_sink import EventSink
from hubee.model import Process
from hubee.store import Store, StoreTx

BATCH = 500  # notifications per write unit


async def expire_notifications(
    store: Store, sink: EventSink, process: Process, *, now: datetime
) -> int:
    """Delete the démarche's notifications older than its retention; how many."""
    cutoff = now - timedelta(days=process.time_before_folder_deletion)

    def work(tx: StoreTx) -> int:
        ids = tx.notifications_created_before(process.code, cutoff, BATCH)
        if ids:
            tx.delete_notifications(ids)
            detail: dict[str, object] = {
                "process": process.code,
                "reason": "retention",
                "createdBefore": cutoff.isoformat(),
                "notifications": ids,
            }
            sink.record(tx, "purge.notifications", process.code, now, detail)
        return len(ids)

    total = 0
    while (done := await store.write(work)) > 0:
        total += done
        if done < BATCH:
            break
    return total
