from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust.bundle_verify import TrustInputs, verify_bundle
from trust.checkpoint import VerifierKey
from trust.evidence import SealingIdentity, anchors_for_bundle, seal_files
from trust.journal import Journal
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import InProcessTimeStamper

ORIGIN = "test.sceau/journal"


def _seal(
    pki: ThrowawayPki, tmp: Path, files: dict[str, bytes], *, journal: Path | None = None
) -> Path:
    paths = []
    for name, data in files.items():
        path = tmp / name
        path.write_bytes(data)
        paths.append(path)
    tsa = TimeStampAuthority(pki.tsa.signer, pki.tsa.certificate)
    stamper = InProcessTimeStamper(responder=tsa.respond, anchors=[pki.root.certificate])
    vkey = VerifierKey.for_signer(ORIGIN, pki.journal)
    with Journal.open(journal or tmp / "journal.db") as j:
        sealed = seal_files(
            paths,
            out=tmp / "bundle.asice",
            sealer=SealingIdentity(pki.seal.signer, pki.seal.certificate),
            journal=j,
            journal_signer=pki.journal,
            origin=ORIGIN,
            timestamper=stamper,
            anchors=anchors_for_bundle(
                certificates={"ca": [pki.root.certificate]},
                keys={"journal.vkey": vkey.encode().encode()},
            ),
            now=dt.datetime.now(dt.UTC),
        )
    return sealed.path


def _trust(pki: ThrowawayPki) -> TrustInputs:
    return TrustInputs(
        anchors=(pki.root.certificate,), journal_keys=(VerifierKey.for_signer(ORIGIN, pki.journal),)
    )


FILES = {"acte.pdf": b"%PDF-1.4 acte de deces" * 100, "flux.xml": b"<x>1</x>"}


def test_a_fresh_bundle_verifies_for_every_algorithm(any_pki: ThrowawayPki, tmp_path: Path) -> None:
    bundle = _seal(any_pki, tmp_path, FILES)
    report = verify_bundle(bundle, trust=_trust(any_pki))
    assert report.ok, report.reasons
    assert report.facts["files"] == "3"
    assert "time-stamped at" in report.facts
    assert report.facts["sealed by"].endswith("seal")
    assert not any("No --anchor" in w for w in report.warnings)


def test_without_trust_inputs_it_falls_back_with_warnings(
    pki: ThrowawayPki, tmp_path: Path
) -> None:
    report = verify_bundle(_seal(pki, tmp_path, FILES))
    assert report.ok, report.reasons
    assert any("No --anchor" in w for w in report.warnings)
    assert any("No --journal-key" in w for w in report.warnings)


def test_another_root_is_not_trusted(
    pki: ThrowawayPki, make_pki: Callable[..., ThrowawayPki], tmp_path: Path
) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    stranger = make_pki()
    report = verify_bundle(
        bundle,
        trust=TrustInputs(
            anchors=(stranger.root.certificate,), journal_keys=_trust(pki).journal_keys
        ),
    )
    assert not report.ok
    assert any("seal" in r and "anchor" in r for r in report.reasons)
    assert any("time-stamp" in r for r in report.reasons)


def test_another_journal_key_is_not_trusted(
    pki: ThrowawayPki, make_pki: Callable[..., ThrowawayPki], tmp_path: Path
) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    other = VerifierKey.for_signer(ORIGIN, make_pki().journal)
    report = verify_bundle(
        bundle, trust=TrustInputs(anchors=(pki.root.certificate,), journal_keys=(other,))
    )
    assert not report.ok


def _rewrite(bundle: Path, out: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info, data)
    return out


def _flip(data: bytes, at: int) -> bytes:
    raw = bytearray(data)
    raw[at % len(raw)] ^= 0x01
    return bytes(raw)


@pytest.mark.parametrize(
    ("target", "section"),
    [
        ("acte.pdf", "files"),
        ("manifest.json", "files"),
        ("META-INF/ASiCManifest001.xml", "seal"),
        ("META-INF/signature001.p7s", "seal"),
        ("META-INF/sceau/checkpoint.tsr", "time-stamp"),
    ],
)
def test_a_flipped_byte_is_detected(
    pki: ThrowawayPki, tmp_path: Path, target: str, section: str
) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    size = zipfile.ZipFile(bundle).getinfo(target).file_size
    bad = _rewrite(
        bundle, tmp_path / "bad.asice", lambda n, d: _flip(d, size - 20) if n == target else d
    )
    report = verify_bundle(bad, trust=_trust(pki))
    assert not report.ok
    failing = {s.subject for s in report.sections if not s.ok}
    assert section in failing or "structure" in failing, report.reasons


def test_tampered_entries_and_note_are_detected(pki: ThrowawayPki, tmp_path: Path) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    entries = "META-INF/sceau/entries.jsonl"
    note = "META-INF/sceau/checkpoint.note"

    def change_entry(n: str, d: bytes) -> bytes:
        return d.replace(b'"size":8', b'"size":9') if n == entries else d

    def drop_entry(n: str, d: bytes) -> bytes:
        return b"".join(d.splitlines(keepends=True)[1:]) if n == entries else d

    def swap_entries(n: str, d: bytes) -> bytes:
        lines = d.splitlines(keepends=True)
        return b"".join([lines[1], lines[0], *lines[2:]]) if n == entries else d

    def bump_size(n: str, d: bytes) -> bytes:
        return d.replace(b"\n3\n", b"\n4\n", 1) if n == note else d

    for i, change in enumerate((change_entry, drop_entry, swap_entries, bump_size)):
        report = verify_bundle(
            _rewrite(bundle, tmp_path / f"bad{i}.asice", change), trust=_trust(pki)
        )
        assert not report.ok, change.__name__


def test_a_checkpoint_from_another_bundle_is_detected(pki: ThrowawayPki, tmp_path: Path) -> None:
    first = tmp_path / "one"
    second = tmp_path / "two"
    first.mkdir()
    second.mkdir()
    journal = tmp_path / "shared.db"
    a = _seal(pki, first, FILES, journal=journal)
    b = _seal(pki, second, {"autre.txt": b"autre"}, journal=journal)
    other_note = zipfile.ZipFile(b).read("META-INF/sceau/checkpoint.note")
    other_tsr = zipfile.ZipFile(b).read("META-INF/sceau/checkpoint.tsr")
    swapped = {
        "META-INF/sceau/checkpoint.note": other_note,
        "META-INF/sceau/checkpoint.tsr": other_tsr,
    }
    bad = _rewrite(a, tmp_path / "swapped.asice", lambda n, d: swapped.get(n, d))
    report = verify_bundle(bad, trust=_trust(pki))
    assert not report.ok
    assert any("inclusion proof fails" in r for r in report.reasons)


def test_an_unsealed_extra_file_is_reported(pki: ThrowawayPki, tmp_path: Path) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    with zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr("extra.txt", b"slipped in")
    report = verify_bundle(bundle, trust=_trust(pki))
    assert not report.ok
    assert any("not covered by the seal" in r for r in report.reasons)


def test_missing_timestamp_is_invalid(pki: ThrowawayPki, tmp_path: Path) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    bad = _rewrite(
        bundle, tmp_path / "notsr.asice", lambda n, d: None if n.endswith("checkpoint.tsr") else d
    )
    report = verify_bundle(bad, trust=_trust(pki))
    assert not report.ok
    assert any("no RFC 3161" in r for r in report.reasons)


def test_require_witness_fails_an_unwitnessed_bundle(pki: ThrowawayPki, tmp_path: Path) -> None:
    bundle = _seal(pki, tmp_path, FILES)
    trust = TrustInputs(
        anchors=(pki.root.certificate,), journal_keys=_trust(pki).journal_keys, require_witness=True
    )
    assert not verify_bundle(bundle, trust=trust).ok


def test_not_a_zip_is_an_invalid_report_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "junk.asice"
    path.write_bytes(b"PK\x03\x04 not really")
    report = verify_bundle(path)
    assert not report.ok
    assert report.sections[0].subject == "container"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(
        [
            "manifest.json",
            "META-INF/sceau/proofs.json",
            "META-INF/sceau/entries.jsonl",
            "META-INF/sceau/checkpoint.note",
            "META-INF/ASiCManifest001.xml",
            "mimetype",
        ]
    ),
    st.binary(min_size=0, max_size=200),
)
def test_any_replaced_metadata_never_crashes_and_never_passes(
    pki: ThrowawayPki, tmp_path: Path, target: str, junk: bytes
) -> None:
    base = tmp_path / "base.asice"
    if not base.exists():
        src = tmp_path / "src"
        src.mkdir()
        _seal(pki, src, FILES).rename(base)
    original = zipfile.ZipFile(base).read(target)
    if junk == original:
        return
    bad = _rewrite(base, tmp_path / "fuzz.asice", lambda n, d: junk if n == target else d)
    report = verify_bundle(bad, trust=_trust(pki))
    assert not report.ok
