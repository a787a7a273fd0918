"""The gateway's client of the hub link API (docs/LINK.md), over mutual TLS.

One :class:`aiohttp.ClientSession` with the enrolled certificate and the pinned hub CA
(:func:`gateway.identity.link_ssl_context`). Each method is one link call; failures
are sorted in two: :class:`~gateway.errors.HubUnreachable` (no answer, a timeout,
408, 425, 429 or 5xx: retry later) and :class:`~gateway.errors.HubRefused` (another
4xx: retrying the same request will not help).
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from gateway.errors import HubRefused, HubUnreachable

FEED = "/link/v1/notifications"
_TRANSIENT = {408, 425, 429}
_IDLE_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=120)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise HubRefused(f"the hub's answer lacks {what}", status=502)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise HubRefused(f"the hub's {what} is not base64", status=502) from None


async def _error(response: aiohttp.ClientResponse, what: str) -> Exception:
    try:
        body = await response.json(content_type=None)
        message = str(body["errors"][0]["message"])
    except (ValueError, KeyError, IndexError, TypeError, aiohttp.ClientError):
        message = response.reason or ""
    text = f"{what}: HTTP {response.status} {message}".strip()
    if response.status >= 500 or response.status in _TRANSIENT:
        return HubUnreachable(text)
    return HubRefused(text, status=response.status)


class LinkClient:
    def __init__(self, base_url: str, context: ssl.SSLContext | None) -> None:
        self.base = base_url.rstrip("/")
        self._context = context
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._context if self._context else False)
            self._session = aiohttp.ClientSession(connector=connector, timeout=_IDLE_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @asynccontextmanager
    async def _call(
        self, method: str, path: str, what: str, **kwargs: Any
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        answered = False
        try:
            async with self.session.request(method, self.base + path, **kwargs) as response:
                if response.status >= 400:
                    raise await _error(response, what)
                answered = True
                yield response
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HubUnreachable(f"{what}: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            if answered:  # the caller's own I/O (a full disk…), not the network's
                raise
            raise HubUnreachable(f"{what}: {exc}") from exc

    async def _json(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        async with self._call(method, path, what, **kwargs) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                raise HubRefused(f"{what}: the hub's answer is not JSON", status=502) from None
        if not isinstance(body, dict):
            raise HubRefused(f"{what}: the hub's answer is not a JSON object", status=502)
        return body

    # The feed -----------------------------------------------------------------------------

    async def feed(self, *, after: int, wait: float, limit: int = 100) -> dict[str, Any]:
        return await self._json(
            "GET",
            FEED,
            "reading the feed",
            params={"after": str(after), "wait": f"{wait:g}", "limit": str(limit)},
            timeout=aiohttp.ClientTimeout(total=wait + 30),
        )

    # Sending a folder ---------------------------------------------------------------------

    async def push_folder(
        self, folder_id: str, folder: dict[str, Any], manifest: bytes, seal: bytes
    ) -> dict[str, Any]:
        body = {"folder": folder, "manifest": b64(manifest), "seal": b64(seal)}
        return await self._json(
            "PUT", f"/link/v1/folders/{folder_id}", "pushing a folder", json=body
        )

    async def upload_offset(self, path: str) -> int:
        async with self._call("HEAD", path, "asking an upload's offset") as response:
            return int(response.headers.get("Upload-Offset", "0"))

    async def upload(
        self,
        path: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        size: int,
        digest: str,
    ) -> int:
        """PUT the bytes from ``offset``; returns the hub's ``Upload-Offset`` after it."""
        headers = {"Content-Type": "application/octet-stream", "digest": digest}
        if offset:
            headers["Content-Range"] = f"bytes {offset}-{size - 1}/{size}"
        async with self._call(
            "PUT", path, "uploading an attachment", data=chunks, headers=headers
        ) as response:
            return int(response.headers.get("Upload-Offset", str(size)))

    async def complete(self, folder_id: str) -> dict[str, Any]:
        return await self._json(
            "POST", f"/link/v1/folders/{folder_id}/complete", "completing a folder"
        )

    # Cases, events, receipts ----------------------------------------------------------------

    async def get_case(self, case_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/link/v1/cases/{case_id}", "pulling a case")

    @asynccontextmanager
    async def download(self, path: str, *, offset: int) -> AsyncIterator[aiohttp.ClientResponse]:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        async with self._call("GET", path, "downloading an attachment", headers=headers) as r:
            if offset and r.status != 206:
                raise HubUnreachable("the hub did not resume the download (no 206)")
            yield r

    async def set_status(self, case_id: str, status: str) -> None:
        async with self._call(
            "PATCH",
            f"/link/v1/cases/{case_id}",
            "changing a case's status",
            json={"status": status},
        ):
            pass

    async def create_event(
        self, case_id: str, event: dict[str, Any], manifest: bytes, seal: bytes
    ) -> dict[str, Any]:
        body = {"event": event, "manifest": b64(manifest), "seal": b64(seal)}
        return await self._json(
            "POST", f"/link/v1/cases/{case_id}/events", "sending an event", json=body
        )

    async def get_event(self, case_id: str, event_id: str) -> dict[str, Any]:
        return await self._json(
            "GET", f"/link/v1/cases/{case_id}/events/{event_id}", "pulling an event"
        )

    async def post_receipt(self, case_id: str, receipt: bytes, seal: bytes) -> dict[str, Any]:
        body = {"receipt": b64(receipt), "seal": b64(seal)}
        return await self._json(
            "POST", f"/link/v1/cases/{case_id}/receipt", "sending a receipt", json=body
        )

    async def get_receipt(self, receipt_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/link/v1/receipts/{receipt_id}", "pulling a receipt")

    # Key rotation (docs/KEYS.md) ------------------------------------------------------------

    async def request_renewal(self, tls_csr: str, seal_csr: str) -> dict[str, Any]:
        body = {"tlsCsr": tls_csr, "sealCsr": seal_csr}
        return await self._json(
            "POST", "/link/v1/gateway/renewal", "asking for new certificates", json=body
        )

    async def complete_renewal(self) -> dict[str, Any]:
        return await self._json(
            "POST", "/link/v1/gateway/renewal/complete", "completing the key rotation"
        )

    # Witness --------------------------------------------------------------------------------

    async def witness(self, note: bytes, proof: list[bytes], from_size: int) -> bytes:
        body = {"note": note.decode(), "proof": [b64(h) for h in proof], "fromSize": from_size}
        answer = await self._json(
            "POST", "/link/v1/checkpoints", "witnessing a checkpoint", json=body
        )
        cosigned = answer.get("note")
        if not isinstance(cosigned, str):
            raise HubRefused("the witness answered no note", status=502)
        return cosigned.encode()


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True)
