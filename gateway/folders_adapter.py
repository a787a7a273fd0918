"""One process's watched folders, run against a HubEE API until cancelled.

The gateway starts one per configured process inside ``sceau gateway run``::

    adapter = FolderAdapter(settings, "http://127.0.0.1:8443", ClientCredentials(id, secret))
    task = asyncio.create_task(adapter.run())
    ...
    task.cancel()  # clean: state closed, HTTP session closed; work resumes at next start

The OSL side scans OUT/ (:mod:`gateway.folders_outbound`); the SI side lists
notifications into IN/ (:mod:`gateway.folders_inbound`). A round that fails as a whole
(the API is unreachable, the credentials are refused) is retried with backoff; single
dossiers have their own retry schedule in the state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from gateway.folders_api import ClientCredentials, HubeeApi
from gateway.folders_errors import FolderError
from gateway.folders_inbound import Inbound
from gateway.folders_outbound import Outbound
from gateway.folders_settings import FolderSettings, Side
from gateway.folders_state import FolderState

log = logging.getLogger("sceau.folders")


class FolderAdapter:
    def __init__(
        self,
        settings: FolderSettings,
        api_base_url: str,
        credentials: ClientCredentials,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._base_url = api_base_url
        if credentials.scope is None:
            credentials = dataclasses.replace(credentials, scope=settings.side.value)
        self._credentials = credentials
        self._clock = clock
        self.rounds = 0  # completed scans (OSL) or polls (SI), failed or not
        self.last_error: str | None = None

    async def run(self) -> None:
        """Scan or poll every ``scan_interval`` seconds until cancelled."""
        layout = self.settings.layout
        await asyncio.to_thread(layout.create)
        state = await asyncio.to_thread(FolderState, layout.state_db)
        try:
            async with HubeeApi(self._base_url, self._credentials) as api:
                worker: Outbound | Inbound
                if self.settings.side is Side.OSL:
                    worker = Outbound(self.settings, api, state, clock=self._clock)
                else:
                    worker = Inbound(self.settings, api, state, clock=self._clock)
                await worker.recover()
                log.info(
                    "watching %s for %s (%s side) against %s",
                    layout.root,
                    self.settings.process_code,
                    self.settings.side.value,
                    self._base_url,
                )
                failures = 0
                while True:
                    pause = self.settings.scan_interval
                    try:
                        if isinstance(worker, Outbound):
                            await worker.scan()
                        else:
                            await worker.poll()
                        failures, self.last_error = 0, None
                    except FolderError as exc:
                        failures += 1
                        pause = max(pause, self.settings.backoff.delay(failures))
                        self.last_error = exc.message
                        log.warning("%s (next try in %.0f s)", exc.diagnostics(), pause)
                    except OSError as exc:
                        failures += 1
                        pause = max(pause, self.settings.backoff.delay(failures))
                        self.last_error = f"{exc.strerror or exc}: {exc.filename}"
                        log.warning("file system: %s (next try in %.0f s)", self.last_error, pause)
                    except Exception as exc:  # a bug must not stop the service: logged, retried
                        failures += 1
                        pause = max(pause, self.settings.backoff.delay(failures))
                        self.last_error = f"internal error: {type(exc).__name__}: {exc}"
                        log.exception("watched folders of %s", self.settings.process_code)
                    self.rounds += 1
                    await asyncio.sleep(pause)
        finally:
            await asyncio.to_thread(state.close)
