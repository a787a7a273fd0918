"""The gateway's one error hierarchy.

Each error says what happened and what to do (:meth:`GatewayError.diagnostics`). The
CLI maps them to exit codes in ``appliance.exit_codes``; the LAN API never sees them
(its errors are the engine's, :mod:`hubee.errors`).
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error raised by :mod:`gateway` (besides the engine's own)."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def diagnostics(self) -> str:
        if self.hint:
            return f"{self.message}\n  → {self.hint}"
        return self.message


class GatewayConfigError(GatewayError):
    """The data directory, its settings or its keys are missing or unusable."""

    hint = "Run `sceau gateway init` (then `enroll`) on this data directory, or fix the named file."


class NotEnrolled(GatewayConfigError):
    """The gateway has keys but no certificates from a hub yet."""

    hint = "Run `sceau gateway enroll --hub URL --token TOKEN` with a token from the hub operator."


class HubUnreachable(GatewayError):
    """The hub (or the TSA) did not answer, or its TLS identity is not the pinned one."""

    hint = "Check the hub URL, the network, and the pinned hub CA (certs/hub-ca.pem); retry later."


class HubRefused(GatewayError):
    """The hub answered with an error that a retry will not fix."""

    hint = "Read the hub's message; fix the request (or ask the hub operator) and retry."

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class EvidenceNotReady(GatewayError):
    """The dossier's journal entries are not yet under a time-stamped checkpoint."""

    hint = (
        "The next checkpoint is made within the configured interval and stamped as soon as "
        "the TSA answers; retry in a moment (`sceau gateway status` shows the gap)."
    )
