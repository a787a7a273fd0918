"""The ASiC manifest (ETSI EN 319 162-1, ASiC-E with CAdES): XML that lists every
signed data object with its SHA-256 digest, and that the CAdES seal covers.

Parsing is deliberately narrow: no DTD, no entities, only the elements we write.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from trust.errors import MalformedInputError

ASIC_NS = "http://uri.etsi.org/02918/v1.2.1#"  # ETSI EN 319 162-1 §A.4
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"  # RFC 6931 §2.1.3 / XML Enc
MAX_XML_BYTES = 4 * 1024 * 1024
_B64 = re.compile(r"^[A-Za-z0-9+/]{43}=$")


class _Stop(Exception):
    def __init__(self, dtd: bool) -> None:
        self.dtd = dtd


def _declares_dtd(data: bytes) -> bool:
    """Whether expat meets a DOCTYPE before the root element, in any encoding (the byte
    search misses ``<!DOCTYPE`` in UTF-16, and ElementTree would expand its entities).
    It stops at the root element, so the cost is the prolog's. A document expat cannot
    parse is left to the real parse, which reports it."""
    parser = expat.ParserCreate()

    def stop(dtd: bool) -> Callable[..., None]:
        def handler(*_: object) -> None:
            raise _Stop(dtd)

        return handler

    parser.StartDoctypeDeclHandler = stop(True)
    parser.StartElementHandler = stop(False)
    try:
        parser.Parse(data, True)
    except _Stop as found:
        return found.dtd
    except expat.ExpatError:
        return False
    return False


@dataclass(frozen=True)
class DataObjectReference:
    uri: str  # the zip entry name; percent-encoded in the XML (RFC 3986)
    mime_type: str
    sha256: bytes

    def __post_init__(self) -> None:
        if len(self.sha256) != 32:
            raise MalformedInputError(f"digest of {self.uri!r} is not 32 bytes")


@dataclass(frozen=True)
class AsicManifest:
    signature_uri: str
    references: tuple[DataObjectReference, ...]

    def to_xml(self) -> bytes:
        lines = [
            '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
            f'<asic:ASiCManifest xmlns:asic="{ASIC_NS}" xmlns:ds="{DS_NS}">',
            f'  <asic:SigReference URI={quoteattr(self.signature_uri)} MimeType="application/x-pkcs7-signature"/>',
        ]
        for ref in self.references:
            lines += [
                f"  <asic:DataObjectReference URI={quoteattr(quote(ref.uri))} MimeType={quoteattr(ref.mime_type)}>",
                f'    <ds:DigestMethod Algorithm="{SHA256_URI}"/>',
                f"    <ds:DigestValue>{base64.b64encode(ref.sha256).decode()}</ds:DigestValue>",
                "  </asic:DataObjectReference>",
            ]
        lines.append("</asic:ASiCManifest>")
        return ("\n".join(lines) + "\n").encode("utf-8")

    @classmethod
    def build(cls, signature_uri: str, objects: Sequence[tuple[str, str, bytes]]) -> AsicManifest:
        """From (uri, mime type, sha256 digest bytes) triples."""
        return cls(signature_uri, tuple(DataObjectReference(u, m, d) for u, m, d in objects))

    @classmethod
    def from_xml(cls, data: bytes) -> AsicManifest:
        if len(data) > MAX_XML_BYTES:
            raise MalformedInputError("the ASiC manifest is too large")
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data or _declares_dtd(data):
            raise MalformedInputError("the ASiC manifest declares a DTD or entities; refused")
        try:
            root = ET.fromstring(data)  # noqa: S314 - DTDs refused above; expat limits amplification
        except ET.ParseError as exc:
            raise MalformedInputError(f"the ASiC manifest is not well-formed XML: {exc}") from exc
        if root.tag != f"{{{ASIC_NS}}}ASiCManifest":
            raise MalformedInputError(
                f"the ASiC manifest root is {root.tag}, not asic:ASiCManifest"
            )
        sig_refs = root.findall(f"{{{ASIC_NS}}}SigReference")
        if len(sig_refs) != 1 or not sig_refs[0].get("URI"):
            raise MalformedInputError(
                "the ASiC manifest must have exactly one SigReference with a URI"
            )
        refs: list[DataObjectReference] = []
        for el in root.findall(f"{{{ASIC_NS}}}DataObjectReference"):
            uri = el.get("URI")
            method = el.find(f"{{{DS_NS}}}DigestMethod")
            value = el.find(f"{{{DS_NS}}}DigestValue")
            if not uri or method is None or value is None or value.text is None:
                raise MalformedInputError(
                    "an ASiC DataObjectReference lacks URI, DigestMethod or DigestValue"
                )
            if method.get("Algorithm") != SHA256_URI:
                raise MalformedInputError(
                    f"digest algorithm {method.get('Algorithm')} of {uri!r} is not SHA-256"
                )
            text = value.text.strip()
            if not _B64.match(text):
                raise MalformedInputError(f"digest value of {uri!r} is not base64 SHA-256")
            refs.append(
                DataObjectReference(
                    unquote(uri),
                    el.get("MimeType") or "application/octet-stream",
                    base64.b64decode(text),
                )
            )
        uris = [r.uri for r in refs]
        if len(set(uris)) != len(uris):
            raise MalformedInputError("the ASiC manifest references a file twice")
        return cls(str(sig_refs[0].get("URI")), tuple(refs))
