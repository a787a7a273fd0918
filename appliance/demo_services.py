"""The demo's services as an operator runs them: ``sceau hub run`` and ``sceau gateway
run`` (with a watched folder from its gateway.yaml), each a real process (``python -m appliance …``)
whose output goes to a log file in its data folder.

One-shot administration (``sceau hub org add``, ``sceau gateway enroll``, …) runs the
same click commands in this process (:func:`sceau`): each would otherwise pay about
2.5 s of interpreter and import start-up, and the demo runs some thirty of them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from appliance.cli import main as sceau_main

# CliRunner swaps sys.stdout for the whole process: one command at a time.
_ONE_AT_A_TIME = threading.Lock()
_LISTENING = re.compile(r"listening on (https?://[^\s]+?:\d+)")


class DemoStepFailed(Exception):
    """A step of the demo failed; the message says which and shows its output."""


def sceau(*args: str) -> str:
    """Run ``sceau ARGS`` in this process; its standard output, or :class:`DemoStepFailed`."""
    with _ONE_AT_A_TIME:
        result = CliRunner().invoke(sceau_main, list(args), catch_exceptions=True)
    if result.exit_code != 0:
        detail = (result.stderr or result.stdout or repr(result.exception)).strip()
        raise DemoStepFailed(f"sceau {' '.join(args[:3])} … exited {result.exit_code}: {detail}")
    return result.stdout


@dataclass
class Service:
    """A long-running ``sceau`` command; :meth:`start` waits for its "listening on" line."""

    name: str
    args: list[str]
    log: Path
    url: str = ""
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    async def start(self, *, timeout: float = 30.0, wait_for_url: bool = True) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "appliance",
                *self.args,
                stdout=out,
                stderr=out,
                stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        if not wait_for_url:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            found = _LISTENING.search(self.log.read_text(encoding="utf-8", errors="replace"))
            if found:
                self.url = found.group(1)
                return
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise DemoStepFailed(f"{self.name} did not start; its log ({self.log}):\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self, *, timeout: float = 15.0) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
