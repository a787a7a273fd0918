"""The hub's own errors: the link API's refusals and the hub's configuration.

Each refines a HubEE engine error (:mod:`hubee.errors`), so that the engine's one
error → HTTP table (``hubee.http_errors``) answers them with the right status and the
HubEE error body, and the CLI's one table (``appliance.exit_codes``) gives the exit
code. Every error says what to do next in :meth:`diagnostics`.
"""

from __future__ import annotations

from hubee.errors import Conflict, Forbidden, Gone, HubError, Unauthorized, ValidationFailed


class HubConfigError(HubError):
    """The hub's settings, keys or certificates are missing or wrong."""

    hint = "Run `sceau hub init --data DIR` once, and check the settings file hub.yaml."


class EnrollmentRefused(Unauthorized):
    """An enrollment token that is unknown, already used, or expired (401)."""

    hint = "Ask the hub's operator for a new token: sceau hub enrollment-token ORG."


class CertificateRequired(Unauthorized):
    """A link call without a client certificate, or with one the hub never issued (401)."""

    hint = "Call the link API over mutual TLS with the certificate received at enrollment."


class CertificateRevoked(Forbidden):
    """The gateway's certificate has been revoked by the hub's operator (403)."""

    hint = "Enroll the gateway again with a new token from the hub's operator."


class CertificateRetired(Unauthorized):
    """A certificate the gateway replaced with ``sceau gateway rotate-keys`` (401)."""

    hint = (
        "The gateway rotated its keys: restart its service so that it uses the new "
        "certificate (docs/KEYS.md)."
    )


class RenewalOutOfOrder(Conflict):
    """A key-rotation call in the wrong order or with the wrong certificate (409)."""

    hint = "Run `sceau gateway rotate-keys` again: it resumes where it stopped (docs/KEYS.md)."


class SealRefused(ValidationFailed):
    """A seal that does not verify, or does not cover what it claims (400)."""

    hint = "Seal the exact manifest bytes sent, with the seal key certified at enrollment."


class ForeignSeal(Forbidden):
    """A seal made with a certificate that is not one of the calling organisation's (403)."""

    hint = "Seal with the seal certificate the hub issued to this gateway's organisation."


class CheckpointRefused(Conflict):
    """A checkpoint inconsistent with what the witness cosigned before (409); never cosigned."""

    hint = (
        "The gateway's journal no longer extends the history the hub witnessed: "
        "investigate before anything else (restore, rollback or tampering)."
    )


class UploadOffsetMismatch(Conflict):
    """A resumed upload that does not start where the partial upload ends (409)."""

    hint = "Ask for the offset with HEAD on the same URL, then resume from there."


class UploadExpired(Gone):
    """A resume of a partial upload the hub discarded as abandoned (410)."""

    hint = "Restart the upload from byte 0: PUT the whole file without Content-Range."


class UploadInterrupted(ValidationFailed):
    """The request body ended before its length: the hub keeps what arrived (400)."""

    hint = "Resume the upload: HEAD gives the offset, PUT with Content-Range continues."
