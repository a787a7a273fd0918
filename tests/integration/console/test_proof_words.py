"""« Preuve » in French: the verifier's section names, failures and warnings, on the page
of a dossier sent straight to the hub (no sender seal), then of a tampered bundle."""

from __future__ import annotations

import asyncio
import re
import ssl
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.console import proof, proof_words
from gateway.console.accounts import Accounts, Role, roles_of
from gateway.evidence_export import ExportedBundle
from hubee.model import Scope
from tests.integration.console.support import PASSWORD, Browser
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    Hub,
    close_hub,
    enrolled_settings,
    eventually,
    open_hub,
    start_gateway,
)
from tests.unit.gateway.support import LanClient, certdc_folder, deposit
from trust.bundle_dossier import NO_SENDER_SEAL

_CASE_LINK = re.compile(r'href="/console/dossiers/([0-9a-f-]{36})"')
_TRUST = Path(__file__).parents[3] / "trust"


def test_every_section_the_bundle_verifier_names_has_a_french_name() -> None:
    names: set[str] = set()
    for module in ("bundle_verify.py", "bundle_dossier.py"):
        source = (_TRUST / module).read_text()
        names |= set(re.findall(r'(?:\.add\(|VerificationResult\()\s*"([^"]+)"', source))
    assert {"container", "files", "seal", "sender seal", "journal", "time-stamp"} <= names
    for name in names:
        words = proof_words.section(name)
        assert words.french and words.text != name, name


def test_known_texts_read_in_french_and_unknown_ones_stay_marked_english() -> None:
    unsealed = proof_words.warning(NO_SENDER_SEAL.format(by="hub").capitalize())
    assert unsealed.french and unsealed.text.startswith("sans sceau de l'expéditeur")
    kept = proof_words.reason("a reason trust may add one day")
    assert kept == proof_words.Words("a reason trust may add one day", french=False)
    multi = proof_words.reason(
        "not delivered to this recipient (org-b): for ER-7; digest only, SHA-256 "
        "00ff, 12 bytes, as sealed in manifest.json"
    )
    assert multi.french and multi.text.startswith("non remis à ce destinataire (org-b)")
    assert proof_words.check_name("attachment acte.pdf").text == "pièce « acte.pdf »"
    assert proof_words.reason("the content does not match the seal").french


def test_the_proof_page_speaks_french_unsealed_then_tampered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        si = await start_gateway(
            await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS, unsealed_from_hub="accept"),
            "saint-denis",
        )
        agent = Browser(si.base)
        try:
            context = ssl.create_default_context(cafile=str(hub.ca_pem))
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as tls:
                operator = await _operator_at_the_hub(hub, tls)
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                body, files = certdc_folder(recipient, "ER-DIRECT")
                await deposit(operator, body, files)
            await Accounts(si.runtime.store).add(
                "marie",
                display_name="Marie",
                email=None,
                roles=roles_of(Role.AGENT, ("CERTDC",)),
                password=PASSWORD,
                now=si.runtime.deps.clock(),
            )
            await agent.sign_in("marie")

            async def listed() -> str | None:
                found = _CASE_LINK.findall((await agent.get("/console/dossiers")).text)
                return found[0] if found else None

            case_id = await eventually(listed, what="the unsealed dossier in the inbox")
            checkpoints = si.runtime.checkpoints

            async def witnessed() -> bool:
                await si.runtime.drain.wait_drained()
                await checkpoints.maybe_checkpoint(force=True)
                gap = await checkpoints.gap()
                return bool(gap.unstamped == 0 and gap.unwitnessed == 0 and gap.checkpoints > 0)

            await eventually(witnessed, timeout=60, what="a witnessed checkpoint")
            page = await agent.get(f"/console/dossiers/{case_id}/preuve")
            assert page.status == 200
            assert "La preuve est valide" in page.text, page.text
            assert "Dossier sans sceau de l'expéditeur : l'expéditeur a déposé" in page.text
            assert "Avertissement : sans sceau de l'expéditeur" in page.text
            assert "Conteneur ASiC-E : réussi" in page.text
            assert "Entrées du journal : réussi" in page.text
            assert "no sender seal" not in page.text.lower()
            assert 'lang="en"' not in page.html

            # The same page over a bundle whose attachment was altered after sealing.
            original = proof.export_to

            async def tampered(runtime: Any, dossier_id: str) -> ExportedBundle:
                done = await original(runtime, dossier_id)
                await asyncio.to_thread(_alter_one_file, done.path)
                return done

            monkeypatch.setattr(proof, "export_to", tampered)
            bad = await agent.get(f"/console/dossiers/{case_id}/preuve")
            assert bad.status == 200
            assert "La vérification a échoué" in bad.text
            assert "La preuve est valide" not in bad.text
            assert re.search(
                r"Fichiers du dossier : <strong>échec</strong> — fichier « [^»]+ » : "
                r"l'empreinte SHA-256 diffère de celle du manifeste ASiC : le fichier a été "
                r"modifié",
                bad.text,
            ), bad.text
            assert "SHA-256 differs" not in bad.text
        finally:
            await agent.close()
            await si.service.close()
            await close_hub(hub)

    asyncio.run(main())


async def _operator_at_the_hub(hub: Hub, session: aiohttp.ClientSession) -> LanClient:
    """The DGS's software on the hub's own HubEE API: no gateway, so no sender seal."""
    client, secret = await hub.runtime.services.directory.add_client(
        org=DGS, scope=Scope.OSL, process_code="CERTDC"
    )
    operator = LanClient(session, hub.url)
    await operator.login(client.client_id, secret, "OSL")
    return operator


def _alter_one_file(path: Path) -> None:
    """Rewrite the bundle with one byte of one dossier file changed (seal untouched)."""
    with zipfile.ZipFile(path) as old:
        items = [(info, old.read(info)) for info in old.infolist()]
    victim = next(
        i
        for i, (info, _) in enumerate(items)
        if info.filename != "mimetype"
        and not info.filename.startswith("META-INF/")
        and info.filename != "manifest.json"
    )
    info, data = items[victim]
    items[victim] = (info, bytes([data[0] ^ 1]) + data[1:])
    with zipfile.ZipFile(path, "w") as new:
        for info, data in items:
            new.writestr(info, data)
