"""A small client of the HubEE v1 API, as served by a gateway on its LAN or by the hub.

It speaks only HTTP (aiohttp's client), so the watched folders and the webhooks work
the same against either. Tokens come from ``POST /token`` (OAuth2 client credentials,
HTTP Basic, RFC 6749 §4.4); a token is renewed shortly before it expires, and once
more if the API answers 401 (the server may have been restarted, or its clock runs
ahead of ours).

Failures become :mod:`gateway.folders_errors`: ``ApiUnavailable`` when retrying may
help (no answer, 5xx, 408, 429), ``ApiRefused`` when it won't (other 4xx), with the
API's own message (HubEE's ``{"errors": [{"code", "message"}]}`` body).

Files are streamed both ways in 256 KiB chunks, read and written in worker threads;
the SHA-256 is computed while streaming.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp

from gateway.folders_errors import (
    ApiRefused,
    ApiUnavailable,
    CredentialsRejected,
    TransferCorrupted,
)

CHUNK = 256 * 1024
TOKEN_MARGIN = 30.0  # seconds: renew a token this long before the server expires it
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504, 507})
Json = dict[str, Any]


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth2 client of the HubEE API. The secret never appears in ``repr``."""

    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None  # "OSL" or "SI"; None lets the server pick the client's own


@dataclass(frozen=True)
class Downloaded:
    size: int
    sha256: bytes

    @property
    def digest_b64(self) -> str:
        return base64.b64encode(self.sha256).decode()


def b64_digest(raw: str) -> bytes | None:
    """The SHA-256 in a ``digest`` header (base64, optionally ``SHA-256=``-prefixed)."""
    value = raw.strip()
    if value.upper().startswith("SHA-256="):
        value = value[len("SHA-256=") :]
    try:
        decoded = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return decoded if len(decoded) == 32 else None


def _error_message(body: bytes) -> str:
    try:
        document = json.loads(body)
        return str(document["errors"][0]["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        text = body.decode("utf-8", "replace").strip()
        return text[:500] or "(no message)"


class HubeeApi:
    """The HubEE v1 API at ``base_url`` for one client. Use as an async context manager."""

    def __init__(
        self,
        base_url: str,
        credentials: ClientCredentials,
        *,
        timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> HubeeApi:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use HubeeApi as 'async with HubeeApi(...) as api'")
        return self._session

    # -- tokens ------------------------------------------------------------------

    async def _bearer(self) -> str:
        async with self._token_lock:
            if self._token is not None and self._clock() < self._token_expires:
                return self._token
            form = {"grant_type": "client_credentials"}
            if self._credentials.scope:
                form["scope"] = self._credentials.scope
            pair = f"{self._credentials.client_id}:{self._credentials.client_secret}"
            basic = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
            try:
                async with self.session.post(
                    f"{self.base_url}/token", data=form, headers=basic
                ) as response:
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._unreachable("POST /token", exc) from exc
            if status in _RETRYABLE:
                raise ApiUnavailable(f"POST /token at {self.base_url} answered {status}")
            if status != 200:
                raise CredentialsRejected(
                    f"the API at {self.base_url} refused the client "
                    f"{self._credentials.client_id}: {status} {_error_message(body)}"
                )
            try:
                document = json.loads(body)
                token = str(document["access_token"])
                lifetime = float(document.get("expires_in", 300))
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiUnavailable(f"POST /token answered an unreadable body ({exc})") from exc
            self._token = token
            self._token_expires = self._clock() + max(1.0, lifetime - TOKEN_MARGIN)
            return token

    def _forget_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    def _unreachable(self, what: str, exc: BaseException) -> ApiUnavailable:
        reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
        return ApiUnavailable(f"{what}: the API at {self.base_url} did not answer ({reason})")

    # -- requests -----------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        upload: Path | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One API request; returns ``(status, body)`` of a 2xx, raises otherwise.

        ``upload`` is a file sent as the body; it is opened afresh for each attempt
        (aiohttp reads it in worker threads and closes it, even when cut short).
        """
        what = f"{method} {path}"
        for attempt in (1, 2):
            token = await self._bearer()
            sent = {"Authorization": f"Bearer {token}", **(headers or {})}
            data: Any = None
            if json_body is not None:
                data = json.dumps(json_body).encode()
                sent["Content-Type"] = "application/json"
            elif upload is not None:
                data = await asyncio.to_thread(upload.open, "rb")
            try:
                async with self.session.request(
                    method, f"{self.base_url}{path}", data=data, headers=sent, params=params
                ) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._unreachable(what, exc) from exc
            if status == 401 and attempt == 1:
                self._forget_token(token)
                continue
            if 200 <= status < 300:
                return status, raw
            message = _error_message(raw)
            if status in _RETRYABLE:
                raise ApiUnavailable(f"{what} answered {status}: {message}")
            if status == 401:
                raise CredentialsRejected(f"{what}: a fresh token was refused: {message}")
            raise ApiRefused(message, status=status)
        raise AssertionError("unreachable")  # pragma: no cover

    async def call_json(self, method: str, path: str, **kwargs: Any) -> Any:
        _, raw = await self.call(method, path, **kwargs)
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiUnavailable(f"{method} {path} answered a body that is not JSON") from exc

    async def upload(self, path: str, file: Path, *, size: int, sha256: bytes) -> None:
        """``PUT`` the file's bytes with the ``digest`` header (base64 SHA-256)."""
        await self.call(
            "PUT",
            path,
            upload=file,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
                "digest": base64.b64encode(sha256).decode(),
            },
        )

    async def download(self, path: str, dest: Path, *, expected_size: int | None) -> Downloaded:
        """Stream ``GET path`` into ``dest`` (created, fsynced); checks size and digest."""
        for attempt in (1, 2):
            token = await self._bearer()
            try:
                async with self.session.get(
                    f"{self.base_url}{path}", headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    if response.status == 401 and attempt == 1:
                        self._forget_token(token)
                        continue
                    if response.status != 200:
                        raw = await response.read()
                        message = f"GET {path} answered {response.status}: {_error_message(raw)}"
                        if response.status in _RETRYABLE:
                            raise ApiUnavailable(message)
                        if response.status == 401:
                            raise CredentialsRejected(message)
                        raise ApiRefused(message, status=response.status)
                    announced = b64_digest(response.headers.get("digest", ""))
                    got = await _write_chunks(response.content.iter_chunked(CHUNK), dest)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._unreachable(f"GET {path}", exc) from exc
            if expected_size is not None and got.size != expected_size:
                raise TransferCorrupted(
                    f"GET {path}: received {got.size} bytes, the API announced {expected_size}"
                )
            if announced is not None and announced != got.sha256:
                raise TransferCorrupted(f"GET {path}: the bytes do not match the digest header")
            return got
        raise AssertionError("unreachable")  # pragma: no cover


async def _write_chunks(source: AsyncIterator[bytes], dest: Path) -> Downloaded:
    digest = hashlib.sha256()
    size = 0
    handle: BinaryIO = await asyncio.to_thread(dest.open, "wb")
    try:
        async for chunk in source:
            digest.update(chunk)
            size += len(chunk)
            await asyncio.to_thread(handle.write, chunk)
        await asyncio.to_thread(_flush_and_sync, handle)
    finally:
        await asyncio.to_thread(handle.close)
    return Downloaded(size, digest.digest())


def _flush_and_sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
