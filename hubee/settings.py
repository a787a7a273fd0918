"""The hub's settings, as one frozen value (parsed at the edge: CLI or config loading)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

GIB = 1024**3


@dataclass(frozen=True)
class HubSettings:
    """Where the hub keeps its data, and its limits."""

    data_dir: Path
    token_ttl: timedelta = timedelta(hours=1)
    # HubEE: "attachments up to 1 GB"; a démarche may lower it (attachmentMaxSizeEnabled).
    max_attachment_bytes: int = GIB
    max_json_bytes: int = 1024 * 1024
    # The spec makes the upload ``digest`` header optional and DINUM's own Postman
    # collection omits it; set this to refuse uploads without one.
    require_digest: bool = False
    # Record every attachment download (``attachment.downloaded``, with the client id)
    # through the EventSink before the bytes are sent: a gateway journals "downloaded
    # by client X"; the hub does not, so that a download costs no write there.
    journal_downloads: bool = False

    def __post_init__(self) -> None:
        if self.token_ttl <= timedelta(0):
            raise ValueError("token_ttl must be positive")
        if self.max_attachment_bytes <= 0 or self.max_json_bytes <= 0:
            raise ValueError("size limits must be positive")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "hub.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
