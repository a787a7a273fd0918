"""Assembling evidence bundles: a manifest, its files, a CAdES seal over the ASiC
manifest, and the journal evidence (entries, inclusion proofs, checkpoint, token).

The layout is DESIGN.md §4 and docs/EVIDENCE.md. Files are streamed into the zip and
hashed on the way; a file that no longer matches its manifest digest aborts the
bundle (nothing is written).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography import x509

from trust.asic import AsicManifest
from trust.bundle import (
    ANCHORS_DIR,
    ASIC_MANIFEST,
    CHECKPOINT_NOTE,
    CHECKPOINT_TSR,
    DELIVERY,
    ENTRIES,
    MANIFEST_JSON,
    PROOFS,
    RECEIPTS_DIR,
    SEALS_DIR,
    SIGNATURE,
    BundleWriter,
)
from trust.canonical import canonical_json
from trust.checkpoint import SignedNote
from trust.errors import MalformedInputError
from trust.journal import Journal, journal_entry
from trust.keys import Signer
from trust.manifest import AttachmentDigest, Manifest
from trust.merkle import InclusionProof
from trust.seal import seal
from trust.tsp import TimeStamper


@dataclass(frozen=True)
class SealingIdentity:
    """Who seals: a signer, its certificate, and the chain up to (excluding) the root."""

    signer: Signer
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class JournalEvidence:
    """The journal's word on a dossier: its entries proven under one checkpoint."""

    entries: tuple[bytes, ...]
    proofs: tuple[InclusionProof, ...]
    checkpoint_note: bytes
    checkpoint_tsr: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.entries) != len(self.proofs):
            raise ValueError("one inclusion proof per entry is required")
        if any(b"\n" in e for e in self.entries):
            raise MalformedInputError(
                "a journal entry contains a newline; entries are canonical JSON"
            )

    def entries_jsonl(self) -> bytes:
        return b"".join(e + b"\n" for e in self.entries)

    def proofs_json(self) -> bytes:
        return canonical_json(
            [
                {
                    "index": p.index,
                    "tree_size": p.tree_size,
                    "path": [base64.b64encode(h).decode() for h in p.path],
                }
                for p in self.proofs
            ]
        )


@dataclass(frozen=True)
class BundleContents:
    """Everything that goes into one bundle, besides the attachments' bytes."""

    manifest: Manifest
    journal: JournalEvidence
    anchors: Mapping[str, bytes] = field(default_factory=dict)
    receipts: Mapping[str, bytes] = field(default_factory=dict)
    seals: Mapping[str, bytes] = field(default_factory=dict)
    # A recipient's bundle of a folder for several recipients: the manifest's files
    # that went to others only, left out (their digests stay in manifest.json), and
    # the recipient this bundle is for (written to META-INF/sceau/delivery.json).
    not_delivered: tuple[str, ...] = ()
    recipient: str | None = None

    def delivery_json(self) -> bytes | None:
        if not self.not_delivered and self.recipient is None:
            return None
        by_name = {a.file_name: a for a in self.manifest.attachments}
        unknown = sorted(set(self.not_delivered) - set(by_name))
        if unknown:
            raise MalformedInputError(f"not-delivered files {unknown} are not in the manifest")
        return canonical_json(
            {
                "recipient": self.recipient,
                "notDelivered": [
                    {"fileName": n, "sha256": by_name[n].sha256, "size": by_name[n].size}
                    for n in sorted(self.not_delivered)
                ],
            }
        )


# A file's bytes, its path, or a function opening a stream of them (for a store that
# keeps files encrypted at rest: the stream decrypts as it is read).
FileSource = Path | bytes | Callable[[], BinaryIO]


class _HashingReader:
    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _open(source: FileSource) -> BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if callable(source):
        return source()
    return open(source, "rb")


def write_bundle(
    out: str | os.PathLike[str],
    *,
    contents: BundleContents,
    files: Mapping[str, FileSource],
    sealer: SealingIdentity,
    signing_time: dt.datetime,
) -> Path:
    """Write the bundle atomically and return its path.

    ``files`` maps each attachment's file name in the manifest to its bytes or path,
    except those of ``contents.not_delivered``.
    """
    manifest = contents.manifest
    delivery = contents.delivery_json()
    withheld = set(contents.not_delivered)
    expected = {a.file_name: a for a in manifest.attachments if a.file_name not in withheld}
    if set(files) != set(expected):
        missing = sorted(set(expected) - set(files))
        extra = sorted(set(files) - set(expected))
        raise MalformedInputError(
            f"files do not match the manifest (missing {missing}, extra {extra})"
        )
    manifest_json = manifest.to_json()
    asic = AsicManifest.build(
        SIGNATURE,
        [(a.file_name, a.mime_type, bytes.fromhex(a.sha256)) for a in expected.values()]
        + [(MANIFEST_JSON, "application/json", hashlib.sha256(manifest_json).digest())],
    )
    asic_xml = asic.to_xml()
    signature = seal(
        asic_xml,
        signer=sealer.signer,
        certificate=sealer.certificate,
        chain=sealer.chain,
        signing_time=signing_time,
    )
    with BundleWriter(out) as writer:
        for name, attachment in expected.items():
            with _open(files[name]) as raw:
                reader = _HashingReader(raw)
                writer.add_stream(name, reader, compress=False)  # type: ignore[arg-type]
            if reader.digest.hexdigest() != attachment.sha256 or reader.size != attachment.size:
                raise MalformedInputError(
                    f"{name} changed since it was sealed (digest or size differs from the manifest)",
                    hint="Seal the dossier again from its current files.",
                )
        writer.add_bytes(MANIFEST_JSON, manifest_json)
        writer.add_bytes(ASIC_MANIFEST, asic_xml)
        writer.add_bytes(SIGNATURE, signature)
        writer.add_bytes(ENTRIES, contents.journal.entries_jsonl())
        writer.add_bytes(PROOFS, contents.journal.proofs_json())
        writer.add_bytes(CHECKPOINT_NOTE, contents.journal.checkpoint_note)
        if contents.journal.checkpoint_tsr is not None:
            writer.add_bytes(CHECKPOINT_TSR, contents.journal.checkpoint_tsr)
        if delivery is not None:
            writer.add_bytes(DELIVERY, delivery)
        for prefix, extra_files in (
            (RECEIPTS_DIR, contents.receipts),
            (ANCHORS_DIR, contents.anchors),
            (SEALS_DIR, contents.seals),
        ):
            for name, data in sorted(extra_files.items()):
                writer.add_bytes(prefix + name, data)
    return Path(out)


def anchors_for_bundle(
    *, certificates: Mapping[str, Sequence[x509.Certificate]], keys: Mapping[str, bytes]
) -> dict[str, bytes]:
    """Name → bytes for ``anchors/``: certificate files (``*.pem``) and keys (as given)."""
    from trust.pki import certificates_pem

    out = {f"{name}.pem": certificates_pem(certs) for name, certs in certificates.items()}
    out.update(keys)
    return out


@dataclass(frozen=True)
class SealedBundle:
    path: Path
    manifest: Manifest
    checkpoint_size: int
    gen_time: dt.datetime | None


MANIFEST_ENTRY_KIND = "manifest.sealed"
FILE_ENTRY_KIND = "file.sealed"


def subject_of(manifest: Manifest) -> str:
    """The journal subject of everything about one manifest: ``<kind>/<id>``."""
    return f"{manifest.kind}/{manifest.id}"


def seal_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    sealer: SealingIdentity,
    journal: Journal,
    journal_signer: Signer,
    origin: str,
    timestamper: TimeStamper,
    anchors: Mapping[str, bytes],
    now: dt.datetime,
    manifest_id: str | None = None,
) -> SealedBundle:
    """Journal each file and the manifest, checkpoint, timestamp, seal, and bundle.

    If the TSA fails, TimestampAuthorityError is raised after the entries and the
    checkpoint are journaled (the checkpoint stays queued for a timestamp) and no
    bundle is written.
    """
    attachments = tuple(AttachmentDigest.from_path(p) for p in paths)
    names = [a.file_name for a in attachments]
    if len(set(names)) != len(names):
        raise MalformedInputError(
            "two files share a name; rename one", hint="File names must be unique in a bundle."
        )
    manifest = Manifest(
        id=manifest_id or str(uuid.uuid4()), kind="files", created=now, attachments=attachments
    )
    subject = subject_of(manifest)
    entries = [
        journal_entry(
            FILE_ENTRY_KIND,
            subject,
            {"fileName": a.file_name, "sha256": a.sha256, "size": a.size},
            now,
        )
        for a in attachments
    ]
    entries.append(
        journal_entry(MANIFEST_ENTRY_KIND, subject, {"manifestSha256": manifest.sha256()}, now)
    )
    indices = journal.append_many(entries)
    record = journal.checkpoint(signer=journal_signer, origin=origin, now=now)
    note_text = SignedNote.parse(record.note).text
    token = timestamper.timestamp(note_text)
    journal.attach_timestamp(record.id, tsr=token.response_der)
    proofs = tuple(journal.inclusion_proof(i, record.size) for i in indices)
    evidence = JournalEvidence(tuple(entries), proofs, record.note, token.response_der)
    path = write_bundle(
        out,
        contents=BundleContents(manifest, evidence, anchors=anchors),
        files={a.file_name: Path(p) for a, p in zip(attachments, paths, strict=True)},
        sealer=sealer,
        signing_time=now,
    )
    return SealedBundle(path, manifest, record.size, token.gen_time)
