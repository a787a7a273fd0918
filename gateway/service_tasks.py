"""What gateway.yaml asks ``sceau gateway run`` to start beside the LAN API and the hub
link: one watched-folder adapter per ``folders:`` entry, one webhook dispatcher per
``webhooks.hooks`` entry (when ``webhooks.enabled``), and the retention purge (when
``purge.enabled``).

The adapters and dispatchers are HubEE API clients: they talk to this gateway's own LAN
API over loopback, exactly as ``sceau gateway folders run`` and ``sceau gateway webhooks
run`` do as separate processes, so the LAN API stays the one way in. Each runs as a
supervised task: a failure (a secret file unreadable, a root that cannot be prepared, a
bug) is logged and the task restarted after a growing delay, without touching the
others. Secret files are read once at start (:func:`check_secrets`: a missing one is a
configuration error, exit 3) and again at each restart, so fixing one needs no restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import GatewayConfigError
from gateway.folders_adapter import FolderAdapter
from gateway.folders_api import ClientCredentials
from gateway.outbox import backoff
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from gateway.settings_tasks import WatchedFolder, Webhook, read_secret_file
from gateway.webhooks import WebhookConfig
from gateway.webhooks_dispatcher import WebhookDispatcher
from hubee.retention import Retention

log = logging.getLogger("gateway.tasks")


def lan_url(settings: GatewaySettings, port: int) -> str:
    """The LAN API as seen from this host (a wildcard address is reached on loopback)."""
    host = settings.lan_host
    if host in ("0.0.0.0", ""):  # noqa: S104 - a bind address read, not bound here
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def check_secrets(settings: GatewaySettings) -> None:
    """Read every secret file the tasks need; a GatewayConfigError names the first missing."""
    for folder in settings.folders:
        read_secret_file(settings.resolve(folder.client_secret_file), "the client secret")
    if settings.webhooks.enabled:
        for hook in settings.webhooks.hooks:
            read_secret_file(settings.resolve(hook.client_secret_file), "the client secret")
            _hook_config(settings, hook)


def folder_task_name(folder: WatchedFolder) -> str:
    return f"watched folders {folder.process} ({folder.side})"


def hook_task_name(hook: Webhook) -> str:
    return f"webhook of {hook.client_id}"


PURGE_TASK = "retention purge"


def task_names(settings: GatewaySettings) -> tuple[str, ...]:
    """The tasks gateway.yaml asks for, named as ``run`` names them (and ``status`` shows)."""
    names = [folder_task_name(f) for f in settings.folders]
    if settings.webhooks.enabled:
        names += [hook_task_name(h) for h in settings.webhooks.hooks]
    if settings.purge.enabled:
        names.append(PURGE_TASK)
    return tuple(names)


@dataclass
class TaskState:
    """One supervised task, for status and tests."""

    name: str
    restarts: int = 0
    last_error: str | None = None  # the last failure that made it restart (purge: clears)
    running: Any = field(default=None, repr=False)  # the adapter or dispatcher, once built

    @property
    def current_error(self) -> str | None:
        """What is wrong now: a watched-folder adapter's last round once it has run one
        (None: that round went well), else the failure that last restarted the task."""
        if getattr(self.running, "rounds", 0) > 0:
            error = getattr(self.running, "last_error", None)
            return error if isinstance(error, str) else None
        return self.last_error


async def supervise(
    state: TaskState,
    start: Callable[[TaskState], Awaitable[None]],
    *,
    delay: Callable[[int], float] = backoff,
) -> None:
    """Run ``start`` again after each failure, waiting longer each time, until cancelled."""
    failures = 0
    while True:
        try:
            await start(state)
            failures = 0  # returned: start again at once (it should run until cancelled)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - logged, then restarted: never stops the service
            failures += 1
            state.restarts += 1
            state.running = None  # the next start builds a new one
            state.last_error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            pause = delay(failures)
            log.warning("%s failed: %s (restart in %.0f s)", state.name, state.last_error, pause)
            await asyncio.sleep(pause)
            continue
        await asyncio.sleep(1.0)


def configured_tasks(
    runtime: GatewayRuntime, lan_base_url: str | None
) -> tuple[list[TaskState], list[Coroutine[Any, Any, None]]]:
    """The supervised tasks gateway.yaml asks for (folders and webhooks only with a LAN
    API to talk to, ``lan_base_url``), with their states."""
    settings = runtime.settings
    states: list[TaskState] = []
    works: list[Coroutine[Any, Any, None]] = []
    if lan_base_url is not None:
        for folder in settings.folders:
            state = TaskState(folder_task_name(folder))
            states.append(state)
            works.append(supervise(state, _folder_runner(settings, folder, lan_base_url)))
        if settings.webhooks.enabled:
            for hook in settings.webhooks.hooks:
                state = TaskState(hook_task_name(hook))
                states.append(state)
                works.append(supervise(state, _hook_runner(settings, hook, lan_base_url)))
    elif settings.folders or settings.webhooks.hooks:
        log.warning("watched folders and webhooks need the LAN API: not started")
    if settings.purge.enabled:
        state = TaskState(PURGE_TASK)
        states.append(state)
        works.append(supervise(state, _purge_runner(runtime)))
    return states, works


def _folder_runner(
    settings: GatewaySettings, folder: WatchedFolder, base_url: str
) -> Callable[[TaskState], Awaitable[None]]:
    async def start(state: TaskState) -> None:
        secret_file = settings.resolve(folder.client_secret_file)
        secret = await asyncio.to_thread(read_secret_file, secret_file, "the client secret")
        adapter = FolderAdapter(
            folder.folder_settings(settings.data_dir),
            base_url,
            ClientCredentials(folder.client_id, secret),
        )
        state.running = adapter
        await adapter.run()

    return start


def _hook_config(settings: GatewaySettings, hook: Webhook) -> WebhookConfig:
    key = read_secret_file(settings.resolve(hook.secret_file), "the webhook secret")
    try:
        return WebhookConfig(url=hook.url, secret=key.encode(), name=hook.client_id)
    except ValueError as exc:
        raise GatewayConfigError(f"webhooks ({hook.client_id}): {exc}") from None


def _hook_runner(
    settings: GatewaySettings, hook: Webhook, base_url: str
) -> Callable[[TaskState], Awaitable[None]]:
    async def start(state: TaskState) -> None:
        secret_file = settings.resolve(hook.client_secret_file)
        secret = await asyncio.to_thread(read_secret_file, secret_file, "the client secret")
        config = await asyncio.to_thread(_hook_config, settings, hook)
        folder = settings.paths.webhooks
        await asyncio.to_thread(folder.mkdir, mode=0o700, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", hook.client_id)
        dispatcher = WebhookDispatcher(
            config,
            db_path=folder / f"{name}.db",
            api_base_url=base_url,
            credentials=ClientCredentials(hook.client_id, secret),
            poll_interval=hook.poll_interval,
        )
        state.running = dispatcher
        await dispatcher.run()

    return start


def _purge_runner(runtime: GatewayRuntime) -> Callable[[TaskState], Awaitable[None]]:
    every = runtime.settings.purge.every_minutes * 60.0

    async def start(state: TaskState) -> None:
        retention = Retention(runtime.store, runtime.blobs, runtime.sink)
        while True:
            report = await retention.purge(now=runtime.deps.clock())
            state.running, state.last_error = report, None
            if report.attachments_deleted or report.folders_archived or report.folders_deleted:
                log.info(
                    "purge: %d attachment(s) of %d case(s), %d blob(s) deleted; "
                    "%d folder(s) archived, %d deleted",
                    report.attachments_deleted,
                    report.cases_with_files_purged,
                    report.blobs_deleted,
                    report.folders_archived,
                    report.folders_deleted,
                )
            await asyncio.sleep(every)

    return start
