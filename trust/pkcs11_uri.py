"""``pkcs11:`` URIs (RFC 7512): the subset Sceau uses to name a signing key.

A URI names the token, the key on it, and optionally where the PIN and the
module are, for example::

    pkcs11:token=gateway;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/sceau/pin

Supported path attributes: ``token``, ``object``, ``id``, ``slot-id``, and
``type=private``. Supported query attributes: ``pin-value``, ``pin-source``
(a ``file:`` URI or an absolute path) and ``module-path``.

Not supported, and refused with an error rather than ignored: the other RFC 7512
attributes (``manufacturer``, ``serial``, ``model``, ``library-*``,
``slot-description``, ``slot-manufacturer``, ``module-name``), vendor ``x-``
attributes, any ``type`` other than ``private``, and ``pin-source`` programs
(``|command``). A PIN file must be readable by its owner only, like a key file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from trust.errors import KeyMaterialError
from trust.keys import check_key_file_mode

_SCHEME = "pkcs11:"
_PATH_ATTRS = frozenset({"token", "object", "id", "slot-id", "type"})
_QUERY_ATTRS = frozenset({"pin-value", "pin-source", "module-path"})
# RFC 7512 §2.3: pk11-res-avail and pk11-qchar; everything else is percent-encoded.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PATH_SAFE = frozenset(_UNRESERVED + ":[]@!$'()*+,=&")
_QUERY_SAFE = frozenset(_UNRESERVED + ":[]@!$'()*+,=/?|")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_HINT = (
    "Write it as pkcs11:token=LABEL;object=KEY-LABEL?pin-source=file:/path/to/pin "
    "(RFC 7512; see the trust.pkcs11_uri documentation for the supported attributes)."
)


@dataclass(frozen=True)
class Pkcs11Uri:
    """A parsed ``pkcs11:`` URI. Build one with :func:`parse_pkcs11_uri`."""

    token_label: str | None = None
    key_label: str | None = None
    key_id: bytes | None = None
    slot_id: int | None = None
    module_path: str | None = None
    pin_value: str | None = field(default=None, repr=False)
    pin_source: Path | None = None

    def __post_init__(self) -> None:
        if self.pin_value is not None and self.pin_source is not None:
            raise KeyMaterialError(
                "a pkcs11: URI may give pin-value or pin-source, not both", hint=_HINT
            )
        if self.pin_source is not None and not self.pin_source.is_absolute():
            raise KeyMaterialError(
                f"the PIN file {self.pin_source} must be an absolute path", hint=_HINT
            )

    def pin(self) -> str | None:
        """The PIN from ``pin-value``, or read from the ``pin-source`` file; None if neither.

        One trailing newline in the file is not part of the PIN.
        """
        if self.pin_value is not None:
            return self.pin_value
        if self.pin_source is None:
            return None
        check_key_file_mode(self.pin_source)
        try:
            text = self.pin_source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyMaterialError(
                f"cannot read the PIN file {self.pin_source}",
                hint="It must be a UTF-8 text file holding only the PIN, mode 0600.",
            ) from exc
        pin = text.removesuffix("\n").removesuffix("\r")
        if not pin:
            raise KeyMaterialError(
                f"the PIN file {self.pin_source} is empty", hint="Write the token's user PIN in it."
            )
        return pin

    def to_uri(self, *, include_pin: bool = False) -> str:
        """The URI text; ``pin-value`` is left out unless ``include_pin`` (so it can be logged)."""
        path: list[str] = []
        if self.token_label is not None:
            path.append("token=" + _encode(self.token_label.encode(), _PATH_SAFE))
        if self.key_label is not None:
            path.append("object=" + _encode(self.key_label.encode(), _PATH_SAFE))
        if self.key_id is not None:
            path.append("id=" + "".join(f"%{b:02X}" for b in self.key_id))
        if self.slot_id is not None:
            path.append(f"slot-id={self.slot_id}")
        query: list[str] = []
        if self.module_path is not None:
            query.append("module-path=" + _encode(self.module_path.encode(), _QUERY_SAFE))
        if self.pin_source is not None:
            query.append("pin-source=file://" + _encode(str(self.pin_source).encode(), _QUERY_SAFE))
        if self.pin_value is not None and include_pin:
            query.append("pin-value=" + _encode(self.pin_value.encode(), _QUERY_SAFE))
        text = _SCHEME + ";".join(path)
        return f"{text}?{'&'.join(query)}" if query else text


def _encode(raw: bytes, safe: frozenset[str]) -> str:
    return "".join(chr(b) if chr(b) in safe else f"%{b:02X}" for b in raw)


def _decode(value: str, name: str) -> bytes:
    """Strict percent-decoding: a ``%`` must start a two-digit hex escape."""
    raw = value.encode("utf-8")
    if raw.count(b"%") != len(_PERCENT.findall(raw)):
        raise KeyMaterialError(f"bad percent-encoding in the pkcs11: URI's {name}", hint=_HINT)
    return _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _text(value: str, name: str) -> str:
    try:
        return _decode(value, name).decode("utf-8")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"the pkcs11: URI's {name} is not UTF-8 text", hint=_HINT) from None


def _attributes(part: str, separator: str, allowed: frozenset[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not part:
        return found
    for position, item in enumerate(part.split(separator), start=1):
        name, eq, value = item.partition("=")
        if not eq:
            # Not echoed: a mistyped item may hold the PIN.
            raise KeyMaterialError(
                f"item {position} of a pkcs11: URI's {'query' if separator == '&' else 'path'} "
                "is not name=value",
                hint=_HINT,
            )
        if name not in allowed:
            raise KeyMaterialError(
                f"the pkcs11: URI attribute '{name}' is not supported",
                hint=f"Supported: {', '.join(sorted(_PATH_ATTRS | _QUERY_ATTRS))}. " + _HINT,
            )
        if name in found:
            # RFC 7512 §2.3: an attribute may appear at most once.
            raise KeyMaterialError(f"'{name}' appears twice in a pkcs11: URI", hint=_HINT)
        found[name] = value
    return found


def _pin_source(value: str) -> Path:
    text = _text(value, "pin-source")
    if text.startswith("file:"):
        text = text.removeprefix("file:")
        if text.startswith("//"):
            host, slash, rest = text[2:].partition("/")
            if host not in ("", "localhost") or not slash:
                raise KeyMaterialError(
                    "the pkcs11: URI's pin-source must be a local file", hint=_HINT
                )
            text = "/" + rest
    elif not text.startswith("/"):
        raise KeyMaterialError(
            "the pkcs11: URI's pin-source must be a file: URI or an absolute path "
            "(PIN programs are not supported)",
            hint=_HINT,
        )
    return Path(text)


def parse_pkcs11_uri(text: str) -> Pkcs11Uri:
    """Parse a ``pkcs11:`` URI; raise :class:`KeyMaterialError` naming what is wrong.

    The PIN file named by ``pin-source`` is not read here: call :meth:`Pkcs11Uri.pin`.
    """
    if text[: len(_SCHEME)].lower() != _SCHEME:
        raise KeyMaterialError("not a pkcs11: URI", hint=_HINT)
    path, _, query = text[len(_SCHEME) :].partition("?")
    attrs = _attributes(path, ";", _PATH_ATTRS)
    params = _attributes(query, "&", _QUERY_ATTRS)
    kind = attrs.get("type")
    if kind is not None and _text(kind, "type") != "private":
        raise KeyMaterialError(
            f"a signing key URI must have type=private, not type={kind}", hint=_HINT
        )
    slot_id: int | None = None
    if "slot-id" in attrs:
        raw_slot = _text(attrs["slot-id"], "slot-id")
        if not raw_slot.isascii() or not raw_slot.isdigit():
            raise KeyMaterialError(
                f"the pkcs11: URI's slot-id '{raw_slot}' is not a decimal number", hint=_HINT
            )
        slot_id = int(raw_slot)
    return Pkcs11Uri(
        token_label=_text(attrs["token"], "token") if "token" in attrs else None,
        key_label=_text(attrs["object"], "object") if "object" in attrs else None,
        key_id=_decode(attrs["id"], "id") if "id" in attrs else None,
        slot_id=slot_id,
        module_path=_text(params["module-path"], "module-path")
        if "module-path" in params
        else None,
        pin_value=_text(params["pin-value"], "pin-value") if "pin-value" in params else None,
        pin_source=_pin_source(params["pin-source"]) if "pin-source" in params else None,
    )


__all__ = ["Pkcs11Uri", "parse_pkcs11_uri"]
