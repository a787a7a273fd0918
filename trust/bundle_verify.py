"""Offline verification of an evidence bundle (docs/EVIDENCE.md, "How to verify").

:func:`verify_bundle` returns a :class:`BundleReport`: one section per aspect
(container, files, seal, manifest, journal, checkpoint, time-stamp, witness), each a
:class:`~trust.results.VerificationResult`, plus plain facts for the report (who
sealed, when, which TSA). It raises only when the bundle cannot be opened at all.

Trust comes from the caller: ``anchors`` (CA certificates for the seal and the TSA),
``journal_keys`` and ``witness_keys``. When the caller gives none, the bundle's own
``anchors/`` are used and the report says so: that proves integrity and consistency,
not who sealed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    SENDER_SEAL,
    SIGNATURE,
    BundleReader,
    ReadLimits,
    entry_names_under,
)
from trust.bundle_dossier import (
    RECORDED_ENTRY_KIND,
    Delivery,
    check_not_delivered,
    check_sender,
    unsealed,
)
from trust.canonical import parse_json
from trust.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    Checkpoint,
    SignedNote,
    VerifierKey,
    verify_note,
)
from trust.errors import MalformedInputError
from trust.manifest import Manifest
from trust.merkle import InclusionProof, leaf_hash, verify_inclusion
from trust.pki import load_certificates_pem
from trust.results import Check, VerificationResult
from trust.seal import verify_seal
from trust.tsp_verify import verify_timestamp_response

MANIFEST_ENTRY_KIND = "manifest.sealed"


@dataclass(frozen=True)
class BundleReport:
    path: str
    sections: tuple[VerificationResult, ...]
    facts: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.sections) and all(s.ok for s in self.sections)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f"{s.subject}: {r}" for s in self.sections for r in s.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": self.path,
            "valid": self.ok,
            "facts": self.facts,
            "warnings": list(self.warnings),
            "sections": [
                {
                    "name": s.subject,
                    "valid": s.ok,
                    "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in s.checks],
                }
                for s in self.sections
            ],
        }


@dataclass(frozen=True)
class TrustInputs:
    """What the verifier trusts. Empty means: fall back to the bundle's own anchors."""

    anchors: tuple[x509.Certificate, ...] = ()
    journal_keys: tuple[VerifierKey, ...] = ()
    witness_keys: tuple[VerifierKey, ...] = ()
    require_witness: bool = False


class _Sections:
    def __init__(self) -> None:
        self.items: list[VerificationResult] = []
        self.facts: dict[str, str] = {}
        self.warnings: list[str] = []

    def add(self, name: str, *checks: Check) -> VerificationResult:
        result = VerificationResult(name, tuple(checks))
        self.items.append(result)
        return result


def verify_bundle(
    path: str | Path,
    *,
    trust: TrustInputs | None = None,
    limits: ReadLimits | None = None,
) -> BundleReport:
    """Check everything in the bundle at ``path``; see the module docstring."""
    trust = trust or TrustInputs()
    out = _Sections()
    try:
        reader = BundleReader(path, limits=limits)
    except MalformedInputError as exc:
        out.add("container", Check("ASiC-E container", False, exc.message))
        return BundleReport(str(path), tuple(out.items))
    with reader:
        out.add(
            "container",
            Check("ASiC-E container", True, f"{len(reader.names())} entries, mimetype first"),
        )
        try:
            _verify_open(reader, trust, out)
        except MalformedInputError as exc:
            out.add("structure", Check("bundle structure", False, exc.message))
    return BundleReport(str(path), tuple(out.items), out.facts, tuple(out.warnings))


def _verify_open(reader: BundleReader, trust: TrustInputs, out: _Sections) -> None:
    anchors, journal_keys, witness_keys = _trust_material(reader, trust, out)
    asic_xml = reader.read(ASIC_MANIFEST)
    asic = AsicManifest.from_xml(asic_xml)
    _verify_files(reader, asic, out)
    _verify_seal(reader.read(SIGNATURE), asic_xml, anchors, out)
    manifest_json = reader.read(MANIFEST_JSON)
    delivery = Delivery.parse(reader.read(DELIVERY)) if reader.has(DELIVERY) else None
    manifest = _verify_manifest(manifest_json, asic, delivery, out)
    sender = check_sender(
        reader.read(SENDER_SEAL) if reader.has(SENDER_SEAL) else None,
        manifest,
        manifest_json,
        anchors,
    )
    if sender.result is not None:
        out.items.append(sender.result)
    out.facts.update(sender.facts)
    out.warnings.extend(sender.warnings)
    checkpoint = _verify_checkpoint(reader, journal_keys, witness_keys, trust.require_witness, out)
    _verify_entries(reader, manifest, manifest_json, checkpoint, out)
    _verify_time(reader, checkpoint, anchors, out)


def _trust_material(
    reader: BundleReader, trust: TrustInputs, out: _Sections
) -> tuple[tuple[x509.Certificate, ...], tuple[VerifierKey, ...], tuple[VerifierKey, ...]]:
    names = entry_names_under(reader.names(), ANCHORS_DIR)
    anchors = trust.anchors
    if not anchors:
        found: list[x509.Certificate] = []
        for name in names:
            if name.endswith(".pem"):
                found += [
                    c
                    for c in load_certificates_pem(reader.read(name), source=name)
                    if _self_signed(c)
                ]
        anchors = tuple(found)
        out.warnings.append(
            "No --anchor given: the seal and time-stamp chains were checked against the bundle's own "
            "anchors/, which proves integrity, not who sealed. Pass the CA certificates you trust."
        )
    journal_keys, witness_keys = trust.journal_keys, trust.witness_keys
    bundle_keys = [
        VerifierKey.parse(reader.read(n).decode("utf-8").strip())
        for n in names
        if n.endswith(".vkey")
    ]
    if not journal_keys:
        journal_keys = tuple(k for k in bundle_keys if k.sig_type != SIG_TYPE_COSIGNATURE_V1)
        if journal_keys:
            out.warnings.append(
                "No --journal-key given: the checkpoint signature was checked with the bundle's own journal key."
            )
    if not witness_keys:
        witness_keys = tuple(k for k in bundle_keys if k.sig_type == SIG_TYPE_COSIGNATURE_V1)
    return anchors, journal_keys, witness_keys


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _verify_files(reader: BundleReader, asic: AsicManifest, out: _Sections) -> None:
    checks = []
    referenced = {r.uri for r in asic.references}
    if asic.signature_uri != SIGNATURE:
        checks.append(
            Check(
                "signature reference",
                False,
                f"the ASiC manifest names {asic.signature_uri}, not {SIGNATURE}",
            )
        )
    for ref in asic.references:
        if ref.uri.startswith("META-INF/") or ref.uri == "mimetype" or not reader.has(ref.uri):
            checks.append(
                Check(
                    ref.uri, False, "referenced by the ASiC manifest but missing or not a data file"
                )
            )
            continue
        digest = hashlib.sha256()
        for chunk in reader.iter_chunks(ref.uri):
            digest.update(chunk)
        ok = digest.digest() == ref.sha256
        checks.append(
            Check(
                ref.uri,
                ok,
                "SHA-256 matches"
                if ok
                else "SHA-256 differs from the ASiC manifest: the file was altered",
            )
        )
    unsigned = [
        n
        for n in reader.names()
        if n != "mimetype" and not n.startswith("META-INF/") and n not in referenced
    ]
    for name in unsigned:
        checks.append(Check(name, False, "present in the bundle but not covered by the seal"))
    out.add("files", *checks)
    out.facts["files"] = str(len(referenced))


def _verify_seal(
    signature: bytes, asic_xml: bytes, anchors: Sequence[x509.Certificate], out: _Sections
) -> None:
    result = verify_seal(signature, asic_xml, anchors=anchors)
    out.items.append(VerificationResult("seal", result.result.checks))
    if result.subject:
        out.facts["sealed by"] = result.subject
    if result.signing_time:
        out.facts["sealed at (claimed)"] = _iso(result.signing_time)


def _verify_manifest(
    manifest_json: bytes, asic: AsicManifest, delivery: Delivery | None, out: _Sections
) -> Manifest | None:
    try:
        manifest = Manifest.from_json(manifest_json)
    except MalformedInputError as exc:
        out.add("manifest", Check("manifest.json", False, exc.message))
        return None
    refs = {r.uri: r for r in asic.references}
    checks = [Check("manifest.json", True, f"canonical, {manifest.kind} {manifest.id}")]
    withheld = 0
    for a in manifest.attachments:
        ref = refs.get(a.file_name)
        if ref is None and delivery is not None and a.file_name in delivery.not_delivered:
            checks.append(check_not_delivered(manifest, delivery, a))
            withheld += 1
            continue
        ok = ref is not None and ref.sha256.hex() == a.sha256
        checks.append(
            Check(
                f"attachment {a.file_name}",
                ok,
                ""
                if ok
                else "listed in manifest.json but absent from the sealed ASiC manifest or with another digest",
            )
        )
    listed = {a.file_name for a in manifest.attachments} | {MANIFEST_JSON}
    for extra in sorted(set(refs) - listed):
        checks.append(Check(f"file {extra}", False, "sealed but not listed in manifest.json"))
    if delivery is not None:
        for name in sorted(
            set(delivery.not_delivered) - {a.file_name for a in manifest.attachments}
        ):
            checks.append(Check(f"file {name}", False, "in delivery.json but not in manifest.json"))
        delivered = len(manifest.attachments) - withheld
        out.facts["delivered to"] = (
            f"{delivery.recipient}: {delivered} of the folder's {len(manifest.attachments)} files"
            + (f"; {withheld} went to other recipients only (digests only)" if withheld else "")
        )
    out.add("manifest", *checks)
    out.facts["dossier"] = f"{manifest.kind} {manifest.id}" + (
        " (no sender seal)" if unsealed(manifest) else ""
    )
    if manifest.process_code:
        out.facts["process"] = manifest.process_code
    return manifest


def _verify_checkpoint(
    reader: BundleReader,
    journal_keys: Sequence[VerifierKey],
    witness_keys: Sequence[VerifierKey],
    require_witness: bool,
    out: _Sections,
) -> Checkpoint | None:
    note = SignedNote.parse(reader.read(CHECKPOINT_NOTE))
    checkpoint = note.checkpoint()
    out.facts["checkpoint"] = f"{checkpoint.origin} size {checkpoint.size}"
    if not journal_keys:
        out.add(
            "checkpoint",
            Check(
                "journal key",
                False,
                "no journal key: pass --journal-key or include anchors/journal.vkey",
            ),
        )
        return None
    signed = verify_note(note, verifier_keys=journal_keys)
    out.items.append(VerificationResult("checkpoint", signed.checks))
    if not witness_keys:
        if require_witness:
            out.add(
                "witness",
                Check("witness cosignature", False, "no witness key given and none in the bundle"),
            )
        else:
            out.warnings.append(
                "The checkpoint is not witnessed (no witness key): nobody else vouches for this journal's history."
            )
        return checkpoint if signed.ok else None
    cosigned = verify_note(note, verifier_keys=witness_keys)
    out.items.append(VerificationResult("witness", cosigned.checks))
    if cosigned.ok:
        times = [
            s.cosignature_time()
            for s in note.signatures
            if any(s.key_id == k.key_id for k in witness_keys)
        ]
        out.facts["witnessed by"] = ", ".join(sorted({k.name for k in witness_keys}))
        if times:
            out.facts["witnessed at"] = _iso(min(times))
    return checkpoint if signed.ok else None


def _verify_entries(
    reader: BundleReader,
    manifest: Manifest | None,
    manifest_json: bytes,
    checkpoint: Checkpoint | None,
    out: _Sections,
) -> None:
    raw = reader.read(ENTRIES)
    if raw and not raw.endswith(b"\n"):
        raise MalformedInputError("entries.jsonl must end with a newline")
    entries = raw.split(b"\n")[:-1] if raw else []
    proofs = _parse_proofs(reader.read(PROOFS))
    checks: list[Check] = []
    if len(proofs) != len(entries) or not entries:
        out.add(
            "journal",
            Check("entries and proofs", False, f"{len(entries)} entries but {len(proofs)} proofs"),
        )
        return
    subject = f"{manifest.kind}/{manifest.id}" if manifest else None
    manifest_sha = hashlib.sha256(manifest_json).hexdigest()
    bound = False
    for i, (entry, proof) in enumerate(zip(entries, proofs, strict=True)):
        doc = parse_json(entry, what=f"journal entry {i}")
        if not isinstance(doc, dict):
            raise MalformedInputError(f"journal entry {i} is not an object")
        if subject is not None and doc.get("subject") != subject:
            checks.append(
                Check(
                    f"entry {proof.index}",
                    False,
                    f"is about {doc.get('subject')!r}, not {subject!r}",
                )
            )
        data = doc.get("data")
        if (
            doc.get("kind") in (MANIFEST_ENTRY_KIND, RECORDED_ENTRY_KIND)
            and isinstance(data, dict)
            and data.get("manifestSha256") == manifest_sha
        ):
            bound = True
        if checkpoint is None:
            continue
        ok = proof.tree_size == checkpoint.size and verify_inclusion(
            proof, leaf=leaf_hash(entry), root=checkpoint.root
        )
        checks.append(
            Check(
                f"entry {proof.index} ({doc.get('kind')})",
                ok,
                "included under the checkpoint"
                if ok
                else "inclusion proof fails against the checkpoint root",
            )
        )
    checks.append(
        Check(
            "manifest journaled",
            bound,
            "an entry records manifest.json's SHA-256"
            if bound
            else "no journal entry records manifest.json's SHA-256",
        )
    )
    if checkpoint is None:
        checks.append(
            Check("inclusion proofs", False, "not checked: the checkpoint could not be trusted")
        )
    out.add("journal", *checks)
    out.facts["journal entries"] = str(len(entries))


def _parse_proofs(data: bytes) -> list[InclusionProof]:
    doc = parse_json(data, what="proofs.json")
    if not isinstance(doc, list):
        raise MalformedInputError("proofs.json is not a list")
    proofs = []
    for item in doc:
        if not isinstance(item, dict) or set(item) != {"index", "tree_size", "path"}:
            raise MalformedInputError("each proof is {index, tree_size, path}")
        index, size, path = item["index"], item["tree_size"], item["path"]
        if (
            not (isinstance(index, int) and isinstance(size, int) and isinstance(path, list))
            or len(path) > 64
        ):
            raise MalformedInputError("a proof has a bad index, tree_size or path")
        try:
            hashes = tuple(base64.b64decode(h, validate=True) for h in path)
        except (ValueError, TypeError) as exc:
            raise MalformedInputError("a proof path holds something that is not base64") from exc
        proofs.append(InclusionProof(index, size, hashes))
    return proofs


def _verify_time(
    reader: BundleReader,
    checkpoint: Checkpoint | None,
    anchors: Sequence[x509.Certificate],
    out: _Sections,
) -> None:
    if not reader.has(CHECKPOINT_TSR):
        out.add(
            "time-stamp", Check("checkpoint.tsr", False, "the bundle has no RFC 3161 time-stamp")
        )
        return
    if checkpoint is None:
        out.add(
            "time-stamp",
            Check("checkpoint.tsr", False, "not checked: the checkpoint could not be trusted"),
        )
        return
    found = verify_timestamp_response(
        reader.read(CHECKPOINT_TSR), data=checkpoint.body(), anchors=anchors
    )
    out.items.append(VerificationResult("time-stamp", found.result.checks))
    if found.ok and found.gen_time is not None:
        out.facts["time-stamped at"] = _iso(found.gen_time)
        if found.tsa_subject:
            out.facts["time-stamp authority"] = found.tsa_subject


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def load_verifier_keys(texts: Iterable[str]) -> tuple[VerifierKey, ...]:
    return tuple(VerifierKey.parse(t.strip()) for t in texts)


__all__ = ["BundleReport", "TrustInputs", "load_verifier_keys", "verify_bundle"]
