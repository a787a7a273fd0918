"""The services' logs: one JSON object per line (or readable text), never a secret.

``sceau gateway run`` and ``sceau hub run`` call :func:`setup_logging` once. The format
is ``--log-format``, else ``$SCEAU_LOG_FORMAT``, else ``json`` when stderr is not a
terminal (systemd, containers, a pipe) and ``text`` on a terminal.

A JSON line holds ``time`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``,
``message``, the record's structured extras (``log.info("…", extra={"case": id})``),
and ``exception`` when there is one.

:class:`Redactor` runs on the handler, so it sees every record of every library: it
replaces bearer tokens, ``Authorization`` values, ``client_secret=…``, ``password=…``,
``token=…`` (enrollment and access tokens), and private key PEM blocks with
``[redacted]``, in the message, in the exception text and in the extras; an extra whose
key names a secret is redacted whole, and one whose key names personal data (names,
birth, address, e-mail, dossier contents) is dropped to ``[personal data]``. This is the
safety net: the log calls themselves log ids and counts, never dossier contents.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import click

from appliance.exit_codes import ExitCode

ENV = "SCEAU_LOG_FORMAT"
FORMATS = ("json", "text")
REDACTED = "[redacted]"
PERSONAL = "[personal data]"

# Every attribute a bare LogRecord has: anything else on a record is an extra.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=:-]+", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?)(?!Bearer|Basic)[^\s'\",;]+", re.I)
# The names of secrets (not secrets).
_SECRET_NAMES = (
    "client_secret",
    "clientSecret",
    "secret",
    "password",
    "passphrase",
    "passwd",
    "pwd",
    "access_token",
    "accessToken",
    "refresh_token",
    "enrollment_token",
    "enrollmentToken",
    "token",
)
_SECRET_WORDS = "|".join(_SECRET_NAMES)
# Also compound names (smtp_password, csrf_token, SCEAU_ENROLL_TOKEN) and quoted values.
_ASSIGNED = re.compile(
    rf"(\b(?:[A-Za-z0-9]+[_-])*(?:{_SECRET_WORDS})\b['\"]?\s*[:=]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s'\"&,;}]+)",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")  # https://user:password@host
_SECRET_KEY = re.compile(r"secret|password|passphrase|token|authorization|private_?key", re.I)
_PERSONAL_KEY = re.compile(
    r"name|birth|address|email|e_mail|phone|nir|payload|content|body|dossier_data|person",
    re.IGNORECASE,
)
_SAFE_KEYS = frozenset({"process_name", "thread_name", "logger_name", "file_name_count"})


def redact(text: str) -> str:
    """``text`` with secrets replaced by ``[redacted]``."""
    text = _PEM.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    return _ASSIGNED.sub(lambda m: m.group(1) + _redacted_value(m.group(2)), text)


def _redacted_value(value: str) -> str:
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{quote}{REDACTED}{quote}"


def _clean_extra(key: str, value: Any) -> Any:
    if key not in _SAFE_KEYS:
        if _SECRET_KEY.search(key):
            return REDACTED
        if _PERSONAL_KEY.search(key):
            return PERSONAL
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _clean_extra(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_extra("", v) for v in value]
    return redact(str(value))


class Redactor(logging.Filter):
    """Redacts secrets in place (message, exception, extras); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key in [k for k in vars(record) if k not in _STANDARD]:
            setattr(record, key, _clean_extra(key, getattr(record, key)))
        return True


def rfc3339(created: float) -> str:
    return (
        datetime.fromtimestamp(created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return rfc3339(record.created)


def choose_format(option: str | None, stream: TextIO) -> str:
    """The option, else ``$SCEAU_LOG_FORMAT``, else json off a terminal and text on one."""
    chosen = option or os.environ.get(ENV, "").strip().lower() or None
    if chosen is None:
        return "text" if stream.isatty() else "json"
    if chosen not in FORMATS:
        raise ValueError(
            f"${ENV}={chosen!r} is not a log format: the allowed values are json or text"
        )
    return chosen


def setup_logging(
    option: str | None = None, *, level: int = logging.INFO, stream: TextIO | None = None
) -> str:
    """Route every logger to ``stream`` (stderr) in the chosen format, through the
    :class:`Redactor`; returns the format used. Replaces earlier handlers on the root."""
    target = stream if stream is not None else sys.stderr
    fmt = choose_format(option, target)
    handler = logging.StreamHandler(target)
    handler.addFilter(Redactor())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return fmt


# The errors of binding a listening socket: a fault of the setup, not of the code.
BIND_ERRNOS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})


def log_format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--log-format",
        type=click.Choice(FORMATS),
        default=None,
        help=f"Logs on stderr: json (one object a line) or text. Default: ${ENV}, "
        "else json when stderr is not a terminal, text on a terminal.",
    )(f)


class LogFormatError(click.ClickException):
    """A bad ``$SCEAU_LOG_FORMAT``: the environment is configuration (exit 3), not usage."""

    exit_code = ExitCode.CONFIGURATION

    def show(self, file: Any = None) -> None:
        click.secho(f"error: {self.format_message()}", fg="red", err=True)


def start_logging(option: str | None) -> str:
    """:func:`setup_logging` for a CLI command: a bad ``$SCEAU_LOG_FORMAT`` is a
    configuration error (exit 3) that names the variable, the allowed values and the fix."""
    try:
        return setup_logging(option)
    except ValueError as exc:
        raise LogFormatError(
            f"{exc}\n  → set {ENV} to json or text, or unset it (json when stderr is not a "
            "terminal, text on one); systemd: the unit's Environment= or its env file"
        ) from None
