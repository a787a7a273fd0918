"""The witness cosigns checkpoints that extend what it saw, and refuses the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.hub_link.harness import SAINT_DENIS, Gateway, LinkHub, b64
from trust.checkpoint import SignedNote, VerifierKey, verify_note
from trust.journal import Journal, journal_entry
from trust.keys import FileSigner, KeyAlgorithm

LinkRun = Callable[..., None]
AT = datetime(2026, 11, 1, tzinfo=UTC)


def entries(start: int, count: int, tag: str = "") -> list[bytes]:
    return [
        journal_entry("received", f"folder/{i}{tag}", {"n": i}, AT)
        for i in range(start, start + count)
    ]


class GatewayJournal:
    """The gateway's side: a real trust journal signed with its registered key.

    SQLite and fsync are blocking: each step runs in a worker thread, off the loop
    the hub runs on, with its own connection.
    """

    def __init__(self, gateway: Gateway, path: Path, *, signer: FileSigner | None = None) -> None:
        self.path = path
        self.signer = signer or gateway.journal
        self.origin = gateway.journal_key.name

    def _grow(self, count: int, tag: str) -> bytes:
        with Journal.open(self.path) as journal:
            journal.append_many(entries(journal.size, count, tag))
            return journal.checkpoint(signer=self.signer, origin=self.origin, now=AT).note

    async def grow(self, count: int, tag: str = "") -> bytes:
        return await asyncio.to_thread(self._grow, count, tag)

    def _body(self, note: bytes, from_size: int) -> dict[str, object]:
        size = SignedNote.parse(note).checkpoint().size
        with Journal.open(self.path) as journal:
            proof = journal.consistency_proof(from_size, size).path if 0 < from_size <= size else ()
        return {"note": note.decode(), "proof": [b64(h) for h in proof], "fromSize": from_size}

    async def body(self, note: bytes, from_size: int) -> dict[str, object]:
        return await asyncio.to_thread(self._body, note, from_size)


def test_consistent_checkpoints_are_cosigned(link_run: LinkRun, tmp_path: Path) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(SAINT_DENIS)
        journal = GatewayJournal(gateway, tmp_path / "gw-journal.db")
        witness = VerifierKey.parse(gateway.enrolled["witnessKey"])
        first = await journal.grow(5)
        reply = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await journal.body(first, 0)
        )
        assert reply.status == 200, reply.body
        cosigned = reply.json()["note"].encode()
        checked = verify_note(
            cosigned, verifier_keys=[witness, gateway.journal_key], require_all=True
        )
        assert checked.ok, checked.reasons
        again = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await journal.body(first, 5)
        )
        assert again.status == 200 and again.json()["note"].encode() == cosigned

        second = await journal.grow(8)
        reply = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await journal.body(second, 5)
        )
        assert reply.status == 200, reply.body
        assert verify_note(reply.json()["note"].encode(), verifier_keys=[witness]).ok
        stale = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await journal.body(second, 5)
        )
        assert stale.status == 409 and "size 13" in stale.message
        records = await hub.runtime.link.gateways.listing()
        assert records[0].last_witnessed is not None and records[0].last_witnessed.size == 13
        assert await hub.runtime.link.gateways.alerts() == []

    link_run(scenario)


def test_a_rewritten_history_is_refused_alerted_and_never_cosigned(
    link_run: LinkRun, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(SAINT_DENIS)
        honest = GatewayJournal(gateway, tmp_path / "honest.db")
        note = await honest.grow(6)
        ok = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await honest.body(note, 0)
        )
        assert ok.status == 200

        # A journal that rewrote its first six entries, then grew: its proof cannot hold.
        forked = GatewayJournal(gateway, tmp_path / "forked.db")
        await forked.grow(6, tag="-rewritten")
        fork_note = await forked.grow(4)
        refused = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await forked.body(fork_note, 6)
        )
        assert refused.status == 409 and "inconsistent" in refused.message

        # The same size with another root; and a smaller size (a rollback).
        other = GatewayJournal(gateway, tmp_path / "other.db")
        same_size = await other.grow(6, tag="-other")
        fork = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await other.body(same_size, 6)
        )
        assert fork.status == 409 and "fork" in fork.message
        small = GatewayJournal(gateway, tmp_path / "small.db")
        rollback = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await small.body(await small.grow(3), 6)
        )
        assert rollback.status == 409 and "rollback" in rollback.message

        alerts = await hub.runtime.link.gateways.alerts()
        assert [a.reason.split(":")[0] for a in alerts] == ["inconsistent", "fork", "rollback"]
        assert all(a.gateway_id == gateway.enrolled["gatewayId"] for a in alerts)
        assert sum("WITNESS ALERT" in r.getMessage() for r in caplog.records) == 3
        records = await hub.runtime.link.gateways.listing()
        assert records[0].last_witnessed is not None and records[0].last_witnessed.size == 6

    with caplog.at_level(logging.ERROR, logger="hub.witness"):
        link_run(scenario)


def test_a_checkpoint_not_signed_by_the_registered_key_is_refused(
    link_run: LinkRun, tmp_path: Path
) -> None:
    async def scenario(hub: LinkHub) -> None:
        gateway = await hub.gateway(SAINT_DENIS)
        stranger = GatewayJournal(
            gateway, tmp_path / "stranger.db", signer=FileSigner.generate(KeyAlgorithm.ED25519)
        )
        note = await stranger.grow(2)
        refused = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body=await stranger.body(note, 0)
        )
        assert refused.status == 400 and "journal key" in refused.message
        garbage = await gateway.call(
            "POST", "/link/v1/checkpoints", json_body={"note": "x", "proof": [], "fromSize": 0}
        )
        assert garbage.status == 400 and "@note" in garbage.message
        assert await hub.runtime.link.gateways.alerts() == []

    link_run(scenario)
