from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trust.canonical import canonical_json, is_canonical, parse_json
from trust.errors import MalformedInputError
from trust.manifest import AttachmentDigest, Manifest, safe_file_name

NOW = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [1.0, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


def test_parse_json_refuses_duplicates_constants_and_garbage() -> None:
    with pytest.raises(MalformedInputError, match="duplicate"):
        parse_json(b'{"a":1,"a":2}')
    with pytest.raises(MalformedInputError, match="NaN"):
        parse_json(b'{"a":NaN}')
    with pytest.raises(MalformedInputError):
        parse_json(b"\xff\xfe")
    with pytest.raises(MalformedInputError, match="more than"):
        parse_json(b"[]", max_bytes=1)


def test_attachment_digest_streams_in_chunks() -> None:
    data = b"x" * (3 * 1024 * 1024 + 7)
    digest = AttachmentDigest.from_stream(
        io.BytesIO(data), file_name="a.pdf", mime_type="application/pdf"
    )
    assert digest.size == len(data)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()


def test_attachment_from_path_guesses_mime(tmp_path) -> None:
    path = tmp_path / "acte.pdf"
    path.write_bytes(b"%PDF-1.4")
    digest = AttachmentDigest.from_path(path)
    assert (digest.file_name, digest.mime_type, digest.size) == ("acte.pdf", "application/pdf", 8)


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [("../../etc/passwd", "passwd"), ("C:\\x\\y.pdf", "y.pdf"), ("a\x00b.txt", "ab.txt")],
)
def test_safe_file_name_strips_directories(given_name: str, expected: str) -> None:
    assert safe_file_name(given_name) == expected


@pytest.mark.parametrize("bad", ["", "..", "/", "a/..", "x/"])
def test_safe_file_name_refuses_unusable(bad: str) -> None:
    with pytest.raises(MalformedInputError):
        safe_file_name(bad)


def _manifest() -> Manifest:
    return Manifest(
        id="6f1c2d0e-0000-4000-8000-000000000001",
        kind="folder",
        created=NOW,
        process_code="CERTDC",
        external_id="DGS-CERTDC-0000000000001",
        sender="OSL:13000000000000:DGS",
        recipients=("SI:21750001600019:75056",),
        attachments=(AttachmentDigest("a.pdf", "application/pdf", 3, "a" * 64),),
    )


def test_manifest_round_trips_canonically() -> None:
    manifest = _manifest()
    data = manifest.to_json()
    assert is_canonical(data)
    assert Manifest.from_json(data) == manifest
    assert manifest.sha256() == hashlib.sha256(data).hexdigest()


def test_manifest_refuses_non_canonical_bytes() -> None:
    data = _manifest().to_json().replace(b",", b", ", 1)
    with pytest.raises(MalformedInputError, match="canonical"):
        Manifest.from_json(data)


def test_manifest_refuses_unknown_fields_and_bad_values() -> None:
    doc = parse_json(_manifest().to_json())
    doc["surprise"] = 1
    with pytest.raises(MalformedInputError, match="unknown field"):
        Manifest.from_json(canonical_json(doc))
    doc = parse_json(_manifest().to_json())
    doc["attachments"][0]["sha256"] = "zz"
    with pytest.raises(MalformedInputError, match="64 hex"):
        Manifest.from_json(canonical_json(doc))
    with pytest.raises(MalformedInputError, match="share a file name"):
        Manifest("x", "files", NOW, attachments=(_manifest().attachments[0],) * 2)
    with pytest.raises(MalformedInputError, match="kind"):
        Manifest("x", "nope", NOW)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_manifest_parser_only_raises_malformed_input(data: bytes) -> None:
    try:
        Manifest.from_json(data)
    except MalformedInputError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_any_flipped_byte_of_a_manifest_changes_or_breaks_it(position: int, bit: int) -> None:
    data = bytearray(_manifest().to_json())
    data[position % len(data)] ^= bit or 1
    try:
        parsed = Manifest.from_json(bytes(data))
    except MalformedInputError:
        return
    assert parsed.to_json() != _manifest().to_json()
