"""How the console writes times, sizes and statuses for French readers."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from hubee.model import Status

try:
    from zoneinfo import ZoneInfo

    LOCAL: tzinfo = ZoneInfo("Europe/Paris")
except Exception:  # noqa: BLE001 - no tz database on this system: show UTC, say so
    LOCAL = UTC

STATUS_LABELS: dict[str, str] = {
    Status.HUBEE_RECEIVED.value: "En cours de dépôt",
    Status.HUBEE_COMPLETED.value: "Déposé",
    Status.HUBEE_NOTIFIED.value: "Nouveau",
    Status.SENT.value: "Consulté",
    Status.SI_RECEIVED.value: "Réception accusée",
    Status.SI_INTG_ERROR.value: "Erreur d'intégration",
    Status.IN_PROGRESS.value: "Pris en charge",
    Status.ADD_AWAITING.value: "En attente de compléments",
    Status.DONE.value: "Terminé",
    Status.REFUSED.value: "Refusé",
    Status.CLOSED.value: "Clos",
    Status.ARCHIVED.value: "Archivé",
}
NEW_STATUSES = (Status.HUBEE_NOTIFIED.value, Status.SENT.value)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def local_time(at: datetime | str | None) -> str:
    """``23/11/2026 à 14:05`` in Paris time (UTC marked when no tz database exists)."""
    if at is None or at == "":
        return "—"
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    text = at.astimezone(LOCAL).strftime("%d/%m/%Y à %H:%M")
    return text if LOCAL is not UTC else f"{text} UTC"


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Ko".replace(".", ",")
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")
