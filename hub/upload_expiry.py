"""Abandoned resumable uploads: deleted by the purge, journaled and logged by id.

:func:`expire_uploads` is one pass (``sceau hub purge`` runs it after the retention
purge); :func:`run_upload_expiry` is the running hub's schedule (hourly, started by
:func:`hub.app.make_hub_app`). Each deleted spool is journaled as ``purge.upload``
with the attachment's id, the bytes dropped and when it was last written: nothing
else (no file name, no content). A later resume of it is answered 410
(:mod:`hub.uploads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from hub.uploads import ExpiredUpload, Uploads
from hubee.event_sink import EventSink
from hubee.model import Clock
from hubee.store import Store, StoreTx

log = logging.getLogger("hub.uploads")
EVERY = 3600.0  # seconds between two passes of the running hub


async def expire_uploads(
    uploads: Uploads, store: Store, sink: EventSink, *, now: datetime, after: timedelta
) -> list[ExpiredUpload]:
    """Delete the partial uploads untouched for ``after``; journal and log each."""
    expired = await asyncio.to_thread(uploads.expire, now=now, after=after)
    if not expired:
        return expired

    def journal(tx: StoreTx) -> None:
        for upload in expired:
            detail: dict[str, object] = {
                "reason": "abandoned",
                "bytes": upload.size,
                "lastWritten": upload.last_written.isoformat(),
                "abandonAfterHours": after.total_seconds() / 3600,
            }
            sink.record(tx, "purge.upload", upload.attachment_id, now, detail)

    await store.write(journal)
    for upload in expired:
        log.info(
            "purge: abandoned partial upload of attachment %s deleted (%d bytes)",
            upload.attachment_id,
            upload.size,
            extra={"attachment": upload.attachment_id, "bytes": upload.size},
        )
    return expired


async def run_upload_expiry(
    uploads: Uploads,
    store: Store,
    sink: EventSink,
    *,
    after: timedelta,
    clock: Clock,
    every: float = EVERY,
) -> None:
    """Expire abandoned uploads every ``every`` seconds until cancelled."""
    while True:
        one = asyncio.ensure_future(expire_uploads(uploads, store, sink, now=clock(), after=after))
        try:
            await asyncio.shield(one)
        except asyncio.CancelledError:
            # Stopping: let a running pass journal what it already deleted.
            with contextlib.suppress(Exception):
                await one
            raise
        except Exception:  # a failed pass is retried at the next one
            log.exception("purge: expiring abandoned uploads failed; retrying in %.0f s", every)
        await asyncio.sleep(every)
