"""Security review of the console: lock-out races, header injection, and the like."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.console import accounts as accounts_module
from gateway.console.accounts import Accounts, SignInOutcome
from gateway.console.renderer import render_data
from gateway.console.views_proof import bundle_headers
from tests.integration.console.support import PASSWORD, offline_console


def test_a_password_checked_while_the_account_got_locked_does_not_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel guesses all read "not locked" before any failure is written: one that
    finishes after the lock-out must not open a session (else the lock-out only slows)."""
    asyncio.run(_locked_meanwhile(tmp_path, monkeypatch))


async def _locked_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with offline_console(tmp_path / "gw") as console:
        await console.add_user("marie")
        db = console.runtime.settings.paths.db
        until = (datetime.now(UTC) + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
        real = accounts_module._verify

        def verify_while_others_lock(digest: str, password: str) -> bool:
            # Meanwhile, concurrent wrong guesses reached the limit and locked the account.
            with sqlite3.connect(db) as conn:
                conn.execute(
                    "UPDATE gw_console_users SET locked_until = ? WHERE login = 'marie'", (until,)
                )
            return real(digest, password)

        monkeypatch.setattr(accounts_module, "_verify", verify_while_others_lock)
        found = await Accounts(console.runtime.store).authenticate(
            "marie",
            PASSWORD,
            now=datetime.now(UTC),
            max_failures=5,
            lockout=timedelta(minutes=15),
        )
        assert found.outcome is SignInOutcome.LOCKED
        assert found.user is None


def test_the_bundle_file_name_cannot_inject_into_content_disposition() -> None:
    """The case's externalId comes from the sending operator: quotes and ';' must not
    add a ``filename*`` of the sender's choosing (e.g. ``x.html``)."""
    headers = bundle_headers("ER-1\"; filename*=UTF-8''evil.html; x=\"")
    disposition = headers["Content-Disposition"]
    assert disposition.count('"') == 2, disposition
    assert "filename*" not in disposition and 'evil.html"' not in disposition
    assert disposition.startswith('attachment; filename="preuve-ER-1_')
    assert headers["Content-Type"] == "application/vnd.etsi.asic-e+zip"
    plain = bundle_headers("ER-DIRECT-01")["Content-Disposition"]
    assert plain == 'attachment; filename="preuve-ER-DIRECT-01.asice"'


def test_a_dtd_in_utf16_xml_is_refused_like_in_utf8() -> None:
    """The DOCTYPE check must not depend on the encoding: UTF-16 hides ``<!DOCTYPE``
    and ``<!ENTITY`` from a byte search, and expat would then expand the entities."""
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE d [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<d><nom>&b;</nom></d>"
    )
    for data in (text.encode("utf-16"), text.replace("UTF-16", "UTF-8").encode()):
        found = render_data(data, "flux.xml")
        assert found.fields == (), found
        assert found.error is not None and "entités" in found.error
    plain = render_data(
        '<?xml version="1.0" encoding="UTF-16"?><d><nom>Curie</nom></d>'.encode("utf-16"),
        "flux.xml",
    )
    assert plain.error is None and plain.fields[0].children[0].value == "Curie"
