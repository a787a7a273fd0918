from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trust.asic import AsicManifest
from trust.errors import MalformedInputError

SIG = "META-INF/signature001.p7s"


def test_round_trip_with_awkward_names() -> None:
    names = ["a b&c.pdf", "é<>.xml", "manifest.json"]
    manifest = AsicManifest.build(
        SIG, [(n, "application/pdf", hashlib.sha256(n.encode()).digest()) for n in names]
    )
    xml = manifest.to_xml()
    assert b"a%20b%26c.pdf" in xml
    assert AsicManifest.from_xml(xml) == manifest


def test_refuses_dtd_and_entities() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    with pytest.raises(MalformedInputError, match="DTD"):
        AsicManifest.from_xml(evil)


def test_refuses_a_dtd_hidden_from_a_byte_search_by_utf16() -> None:
    xml = AsicManifest.build(SIG, [("a.pdf", "application/pdf", b"\1" * 32)]).to_xml()
    digest = xml[xml.index(b"<ds:DigestValue>") + 16 : xml.index(b"</ds:DigestValue>")]
    body = xml.split(b"?>", 1)[1].replace(digest, b"&d;").decode()
    text = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE m [<!ENTITY d "{digest.decode()}">]>'
    evil = (text + body).encode("utf-16")
    assert b"<!DOCTYPE" not in evil and b"<!ENTITY" not in evil
    with pytest.raises(MalformedInputError, match="DTD"):
        AsicManifest.from_xml(evil)
    # The same manifest without the DTD, in UTF-16, still reads.
    plain = '<?xml version="1.0" encoding="UTF-16"?>' + xml.split(b"?>", 1)[1].decode()
    assert AsicManifest.from_xml(plain.encode("utf-16")).references[0].sha256 == b"\1" * 32


def test_refuses_other_digest_algorithms_and_duplicates() -> None:
    xml = AsicManifest.build(SIG, [("a", "text/plain", b"\0" * 32)]).to_xml()
    with pytest.raises(MalformedInputError, match="not SHA-256"):
        AsicManifest.from_xml(xml.replace(b"xmlenc#sha256", b"xmldsig#sha1"))
    ref = xml[xml.index(b"  <asic:DataObjectReference") : xml.index(b"</asic:ASiCManifest>")]
    doubled = xml.replace(b"</asic:ASiCManifest>", ref + b"</asic:ASiCManifest>")
    with pytest.raises(MalformedInputError, match="twice"):
        AsicManifest.from_xml(doubled)


def test_refuses_wrong_root_and_missing_sig_reference() -> None:
    with pytest.raises(MalformedInputError, match="root"):
        AsicManifest.from_xml(b"<a/>")
    xml = AsicManifest.build(SIG, []).to_xml()
    stripped = b"\n".join(line for line in xml.split(b"\n") if b"SigReference" not in line)
    with pytest.raises(MalformedInputError, match="SigReference"):
        AsicManifest.from_xml(stripped)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parser_only_raises_malformed_input(data: bytes) -> None:
    try:
        AsicManifest.from_xml(data)
    except MalformedInputError:
        pass
