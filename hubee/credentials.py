"""OAuth2 client credentials (RFC 6749 §4.4) for the HubEE API.

Client secrets are stored only as scrypt hashes with a per-secret salt and compared in
constant time; an unknown client id costs the same scrypt as a wrong secret. Bearer
tokens are 256-bit random strings stored only as SHA-256 hashes (a fast hash suffices
for high-entropy tokens), with an expiry. Neither secrets nor tokens are ever logged.

Time is a parameter (``now=``). Valid tokens are cached in memory until they expire;
tokens are not revocable before their expiry (keep the TTL short).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hubee.errors import InvalidClient, InvalidGrant, Unauthorized
from hubee.model import Client, Principal, Scope
from hubee.store import Store, StoreTx

# scrypt cost: n=2**14, r=8 (16 MiB, tens of ms), the interactive-login figure of
# RFC 7914 §2's guidance; secrets are 256-bit random so this is defence in depth.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}
_DUMMY_SALT = b"\x00" * 16
_CACHE_LIMIT = 100_000


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    return secrets.token_urlsafe(21)


def new_salt() -> bytes:
    return secrets.token_bytes(16)


def hash_secret(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: Scope

    def __repr__(self) -> str:  # never show the token
        return f"TokenGrant(scope={self.scope.value}, expires_in={self.expires_in})"


def _principal(client: Client) -> Principal:
    return Principal(
        client_id=client.client_id,
        org=client.org,
        scope=client.scope,
        process_code=client.process_code,
    )


class Authenticator:
    """Issues and checks bearer tokens for the clients registered in the store."""

    def __init__(self, store: Store, *, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("the token TTL must be positive")
        self._store = store
        self._ttl = ttl
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self._grants = 0

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    async def grant(
        self, *, client_id: str, secret: str, scope: str | None, now: datetime
    ) -> TokenGrant:
        """Check the client's credentials and issue a token for its one scope."""
        found = await self._store.read(lambda tx: tx.client_secret(client_id))
        salt, expected = (found[1], found[2]) if found else (_DUMMY_SALT, b"")
        actual = await asyncio.to_thread(hash_secret, secret, salt)
        if found is None or not hmac.compare_digest(actual, expected):
            raise InvalidClient("unknown client id or wrong secret")
        client = found[0]
        if scope is not None and scope != client.scope.value:
            raise InvalidGrant(
                f"this client may only request the scope {client.scope.value}, not {scope!r}",
                oauth_error="invalid_scope",
            )
        token = secrets.token_urlsafe(32)
        expires_at = (now + self._ttl).timestamp()
        self._grants += 1
        sweep = self._grants % 1000 == 1

        def store_token(tx: StoreTx) -> None:
            if sweep:
                tx.delete_expired_tokens(now.timestamp())
            tx.insert_token(_token_hash(token), client.client_id, expires_at)

        await self._store.write(store_token)
        self._remember(_token_hash(token), _principal(client), expires_at, now)
        return TokenGrant(token, int(self._ttl.total_seconds()), client.scope)

    async def authenticate(self, token: str, *, now: datetime) -> Principal:
        """The principal a bearer token stands for; :class:`Unauthorized` if none."""
        digest = _token_hash(token)
        cached = self._cache.get(digest)
        if cached is None:
            found = await self._store.read(lambda tx: tx.token(digest))
            if found is None:
                raise Unauthorized("the bearer token is unknown")
            cached = (_principal(found[0]), found[1])
            self._remember(digest, cached[0], cached[1], now)
        if now.timestamp() >= cached[1]:
            self._cache.pop(digest, None)
            raise Unauthorized("the bearer token has expired")
        return cached[0]

    def _remember(
        self, digest: bytes, principal: Principal, expires_at: float, now: datetime
    ) -> None:
        if len(self._cache) >= _CACHE_LIMIT:
            t = now.timestamp()
            self._cache = {k: v for k, v in self._cache.items() if v[1] > t}
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
        self._cache[digest] = (principal, expires_at)
