"""Verification results: a verdict plus the reasons behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"


@dataclass(frozen=True)
class Check:
    """One thing that was checked, and what came of it."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of a verification: valid only if every check passed."""

    subject: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Verdict:
        if self.checks and all(c.ok for c in self.checks):
            return Verdict.VALID
        return Verdict.INVALID

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def reasons(self) -> tuple[str, ...]:
        """Human-readable reasons for every failed check."""
        return tuple(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def plus(self, *checks: Check) -> VerificationResult:
        return VerificationResult(self.subject, self.checks + checks)
