"""A bearer token kept in a file readable by its owner only: made, replaced, checked.

The gateway's and the hub's ``/metrics`` are guarded this way (``keys/metrics.token``):
a scraper sends ``Authorization: Bearer <token>``. The token is compared in constant
time; no file, or an empty one, authorises nobody.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path


def create_token_file(path: Path) -> str:
    """A new random token written to ``path`` (0600, replaced atomically); returned."""
    token = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with open(tmp, "x", encoding="ascii") as out:
        tmp.chmod(0o600)
        out.write(token + "\n")
    tmp.replace(path)
    return token


def bearer_matches(header: str, path: Path) -> bool:
    """Whether an ``Authorization`` header value bears the token held in ``path``."""
    if not header.startswith("Bearer "):
        return False
    try:
        expected = path.read_text("ascii").strip()
    except OSError:
        return False
    return bool(expected) and hmac.compare_digest(header[7:].strip().encode(), expected.encode())
