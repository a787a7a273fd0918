"""Flux, continued: the watched folders' failures (``FAILED/`` of each OSL-side folder
listed in ``gateway.yaml``, see docs/FOLDERS.md) with the reason from ``NAME.error``,
and « Relancer »: the dossier's folder goes back into ``OUT/`` unchanged (what the
error file tells an operator to do by hand), its ``.error`` is removed, and the
adapter sends it again on its next scan. Blocking file work runs in a thread.

Names are checked against the listing (no path from the request is ever joined
blindly): a name that is not a folder directly under ``FAILED/`` is a 404.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from gateway.console.admin_common import journal_action
from gateway.console.keys import Caller, console_of
from gateway.console.pages import PageError, admin_page, flash, redirect, url
from gateway.settings import GatewaySettings

MAX_LISTED = 100


@dataclass(frozen=True)
class FolderFailure:
    process: str
    name: str
    reason: str


def _failed_dirs(settings: GatewaySettings) -> dict[str, Path]:
    """Each OSL-side process's ``FAILED/`` directory."""
    out = {}
    for folder in settings.folders:
        if folder.side == "OSL":
            out[folder.process] = folder.folder_settings(settings.data_dir).layout.failed
    return out


def _reason(error_file: Path) -> str:
    try:
        text = error_file.read_text("utf-8", errors="replace")
    except OSError:
        return "(pas de fichier .error)"
    for line in text.splitlines():
        if line.startswith("Reason:"):
            return line.removeprefix("Reason:").strip()
    return text.strip()[:300] or "(raison inconnue)"


def folder_failures(settings: GatewaySettings) -> list[FolderFailure]:
    found: list[FolderFailure] = []
    for process, failed in sorted(_failed_dirs(settings).items()):
        try:
            entries = sorted(os.scandir(failed), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                reason = _reason(failed / f"{entry.name}.error")
                found.append(FolderFailure(process, entry.name, reason))
            if len(found) >= MAX_LISTED:
                return found
    return found


def retry_folder(settings: GatewaySettings, process: str, name: str) -> str | None:
    """Move ``FAILED/name`` back into ``OUT/``; ``None`` if done, else why not (French)."""
    failed = _failed_dirs(settings).get(process)
    if failed is None:
        raise PageError(404)
    listed = {f.name for f in folder_failures(settings) if f.process == process}
    if name not in listed:
        raise PageError(404)
    out = failed.parent / "OUT"
    target = out / name
    if target.exists():
        return f"OUT/{name} existe déjà : déplacez-le ou renommez-le d'abord."
    os.rename(failed / name, target)
    (failed / f"{name}.error").unlink(missing_ok=True)
    return None


@admin_page
async def retry(request: web.Request, caller: Caller) -> web.StreamResponse:
    settings = console_of(request).runtime.settings
    process, name = request.match_info["process"], request.match_info["name"]
    problem = await asyncio.to_thread(retry_folder, settings, process, name)
    if problem is not None:
        await flash(request, caller, f"Dossier non relancé : {problem}", kind="error")
    else:
        await journal_action(request, caller, "folder.retry", process=process, name=name)
        await flash(request, caller, f"Le dossier {name} est remis dans OUT/ ({process}).")
    return redirect(url("admin/flux"))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(
        "/admin/flux/dossiers/{process}/{name}/relancer", retry, name="admin-folder-retry"
    )
