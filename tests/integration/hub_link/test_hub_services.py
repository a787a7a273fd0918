"""The hub's own services over TLS: its TSA, its evidence journal, its API description."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.hub_link.harness import (
    DGS,
    SAINT_DENIS,
    LinkHub,
    sealed_folder,
    send_folder,
)
from trust.checkpoint import SignedNote, verify_note
from trust.journal import Journal
from trust.journal_store import CheckpointRecord
from trust.journal_verify import verify_journal
from trust.tsp import TimeStamper
from trust.tsp_verify import verify_timestamp_response

LinkRun = Callable[..., None]


def test_the_tsa_answers_over_tls_with_tokens_chaining_to_the_hub_ca(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        ca = hub.runtime.identity.ca_certificate
        stamper = TimeStamper(anchors=[ca])
        request = stamper.request_for(b"checkpoint body\n")
        async with hub.anonymous() as session:
            reply = await hub.request(
                session,
                "POST",
                "/tsa",
                data=request.der,
                headers={"Content-Type": "application/timestamp-query"},
            )
            wrong = await hub.request(
                session, "POST", "/tsa", data=b"x", headers={"Content-Type": "text/plain"}
            )
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/timestamp-reply"
        token = stamper.accept(request, reply.body)
        assert "TSA" in token.tsa_name
        assert wrong.status == 415

    link_run(scenario)


def test_the_hub_journals_checkpoints_and_timestamps_its_own_facts(
    link_run: LinkRun, tmp_path: Path
) -> None:
    async def scenario(hub: LinkHub) -> None:
        dgs = await hub.gateway(DGS)
        await hub.gateway(SAINT_DENIS)
        folder = sealed_folder(DGS, [SAINT_DENIS], {"acte.pdf": b"%PDF acte"})
        await send_folder(dgs, folder)
        evidence = hub.runtime.evidence
        await evidence.drain()
        record = await evidence.checkpoint()
        assert record is not None and record.tsr is not None
        identity = hub.runtime.identity
        assert verify_note(record.note, verifier_keys=[identity.journal_key]).ok
        body = SignedNote.parse(record.note).text
        stamp = verify_timestamp_response(record.tsr, data=body, anchors=[identity.ca_certificate])
        assert stamp.ok, stamp.reasons
        assert await evidence.checkpoint() is None  # nothing new to cover

        def read_journal() -> tuple[list[str], list[int], bool]:
            with Journal.open(hub.runtime.config.journal_path) as journal:
                found = [json.loads(journal.entry(i)) for i in range(journal.size)]
            result = verify_journal(
                hub.runtime.config.journal_path, journal_keys=[identity.journal_key]
            )
            return [e["kind"] for e in found], [e["data"]["seq"] for e in found], result.ok

        kinds, seqs, valid = await asyncio.to_thread(read_journal)
        for kind in (
            "gateway.enrolled",
            "folder.created",
            "folder.sealed",
            "attachment.received",
            "case.status",
            "notification.created",
        ):
            assert kind in kinds, kind
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert evidence.position == seqs[-1]
        assert valid

    link_run(scenario)


def test_the_evidence_journal_checkpoints_by_itself_after_n_entries(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        await hub.gateway(DGS)  # a token and an enrollment: two facts, more than 1 entry
        journal_path = hub.runtime.config.journal_path

        def latest_checkpoint() -> CheckpointRecord | None:
            with Journal.open(journal_path) as journal:
                return journal.latest_checkpoint()

        for _ in range(100):
            latest = await asyncio.to_thread(latest_checkpoint)
            if latest is not None and latest.tsr is not None:
                break
            await asyncio.sleep(0.05)
        assert latest is not None and latest.size >= 1 and latest.tsr is not None

    link_run(scenario, checkpoint_every_entries=1)


def test_the_link_api_serves_its_openapi_description_and_health(link_run: LinkRun) -> None:
    async def scenario(hub: LinkHub) -> None:
        async with hub.anonymous() as session:
            described = await hub.request(session, "GET", "/link/v1/openapi.json")
            ready = await hub.request(session, "GET", "/readyz", check=False)
            alive = await hub.request(session, "GET", "/healthz", check=False)
        assert described.status == 200
        document = described.json()
        assert document == hub.conformance.document
        assert "/link/v1/notifications" in document["paths"]
        assert (
            document["components"]["securitySchemes"]["gatewayCertificate"]["type"] == "mutualTLS"
        )
        assert (ready.status, alive.status) == (200, 200)

    link_run(scenario)
