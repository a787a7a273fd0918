"""Exit codes (DESIGN.md §2), and the one place errors are translated to them."""

from __future__ import annotations

import enum

from gateway.errors import (
    EvidenceNotReady,
    GatewayConfigError,
    GatewayError,
    HubRefused,
    HubUnreachable,
)
from hub.errors import HubConfigError
from hubee.errors import HubError, StorageFailure
from trust.errors import (
    JournalError,
    KeyMaterialError,
    MalformedInputError,
    PolicyError,
    TimestampAuthorityError,
    TrustError,
)


class ExitCode(enum.IntEnum):
    OK = 0
    VERIFICATION_FAILED = 1
    USAGE = 2
    CONFIGURATION = 3
    UNREACHABLE = 4
    INTERNAL = 70


# Most specific first: the first matching class decides.
_TABLE: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (MalformedInputError, ExitCode.VERIFICATION_FAILED),
    (TimestampAuthorityError, ExitCode.UNREACHABLE),
    (KeyMaterialError, ExitCode.CONFIGURATION),
    (JournalError, ExitCode.CONFIGURATION),
    (PolicyError, ExitCode.USAGE),
    (TrustError, ExitCode.INTERNAL),
    (StorageFailure, ExitCode.CONFIGURATION),
    (HubConfigError, ExitCode.CONFIGURATION),
    (HubError, ExitCode.USAGE),
    (GatewayConfigError, ExitCode.CONFIGURATION),
    (HubUnreachable, ExitCode.UNREACHABLE),
    (EvidenceNotReady, ExitCode.UNREACHABLE),
    (HubRefused, ExitCode.USAGE),
    (GatewayError, ExitCode.INTERNAL),
)


def exit_code_for(error: BaseException) -> ExitCode:
    for cls, code in _TABLE:
        if isinstance(error, cls):
            return code
    return ExitCode.INTERNAL
