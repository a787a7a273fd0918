"""The hub's one error hierarchy.

Domain code raises these; it never knows HTTP. The web layer translates them to
statuses and the HubEE error body in one table (``hub.http_errors``), and the CLI
translates them to exit codes in one place (``appliance.exit_codes``).

Every error carries the user's next step in :meth:`HubError.diagnostics`.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error raised by :mod:`hub`."""

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


class NotFound(HubError):
    """The object does not exist, or the caller may not know that it exists."""

    hint = "Check the identifier; objects of other organizations are never visible."


class Unauthorized(HubError):
    """No credentials, or credentials that are unknown, wrong or expired."""

    hint = "Obtain a fresh token from POST /token with the client's id and secret."


class InvalidClient(Unauthorized):
    """The client id or secret presented to ``POST /token`` is wrong (RFC 6749 §5.2)."""

    oauth_error = "invalid_client"


class InvalidGrant(HubError):
    """The token request is malformed or asks for what the client may not have."""

    def __init__(self, message: str, *, oauth_error: str = "invalid_request") -> None:
        super().__init__(message)
        self.oauth_error = oauth_error


class Gone(HubError):
    """The object existed but was deliberately discarded (410): start it again."""

    hint = "Start again from the beginning; what the server held was discarded."


class Forbidden(HubError):
    """The caller is authenticated but its scope or organization may not do this."""

    hint = "Use a client of the right scope (OSL, SI or ADMIN) for this démarche."


class Conflict(HubError):
    """The request contradicts what is already stored (same id, other content)."""

    hint = "Retry with exactly the original content, or use a new external id."


class ValidationFailed(HubError):
    """A field of the request is missing or malformed."""

    hint = "Fix the named field and retry."

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class IllegalTransition(HubError):
    """A status change that the life-cycle rules forbid; ``rule`` names the rule."""

    hint = "See docs/HUB.md, 'Statuses and transitions', for the allowed moves."

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} (rule: {rule})")
        self.rule = rule


class PayloadTooLarge(HubError):
    """An attachment is larger than the configured or declared maximum."""

    hint = "Split the file, or ask the hub operator to raise the démarche's maximum size."


class MethodNotAllowed(HubError):
    """The route exists but not with this method (or a bad X-HTTP-Method-Override)."""


class StorageFailure(HubError):
    """The hub's database or blob store could not be opened or written."""

    hint = "Check the data directory's path, permissions and free disk space."


class InsufficientStorage(StorageFailure):
    """The disk is full: nothing was kept, and what was stored before is intact."""

    hint = "Free disk space (or grow the volume) on the data directory, then retry."
