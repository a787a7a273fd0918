"""Downloading a file from the hub into the encrypted store, checked as it streams.

The bytes go into a resumable blob (an interrupted download continues with ``Range``
after a restart), hashed on the way; the result must be the sealed SHA-256 and size,
or, for a dossier without a sender seal, the digest the hub gives in its ``digest``
header. Anything else is a :class:`~gateway.case_checks.Refusal`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from gateway.case_checks import Refusal
from gateway.encrypted_blobs import EncryptedBlobStore, ResumableWriter
from gateway.errors import HubUnreachable
from gateway.link_client import LinkClient
from gateway.pull_import import PulledFile
from hubee.attachments import parse_digest
from hubee.errors import HubError

_CHUNK = 1024 * 1024


async def discard_all(files: Sequence[PulledFile]) -> None:
    """Drop files fetched for a dossier that is then refused."""
    for f in files:
        await asyncio.to_thread(f.writer.discard)


class Fetcher:
    def __init__(self, blobs: EncryptedBlobStore, link: LinkClient) -> None:
        self._blobs = blobs
        self._link = link

    async def fetch(
        self, path: str, *, name: str, meta: dict[str, Any], sha256: str | None
    ) -> PulledFile:
        """Download into a resumable encrypted blob; Refusal if the bytes are not the
        sealed ones (``sha256``) or, without a seal, not those the hub's digest names."""
        size = int(meta["size"])
        source = "hub's" if sha256 is None else "sealed"
        writer: ResumableWriter = await asyncio.to_thread(self._blobs.resumable, name, limit=size)
        try:
            async with self._link.download(path, offset=writer.offset) as response:
                header = response.headers.get("digest")
                if sha256 is None:
                    if header is None:
                        raise Refusal(f"{meta['fileName']}: the hub gave no digest to check")
                    sha256 = parse_digest(header)
                elif header is not None and parse_digest(header) != sha256:
                    raise Refusal(f"{meta['fileName']}: the hub's digest is not the sealed one")
                buffer = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    buffer += chunk
                    if len(buffer) >= _CHUNK:
                        await asyncio.to_thread(writer.write, bytes(buffer))
                        buffer.clear()
                if buffer:
                    await asyncio.to_thread(writer.write, bytes(buffer))
            result = await asyncio.to_thread(writer.finish)
        except (HubUnreachable, asyncio.CancelledError):
            await asyncio.to_thread(writer.suspend)
            raise
        except HubError as exc:  # larger than declared: not the sealed file
            await asyncio.to_thread(writer.discard)
            raise Refusal(f"{meta['fileName']}: {exc.message}") from exc
        except BaseException:
            await asyncio.to_thread(writer.discard)
            raise
        if result.sha256 != sha256 or result.size != size:
            await asyncio.to_thread(writer.discard)
            raise Refusal(
                f"{meta['fileName']}: SHA-256 {result.sha256} ({result.size} bytes) is not the "
                f"{source} {sha256} ({size} bytes)"
            )
        return PulledFile(
            str(meta["id"]),
            str(meta["fileName"]),
            str(meta.get("type", "")),
            size,
            str(meta.get("mimeType", "application/octet-stream")),
            sha256,
            writer,
        )
