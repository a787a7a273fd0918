"""The notification e-mails' text, in French: the démarche, the folder number and a link
to the console, never anything from the dossier's content (no applicant, no data).

The Message-ID derives from the queue rows it carries, so a message sent twice (a crash
between the SMTP server's answer and the commit) is the same message to mail clients.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime

from gateway.console.mail_store import QueuedMail
from hubee.model import utc_now

SERVICE = "Sceau — passerelle HubEE"


def dossier_link(console_url: str, case_id: str) -> str:
    return f"{console_url.rstrip('/')}/dossiers/{case_id}"


def _message(
    *, sender: str, rows: Sequence[QueuedMail], subject: str, body: str, domain: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rows[0].address
    # The folder number is the sender's: no line break may reach a header.
    msg["Subject"] = " ".join("".join(c if c.isprintable() else " " for c in subject).split())
    msg["Date"] = format_datetime(utc_now())
    ids = ",".join(str(r.id) for r in rows)
    digest = hashlib.sha256(f"{rows[0].login}:{ids}".encode()).hexdigest()[:32]
    msg["Message-ID"] = f"<sceau-{digest}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8")
    return msg


def immediate_message(
    row: QueuedMail, *, sender: str, console_url: str, domain: str
) -> EmailMessage:
    """One new dossier, one e-mail."""
    body = (
        "Bonjour,\n\n"
        f"Un nouveau dossier est arrivé pour la démarche {row.process_code}.\n\n"
        f"  Démarche : {row.process_code}\n"
        f"  Numéro de télédossier : {row.folder_number}\n\n"
        f"Pour le consulter, connectez-vous à la console :\n{dossier_link(console_url, row.case_id)}\n\n"
        "Ce message est envoyé automatiquement ; il ne contient aucune donnée du dossier.\n"
        "Vous pouvez changer vos préférences sur la page « Mes notifications » de la console.\n\n"
        f"-- \n{SERVICE}\n"
    )
    return _message(
        sender=sender,
        rows=[row],
        subject=f"[Sceau] Nouveau dossier {row.process_code} n° {row.folder_number}",
        body=body,
        domain=domain,
    )


def digest_message(
    rows: Sequence[QueuedMail], *, sender: str, console_url: str, domain: str
) -> EmailMessage:
    """The day's new dossiers for one user, grouped by démarche."""
    by_process: dict[str, list[QueuedMail]] = {}
    for row in rows:
        by_process.setdefault(row.process_code, []).append(row)
    lines = ["Bonjour,", ""]
    count = len(rows)
    lines.append(
        f"{count} nouveau dossier est arrivé depuis le dernier récapitulatif."
        if count == 1
        else f"{count} nouveaux dossiers sont arrivés depuis le dernier récapitulatif."
    )
    for process, items in sorted(by_process.items()):
        lines += ["", f"Démarche {process} ({len(items)}) :"]
        lines += [
            f"  - n° {r.folder_number} : {dossier_link(console_url, r.case_id)}" for r in items
        ]
    lines += [
        "",
        f"Console : {console_url.rstrip('/')}/",
        "",
        "Ce message est envoyé automatiquement ; il ne contient aucune donnée des dossiers.",
        "Vous pouvez changer vos préférences sur la page « Mes notifications » de la console.",
        "",
        f"-- \n{SERVICE}",
        "",
    ]
    plural = "dossier" if count == 1 else "dossiers"
    return _message(
        sender=sender,
        rows=rows,
        subject=f"[Sceau] Récapitulatif : {count} nouveau{'x' if count > 1 else ''} {plural}",
        body="\n".join(lines),
        domain=domain,
    )
