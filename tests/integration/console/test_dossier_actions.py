"""An agent handles a CERTDC dossier in the console of Saint-Denis's gateway; every
action reaches the DGS's side (the operator) as a HubEE status or event, through a real
hub over mTLS. Isolation, impossible moves, uploads and CSRF are checked on the way."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from gateway.console.accounts import Accounts, Role, roles_of
from gateway.settings import ConsoleSettings
from hubee.model import Scope
from tests.integration.console.support import PASSWORD, Browser
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    Gw,
    close_hub,
    enrolled_settings,
    eventually,
    lan_client,
    open_hub,
    start_gateway,
)
from tests.unit.gateway.support import LanClient, certdc_folder, deposit
from trust.bundle_verify import TrustInputs, verify_bundle

UPLOAD_LIMIT = 64 * 1024
_CASE_LINK = re.compile(r'href="/console/dossiers/([0-9a-f-]{36})"')


async def _add(runtime: Any, login: str, processes: tuple[str, ...]) -> None:
    await Accounts(runtime.store).add(
        login,
        display_name=f"Agent {login}",
        email=None,
        roles=roles_of(Role.AGENT, processes),
        password=PASSWORD,
        now=datetime.now(UTC),
    )


async def _operator_view(dgs: LanClient, case_id: str) -> dict[str, Any]:
    reply = await dgs.call("GET", f"/teledossiers/v1/cases/{case_id}")
    assert reply.status == 200, reply.body
    return reply.json()  # type: ignore[no-any-return]


def test_an_agent_handles_a_certdc_dossier_and_the_operator_sees_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with _world(tmp_path) as (osl, si, session):
            dgs = await lan_client(
                osl, session, name="logiciel-dgs", process="CERTDC", scope=Scope.OSL
            )
            body, files = certdc_folder(
                (SAINT_DENIS.company_register, SAINT_DENIS.branch_code), "ER20190860001"
            )
            folder = await deposit(dgs, body, files)
            operator_case = folder["cases"][0]["id"]
            await _add(si.runtime, "marie", ("CERTDC",))
            await _add(si.runtime, "paul", ("RSABEI-RSABAI",))
            agent = Browser(si.base)
            other = Browser(si.base)
            try:
                await agent.sign_in("marie")

                async def listed() -> str | None:
                    page = await agent.get("/console/dossiers")
                    found = _CASE_LINK.findall(page.text)
                    return found[0] if found else None

                case_id = await eventually(listed, what="the dossier in the agent's inbox")
                inbox = await agent.get("/console/dossiers?recherche=ER20190860001")
                assert "ER20190860001-01" in inbox.text and "Nouveau" in inbox.text
                empty = await agent.get("/console/dossiers?recherche=nothing-like-it")
                assert case_id not in empty.text

                page = await agent.get(f"/console/dossiers/{case_id}")
                assert page.status == 200
                for label in ("Défunt", "Date du décès", "Numéro national du certificat"):
                    assert label in page.text
                assert "<Defunt>" not in page.text  # fields, never markup
                assert "27/03/2019" in page.text  # an ISO date, written the French way
                # Opening it marked it SENT (« Consulté »), as a HubEE SI's GET does.
                assert "Consulté" in page.text

                # Another démarche's agent: the dossier does not exist for them.
                await other.sign_in("paul")
                assert case_id not in (await other.get("/console/dossiers")).html
                hidden = await other.get(f"/console/dossiers/{case_id}")
                assert hidden.status == 404 and "ER20190860001" not in hidden.text
                assert "Traceback" not in hidden.text

                # A PDF, inline, with safe headers.
                pdf_id = re.findall(
                    rf"/console/dossiers/{case_id}/pieces/([0-9a-f-]{{36}})\?voir=1", page.text
                )[0]
                async with agent.session.get(
                    f"{si.base}/console/dossiers/{case_id}/pieces/{pdf_id}?voir=1"
                ) as r:
                    data = await r.read()
                    assert r.status == 200 and data.startswith(b"%PDF")
                    assert r.headers["Content-Type"] == "application/pdf"
                    assert r.headers["Content-Disposition"].startswith("inline;")
                    assert r.headers["X-Content-Type-Options"] == "nosniff"
                    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
                assert data in files

                # A forged CSRF token: refused, nothing changes.
                forged = await agent.post(
                    f"/console/dossiers/{case_id}/actions/prendre-en-charge", {}, csrf="forged"
                )
                assert forged.status == 403 and "jeton de sécurité" in forged.text

                for action, form, label in (
                    ("accuser-reception", {}, "Réception accusée"),
                    ("prendre-en-charge", {}, "Pris en charge"),
                    (
                        "demander-complements",
                        {"message": "Merci de joindre l'acte."},
                        "En attente de compléments",
                    ),
                    ("prendre-en-charge", {}, "Pris en charge"),
                ):
                    done = await agent.post(f"/console/dossiers/{case_id}/actions/{action}", form)
                    assert done.status == 200, done.text
                    assert "fr-alert--success" in done.text, action
                    assert f'fr-badge--info">{label}' in done.text, action

                # Too big a file: a clear 413 page, and nothing sent.
                too_big = await agent.post(
                    f"/console/dossiers/{case_id}/actions/repondre",
                    _multipart(agent.csrf, "Trop gros.", "gros.pdf", b"%PDF" + b"0" * UPLOAD_LIMIT),
                )
                assert too_big.status == 413
                assert "dépasse la taille autorisée" in too_big.text
                assert "Traceback" not in too_big.text

                # A reply with a file, then the end of the dossier.
                reply = await agent.post(
                    f"/console/dossiers/{case_id}/actions/repondre",
                    _multipart(agent.csrf, "Voici l'acte.", "acte.pdf", b"%PDF-1.4 acte"),
                )
                assert "La réponse et sa pièce jointe sont envoyées" in reply.text
                finished = await agent.post(
                    f"/console/dossiers/{case_id}/actions/terminer",
                    {"message": "Acte de décès dressé."},
                )
                assert 'fr-badge--info">Terminé' in finished.text
                # The inbox's filters: by status and by received date.
                today = datetime.now(UTC).date()
                for query, shown in (
                    ("statut=DONE", True),
                    ("statut=SENT", False),
                    (f"du={today}&au={today}", True),
                    (f"du={today + timedelta(days=1)}", False),
                    ("demarche=CERTDC&recherche=ER20190860001-01", True),
                ):
                    listed_now = await agent.get(f"/console/dossiers?{query}")
                    assert (case_id in listed_now.html) is shown, query
                # An impossible move: a clear message, not an error page.
                again = await agent.post(
                    f"/console/dossiers/{case_id}/actions/prendre-en-charge", {}
                )
                assert again.status == 200
                assert "n'est pas possible pour un dossier au statut « Terminé »" in again.text

                async def operator_sees_all() -> dict[str, Any] | None:
                    view = await _operator_view(dgs, operator_case)
                    messages = [e.get("message") for e in view.get("events", [])]
                    ok = (
                        "Trop gros." not in messages
                        and view["status"] == "DONE"
                        and "Merci de joindre l'acte." in messages
                        and "Voici l'acte." in messages
                        and "Acte de décès dressé." in messages
                    )
                    return view if ok else None

                view = await eventually(operator_sees_all, timeout=60, what="the operator's view")
                statuses = [e.get("caseNewStatus") for e in view["events"]]
                for status in ("SI_RECEIVED", "IN_PROGRESS", "ADD_AWAITING", "DONE"):
                    assert status in statuses
                deposit_event = next(e for e in view["events"] if e["message"] == "Voici l'acte.")
                assert deposit_event["actionType"] == "ATTACH_DEPOSIT"
                assert [a["fileName"] for a in deposit_event["attachments"]] == ["acte.pdf"]

                # The audit trail names the agent and ids only.
                await si.runtime.drain.wait_drained()
                entries = await _console_entries(si.runtime)
                facts = [e["data"]["fact"] for e in entries if e["data"]["login"] == "marie"]
                for fact in (
                    "signin.ok",
                    "view",
                    "download",
                    "action.accuser-reception",
                    "action.terminer",
                    "action.repondre",
                    "action.prendre-en-charge.refused",
                ):
                    assert fact in facts, fact
                assert all("Camille" not in str(e) for e in entries)

                # « Preuve »: once the checkpoint is stamped and witnessed, in plain words.
                checkpoints = si.runtime.checkpoints

                async def witnessed() -> bool:
                    await si.runtime.drain.wait_drained()
                    await checkpoints.maybe_checkpoint(force=True)
                    gap = await checkpoints.gap()
                    return gap.unstamped == 0 and gap.unwitnessed == 0 and gap.checkpoints > 0

                await eventually(witnessed, timeout=60, what="a witnessed checkpoint")
                summary = await agent.get(f"/console/dossiers/{case_id}/preuve")
                assert summary.status == 200
                assert "La preuve est valide" in summary.text, summary.text
                assert "Le hub a contresigné le point de contrôle" in summary.text
                assert "une autorité d'horodatage atteste" in summary.text
                assert "11000201100044" in summary.text  # the DGS gateway sealed it
                async with agent.session.get(
                    f"{si.base}/console/dossiers/{case_id}/preuve.asice"
                ) as r:
                    assert r.status == 200
                    assert r.headers["Content-Type"] == "application/vnd.etsi.asic-e+zip"
                    bundle = tmp_path / "preuve.asice"
                    bundle.write_bytes(await r.read())
                identity = si.runtime.identity
                report = verify_bundle(
                    bundle,
                    trust=TrustInputs(
                        anchors=identity.hub_ca,
                        journal_keys=(identity.journal_vkey,),
                        witness_keys=(identity.witness_vkey,),
                        require_witness=True,
                    ),
                )
                assert report.ok, report.reasons
                assert not list((si.settings.data_dir / "exports").iterdir())
            finally:
                await agent.close()
                await other.close()

    asyncio.run(main())


@asynccontextmanager
async def _world(folder: Path) -> AsyncIterator[tuple[Gw, Gw, aiohttp.ClientSession]]:
    """world(), with a small upload limit on Saint-Denis's console."""
    async with AsyncExitStack() as stack:
        hub = await open_hub(folder)
        stack.push_async_callback(close_hub, hub)
        osl = await start_gateway(await enrolled_settings(hub, folder / "dgs", DGS), "dgs")
        stack.push_async_callback(osl.service.close)
        si_settings = await enrolled_settings(
            hub,
            folder / "saint-denis",
            SAINT_DENIS,
            console=ConsoleSettings(max_upload_bytes=UPLOAD_LIMIT),
        )
        si = await start_gateway(si_settings, "saint-denis")
        stack.push_async_callback(si.service.close)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield osl, si, session


def _multipart(csrf: str, message: str, name: str, data: bytes) -> Any:
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("message", message)
    form.add_field("fichier", data, filename=name, content_type="application/pdf")
    return form


async def _console_entries(runtime: Any) -> list[dict[str, Any]]:
    import json

    size = await runtime.journal.size()
    entries = [json.loads(raw) for raw in await runtime.journal.entries(0, size)]
    return [e for e in entries if e["kind"] == "console"]
