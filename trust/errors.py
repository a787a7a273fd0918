"""The trust layer's one error hierarchy.

Every error carries the user's next step in :meth:`TrustError.diagnostics`.
Callers translate these to HTTP statuses or exit codes in one place each
(``appliance.exit_codes``); core code never knows about either.

Verification *returns* a result (see :mod:`trust.results`); these errors are
raised only when an operation could not run at all.
"""

from __future__ import annotations


class TrustError(Exception):
    """Base of every error raised by :mod:`trust`."""

    hint: str = ""

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


class KeyMaterialError(TrustError):
    """A key or certificate file is missing, unreadable, badly protected or malformed."""

    hint = "Check the path and the file's permissions (keys must be mode 0600)."


class MalformedInputError(TrustError):
    """Input bytes (DER, JSON, ZIP, note) could not be parsed."""

    hint = "The input is damaged or is not of the expected kind; obtain a fresh copy."


class TimestampAuthorityError(TrustError):
    """The TSA could not be reached, or answered something that is not a usable token."""

    hint = "Check the TSA URL and that the TSA is running; retry later."


class JournalError(TrustError):
    """The journal could not be opened or written."""

    hint = "Check the journal database path, free disk space and permissions."


class PolicyError(TrustError):
    """A requested operation is refused by policy (for example, no TSA configured)."""
