"""OAuth2 client credentials: hashed secrets, expiring hashed tokens, time as a parameter."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from hubee.credentials import Authenticator, hash_secret
from hubee.directory import Directory
from hubee.errors import InvalidClient, InvalidGrant, Unauthorized
from hubee.event_sink import TableSink
from hubee.model import OrgRef, OrgType, Process, Scope
from hubee.sqlite_store import SqliteStore
from tests.integration.hub.harness import FakeClock

COMMUNE = OrgRef(OrgType.SI, "21930066200016", "93066")


def test_secret_hashes_are_salted() -> None:
    assert hash_secret("s3cret", b"a" * 16) != hash_secret("s3cret", b"b" * 16)
    assert hash_secret("s3cret", b"a" * 16) == hash_secret("s3cret", b"a" * 16)


def test_tokens_expire_and_are_stored_hashed(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "hub.db")
        clock = FakeClock()
        try:
            directory = Directory(store, TableSink(), clock)
            await directory.add_org(COMMUNE, "Saint-Denis")
            await directory.add_process(Process("CERTDC", "x"))
            client, secret = await directory.add_client(
                org=COMMUNE, scope=Scope.SI, process_code="CERTDC"
            )
            auth = Authenticator(store, ttl=timedelta(minutes=5))
            grant = await auth.grant(
                client_id=client.client_id, secret=secret, scope="SI", now=clock()
            )
            assert grant.expires_in == 300 and grant.scope is Scope.SI
            assert grant.access_token not in repr(grant)
            principal = await auth.authenticate(grant.access_token, now=clock())
            assert principal.org.ref == COMMUNE and principal.process_code == "CERTDC"

            # A second authenticator (a restarted hub) finds the token in the store.
            restarted = Authenticator(store, ttl=timedelta(minutes=5))
            assert (
                await restarted.authenticate(grant.access_token, now=clock())
            ).client_id == client.client_id
            clock.advance(minutes=5)
            for a in (auth, restarted):
                with pytest.raises(Unauthorized, match="expired"):
                    await a.authenticate(grant.access_token, now=clock())
            with pytest.raises(Unauthorized, match="unknown"):
                await auth.authenticate("forged", now=clock())
            with pytest.raises(InvalidClient):
                await auth.grant(
                    client_id=client.client_id, secret="wrong", scope=None, now=clock()
                )
            with pytest.raises(InvalidClient):
                await auth.grant(client_id="nobody", secret=secret, scope=None, now=clock())
            with pytest.raises(InvalidGrant) as scope:
                await auth.grant(
                    client_id=client.client_id, secret=secret, scope="OSL", now=clock()
                )
            assert scope.value.oauth_error == "invalid_scope"
        finally:
            await store.close()
        stored = b"".join(p.read_bytes() for p in tmp_path.glob("hub.db*"))
        assert grant.access_token.encode() not in stored and secret.encode() not in stored

    asyncio.run(main())


def test_ttl_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TTL"):
        Authenticator(object(), ttl=timedelta(0))  # type: ignore[arg-type]
