from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust.bundle import MIMETYPE, BundleReader, BundleWriter, ReadLimits, check_entry_name
from trust.errors import MalformedInputError


def _write(path: Path) -> Path:
    with BundleWriter(path) as writer:
        writer.add_bytes("manifest.json", b"{}")
        writer.add_stream("big.bin", io.BytesIO(b"z" * 3_000_000))
        writer.add_bytes("META-INF/sceau/entries.jsonl", b"{}\n")
    return path


def test_written_bundle_is_asic_e(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.asice")
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == MIMETYPE
    # ASiC-E: the mimetype bytes sit at offset 38 of the file, readable by `file`.
    assert path.read_bytes()[30:38] == b"mimetype"
    with BundleReader(path) as reader:
        assert reader.names() == [
            "mimetype",
            "manifest.json",
            "big.bin",
            "META-INF/sceau/entries.jsonl",
        ]
        assert sum(len(c) for c in reader.iter_chunks("big.bin")) == 3_000_000


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(MalformedInputError), BundleWriter(tmp_path / "b.asice") as writer:
        writer.add_bytes("a", b"1")
        writer.add_bytes("a", b"2")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["../x", "/etc/passwd", "a/../../b", "C:/x", "a\\b", "", "a//b", "./a"]
)
def test_unsafe_entry_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedInputError):
        check_entry_name(name)


def _raw_zip(path: Path, entries: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            zf.writestr(info, data)
    return path


STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([], "empty zip"),
        ([("manifest.json", b"{}", STORED)], "first zip entry"),
        ([("mimetype", MIMETYPE, DEFLATED)], "first zip entry"),
        ([("mimetype", b"application/zip", STORED)], "mimetype entry"),
        (
            [("mimetype", MIMETYPE, STORED), ("../evil", b"x", STORED)],
            "safe relative path|'\\.\\.'",
        ),
        ([("mimetype", MIMETYPE, STORED), ("/abs", b"x", STORED)], "safe relative path"),
    ],
)
def test_hostile_zips_are_refused(
    tmp_path: Path, entries: list[tuple[str, bytes, int]], reason: str
) -> None:
    path = _raw_zip(tmp_path / "x.asice", entries)
    with pytest.raises(MalformedInputError, match=reason):
        BundleReader(path)


def test_duplicate_entries_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.asice"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE)
        zf.writestr("a", b"1")
        with pytest.warns(UserWarning, match="Duplicate"):
            zf.writestr("a", b"2")
    with pytest.raises(MalformedInputError, match="twice"):
        BundleReader(path)


def test_zip_bomb_and_huge_declared_sizes_are_refused(tmp_path: Path) -> None:
    path = _raw_zip(
        tmp_path / "bomb.asice",
        [("mimetype", MIMETYPE, STORED), ("z", b"\0" * 5_000_000, DEFLATED)],
    )
    raw = bytearray(path.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (4_000_000_000).to_bytes(4, "little")  # declared size: 4 GB
    path.write_bytes(bytes(raw))
    with pytest.raises(MalformedInputError, match="zip bomb"):
        BundleReader(path)
    with pytest.raises(MalformedInputError, match="declares"):
        BundleReader(_write(tmp_path / "ok.asice"), limits=ReadLimits(max_total_size=1000))


def test_entry_longer_than_declared_is_detected(tmp_path: Path) -> None:
    path = _raw_zip(
        tmp_path / "lie.asice", [("mimetype", MIMETYPE, STORED), ("a", b"A" * 100, STORED)]
    )
    raw = bytearray(path.read_bytes())
    # Shrink the declared size of "a" in the central directory (and local header) to 10 bytes.
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    local = raw.find(b"PK\x03\x04", 10)
    raw[local + 22 : local + 26] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with BundleReader(path) as reader, pytest.raises(MalformedInputError):
        reader.read("a")


def test_truncated_bundles_fail_cleanly(tmp_path: Path) -> None:
    data = _write(tmp_path / "b.asice").read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{cut}.asice"
        bad.write_bytes(data[:cut])
        with pytest.raises(MalformedInputError), BundleReader(bad) as reader:
            for name in reader.names():
                reader.read(name, max_size=10_000_000)


def test_missing_and_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(MalformedInputError, match="does not exist"):
        BundleReader(tmp_path / "nope.asice")
    with pytest.raises(MalformedInputError, match="folder"):
        BundleReader(tmp_path)


def test_extract_stays_inside_target(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.asice")
    out = tmp_path / "out"
    with BundleReader(path) as reader:
        written = reader.extract_to(out)
    assert all(p.is_relative_to(out.resolve()) for p in written)
    assert (out / "META-INF/sceau/entries.jsonl").read_bytes() == b"{}\n"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=3000))
def test_fuzzed_zips_only_raise_malformed_input(tmp_path: Path, noise: bytes, cut: int) -> None:
    base = (
        _write(tmp_path / "base.asice").read_bytes()
        if not (tmp_path / "base.asice").exists()
        else (tmp_path / "base.asice").read_bytes()
    )
    data = bytearray(base)
    for i, b in enumerate(noise[:64]):
        data[(cut + i * 97) % len(data)] ^= b
    path = tmp_path / "fuzz.asice"
    path.write_bytes(bytes(data[: max(cut, len(data) - cut)]))
    try:
        with BundleReader(path) as reader:
            for name in reader.names():
                reader.read(name, max_size=10_000_000)
    except MalformedInputError:
        pass
