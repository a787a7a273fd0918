"""Errors of the watched folders and webhooks: what went wrong, and what to do.

Each error says whether retrying can help (:attr:`FolderError.transient`). The adapter
retries transient ones with backoff and leaves the dossier where it is; a permanent
one sends an outgoing dossier to ``FAILED/`` with :meth:`FolderError.diagnostics` as
its ``.error`` file. The texts are written for the IT person who reads that file.
"""

from __future__ import annotations


class FolderError(Exception):
    """Base of every error raised by the folder adapter and the webhook dispatcher."""

    hint: str = ""
    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def diagnostics(self) -> str:
        """What happened, then what to do about it."""
        if self.hint:
            return f"{self.message}\n  → {self.hint}"
        return self.message


class ApiUnavailable(FolderError):
    """The API did not answer, or answered that it cannot serve now (5xx, 429, 408)."""

    transient = True
    hint = "Nothing to do if it is short: the adapter retries with a growing delay."


class CredentialsRejected(FolderError):
    """``POST /token`` refused the client id or secret, or the token was not accepted.

    Transient from a dossier's point of view: it is the configuration that is wrong,
    not the dossier, so nothing goes to ``FAILED/``; the adapter retries and logs.
    """

    transient = True
    hint = (
        "Check --client-id and --client-secret (or the gateway's client settings) and "
        "that the client is for this process and side (OSL or SI)."
    )


class ApiRefused(FolderError):
    """The API refused a request for a reason that retrying the same request won't fix."""

    hint = "Fix what the message names, then move the dossier folder back into OUT/."

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class DossierInvalid(FolderError):
    """A dropped dossier is malformed: its metadata.json, its files or its layout."""

    hint = "Fix the dossier, then move its folder back into OUT/."


class TransferCorrupted(FolderError):
    """Downloaded bytes do not match the size or digest the API announced."""

    transient = True
    hint = "Usually a network or disk fault; the adapter downloads the file again."


class LocalFault(FolderError):
    """A local file operation failed (disk full, permissions); retried with backoff."""

    transient = True
    hint = "Check free space and permissions under the folders root."


class FolderSetupError(FolderError):
    """The folders root cannot be used (permissions, different filesystems…)."""

    hint = "Check the path, its owner and permissions, and that it is one filesystem."
