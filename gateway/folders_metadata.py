"""A dropped dossier: its ``metadata.json``, read and checked, and its files, hashed.

The schema (docs/FOLDERS.md has an example)::

    {
      "processCode": "CERTDC",                     required, must be the folder's process
      "externalId": "ER20190860001",               required, at most 30 characters
      "applicant": {"firstName": "…", "lastName": "…", "email": "…"},   email optional
      "recipients": [                              required, at least one
        {"externalId": "ER20190860001-01",         the case's id at the sender, unique
         "companyRegister": "21930066200016",      SIRET of the recipient organization
         "branchCode": "93066",                    its routing code
         "partnerAttributes": "…"}                 optional
      ],
      "files": [                                   optional, per file
        {"fileName": "x.pdf", "type": "…", "mimeType": "…", "recipients": ["…"]}
      ]
    }

Every regular file of the dossier folder but ``metadata.json`` (and hidden files such
as ``.lock``) is an attachment. Files not listed under ``files`` get the type ``PJ``, a
MIME type guessed from their extension, and go to every recipient.

:func:`read_dossier` returns a :class:`Dossier`, valid by construction, or raises
:class:`DossierInvalid` with a message that names the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.folders_errors import DossierInvalid

METADATA = "metadata.json"
RESERVED = frozenset({METADATA, "receipt.json"})  # receipt.json: written by the adapter in SENT/
DEFAULT_TYPE = "PJ"  # "pièce justificative", HubEE's generic attachment type
# Limits of api_folder_v1.2.7.yaml (Folder, Case, Attachment, Applicant).
_MAX = {"externalId": 30, "caseExternalId": 100, "type": 100, "mimeType": 255, "name": 255}
# The built-in table only: the same answer on every machine and after every restart,
# so that a retried folder creation is byte-for-byte the first one.
_MIME = mimetypes.MimeTypes(filenames=())

Json = dict[str, Any]


@dataclass(frozen=True)
class LocalFile:
    name: str
    path: Path
    size: int
    sha256: bytes
    type: str
    mime_type: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Dossier:
    name: str
    process_code: str
    external_id: str
    applicant: Json
    cases: tuple[Json, ...]
    files: tuple[LocalFile, ...]

    def folder_body(self) -> Json:
        """The ``POST /folders`` body; the same dossier always gives the same body."""
        return {
            "processCode": self.process_code,
            "externalId": self.external_id,
            "applicant": self.applicant,
            "cases": list(self.cases),
            "attachments": [
                {
                    "fileName": f.name,
                    "type": f.type,
                    "size": f.size,
                    "mimeType": f.mime_type,
                    "recipients": list(f.recipients),
                }
                for f in self.files
            ],
        }

    def content_digest(self) -> str:
        """SHA-256 over the folder body and every file's digest: what was sent, exactly."""
        content = {"folder": self.folder_body(), "files": [f.sha256.hex() for f in self.files]}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _text(obj: Json, key: str, where: str, *, max_len: int, required: bool = True) -> str | None:
    value = obj.get(key)
    name = f"{where}.{key}" if where else key
    if value is None:
        if required:
            raise DossierInvalid(f"{METADATA}: field {name} missing")
        return None
    if not isinstance(value, str):
        raise DossierInvalid(f"{METADATA}: field {name} must be a string (in double quotes)")
    if required and not value.strip():
        raise DossierInvalid(f"{METADATA}: field {name} is empty")
    if len(value) > max_len:
        raise DossierInvalid(f"{METADATA}: field {name} is longer than {max_len} characters")
    return value


def _req(obj: Json, key: str, where: str, *, max_len: int) -> str:
    value = _text(obj, key, where, max_len=max_len)
    assert value is not None
    return value


def _object(value: Any, name: str) -> Json:
    if not isinstance(value, dict):
        raise DossierInvalid(f"{METADATA}: field {name} missing or not an object ({{…}})")
    return value


def _applicant(document: Json) -> Json:
    raw = _object(document.get("applicant"), "applicant")
    out: Json = {
        "firstName": _req(raw, "firstName", "applicant", max_len=_MAX["name"]),
        "lastName": _req(raw, "lastName", "applicant", max_len=_MAX["name"]),
    }
    email = _text(raw, "email", "applicant", max_len=320, required=False)
    if email is not None:
        if "@" not in email:
            raise DossierInvalid(f"{METADATA}: field applicant.email is not an email address")
        out["email"] = email
    return out


def _cases(document: Json) -> tuple[Json, ...]:
    raw = document.get("recipients")
    if not isinstance(raw, list) or not raw:
        raise DossierInvalid(f"{METADATA}: field recipients missing or empty (list at least one)")
    cases: list[Json] = []
    for i, item in enumerate(raw):
        where = f"recipients[{i}]"
        obj = _object(item, where)
        register = _req(obj, "companyRegister", where, max_len=14)
        if not (register.isascii() and register.isdigit() and len(register) == 14):
            raise DossierInvalid(
                f"{METADATA}: field {where}.companyRegister is not a 14-digit SIRET"
            )
        case: Json = {
            "recipient": {
                "type": "SI",
                "companyRegister": register,
                "branchCode": _req(obj, "branchCode", where, max_len=10),
            },
            "externalId": _req(obj, "externalId", where, max_len=_MAX["caseExternalId"]),
        }
        attributes = _text(obj, "partnerAttributes", where, max_len=1024, required=False)
        if attributes is not None:
            case["partnerAttributes"] = attributes
        cases.append(case)
    ids = [c["externalId"] for c in cases]
    if len(set(ids)) != len(ids):
        raise DossierInvalid(f"{METADATA}: two recipients have the same externalId")
    return tuple(cases)


def _file_entries(document: Json, case_ids: list[str]) -> dict[str, Json]:
    raw = document.get("files", [])
    if not isinstance(raw, list):
        raise DossierInvalid(f"{METADATA}: field files must be a list ([…])")
    entries: dict[str, Json] = {}
    for i, item in enumerate(raw):
        where = f"files[{i}]"
        obj = _object(item, where)
        name = _req(obj, "fileName", where, max_len=_MAX["name"])
        if not _plain_name(name):
            raise DossierInvalid(
                f"{METADATA}: {where}.fileName {name!r} is not a plain file name "
                "(no folders, no '..', no control characters)"
            )
        if name in entries:
            raise DossierInvalid(f"{METADATA}: {name} is listed twice under files")
        recipients = obj.get("recipients", case_ids)
        if not isinstance(recipients, list) or not recipients:
            raise DossierInvalid(f"{METADATA}: field {where}.recipients must be a non-empty list")
        unknown = [r for r in recipients if r not in case_ids]
        if unknown:
            raise DossierInvalid(
                f"{METADATA}: {where}.recipients names {unknown}, which is not the "
                "externalId of any entry under recipients"
            )
        entries[name] = {
            "type": _text(obj, "type", where, max_len=_MAX["type"], required=False),
            "mimeType": _text(obj, "mimeType", where, max_len=_MAX["mimeType"], required=False),
            "recipients": tuple(dict.fromkeys(recipients)),
        }
    return entries


def _plain_name(name: str) -> bool:
    return (
        name not in {".", ".."}
        and "/" not in name
        and "\\" not in name
        and name == name.strip()
        and all(ch.isprintable() for ch in name)
    )


def parse_metadata(raw: bytes, *, process_code: str) -> tuple[Json, tuple[Json, ...], Json]:
    """``(header, cases, file entries)`` from metadata.json's bytes; header has ids, applicant."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DossierInvalid(f"{METADATA} is not UTF-8 text") from None
    except ValueError as exc:
        raise DossierInvalid(f"{METADATA} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DossierInvalid(f"{METADATA} must hold a JSON object ({{…}})")
    code = _req(document, "processCode", "", max_len=30)
    if code != process_code:
        raise DossierInvalid(
            f"{METADATA}: processCode is {code!r} but this folder is for the process "
            f"{process_code!r}",
            hint=f"Drop the dossier in the OUT/ folder of {code}, or fix processCode.",
        )
    header = {
        "processCode": code,
        "externalId": _req(document, "externalId", "", max_len=_MAX["externalId"]),
        "applicant": _applicant(document),
    }
    cases = _cases(document)
    entries = _file_entries(document, [c["externalId"] for c in cases])
    return header, cases, entries


def _sha256_of(path: Path) -> tuple[int, bytes]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.digest()


def read_dossier(folder: Path, *, process_code: str, max_metadata_bytes: int) -> Dossier:
    """Read and check a dossier folder; hash its files. Blocks (run it in a thread)."""
    name = folder.name
    try:
        listing = sorted(os.scandir(folder), key=lambda e: e.name)
    except NotADirectoryError:
        raise DossierInvalid(
            f"{name} is a file, not a folder",
            hint="Put the file in a folder, with a metadata.json beside it, and drop the folder.",
        ) from None
    except FileNotFoundError:
        raise DossierInvalid(f"{name} vanished while it was being read") from None
    files: dict[str, Path] = {}
    metadata: bytes | None = None
    for entry in listing:
        if entry.name.startswith("."):
            continue  # .lock, .DS_Store…: never attachments
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            raise DossierInvalid(f"{entry.name} is a symbolic link; copy the file itself")
        if stat.S_ISDIR(mode):
            raise DossierInvalid(
                f"{entry.name} is a subfolder; put every file directly in the dossier folder"
            )
        if not stat.S_ISREG(mode):
            raise DossierInvalid(f"{entry.name} is not a regular file")
        if entry.name == METADATA:
            if entry.stat().st_size > max_metadata_bytes:
                raise DossierInvalid(f"{METADATA} is larger than {max_metadata_bytes} bytes")
            metadata = Path(entry.path).read_bytes()
        elif entry.name in RESERVED:
            raise DossierInvalid(
                f"{entry.name} is a name the adapter reserves for its receipt; rename that file"
            )
        elif not _plain_name(entry.name) or len(entry.name) > _MAX["name"]:
            raise DossierInvalid(
                f"the file name {entry.name!r} cannot be sent (control characters or too long)"
            )
        else:
            files[entry.name] = Path(entry.path)
    if metadata is None:
        raise DossierInvalid(
            f"{METADATA} is missing",
            hint="Add a metadata.json (see docs/FOLDERS.md), then move the folder back into OUT/.",
        )
    header, cases, entries = parse_metadata(metadata, process_code=process_code)
    missing = sorted(set(entries) - set(files))
    if missing:
        raise DossierInvalid(
            f"{METADATA} lists {', '.join(missing)}, but the dossier has no such file"
        )
    if not files:
        raise DossierInvalid("the dossier has no file to send besides metadata.json")
    all_cases = tuple(c["externalId"] for c in cases)
    local: list[LocalFile] = []
    for file_name, path in files.items():
        try:
            size, sha256 = _sha256_of(path)
        except FileNotFoundError:
            raise DossierInvalid(f"{file_name} vanished while it was being read") from None
        entry = entries.get(file_name, {})
        guessed = _MIME.guess_type(file_name, strict=True)[0] or "application/octet-stream"
        local.append(
            LocalFile(
                name=file_name,
                path=path,
                size=size,
                sha256=sha256,
                type=entry.get("type") or DEFAULT_TYPE,
                mime_type=entry.get("mimeType") or guessed,
                recipients=entry.get("recipients", all_cases),
            )
        )
    return Dossier(
        name=name,
        process_code=header["processCode"],
        external_id=header["externalId"],
        applicant=header["applicant"],
        cases=cases,
        files=tuple(local),
    )
