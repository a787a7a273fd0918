"""How the console writes times, sizes and statuses for French readers."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hubee.model import Status


@functools.cache
def zone(name: str) -> tzinfo:
    """The console's zone (``console.timezone``); UTC when this system has no tz database."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return UTC


LOCAL = zone("Europe/Paris")  # the default of console.timezone

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


def local_time(at: datetime | str | None, where: tzinfo = LOCAL, *, seconds: bool = False) -> str:
    """``23/11/2026 à 14:05`` in the console's zone (``where``; UTC is marked as such)."""
    if at is None or at == "":
        return "—"
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    text = at.astimezone(where).strftime("%d/%m/%Y à %H:%M" + (":%S" if seconds else ""))
    return text if where is not UTC else f"{text} UTC"


def day_start(day: date, where: tzinfo = LOCAL) -> datetime:
    """The first instant of ``day`` in ``where``, in UTC (23:00 or 22:00 the day before
    for Paris); a day is 23 or 25 hours long when the clocks change."""
    return datetime.combine(day, time(), tzinfo=where).astimezone(UTC)


def day_end(day: date, where: tzinfo = LOCAL) -> datetime:
    """The first instant after ``day`` in ``where``, in UTC."""
    return day_start(day + timedelta(days=1), where)


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Ko".replace(".", ",")
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")
