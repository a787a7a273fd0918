"""Structured dossier data (XML or JSON flows) as labelled fields, never raw markup.

:func:`render_data` turns a file into a tree of :class:`Field`: each element (XML) or
key (JSON) becomes a label, from :data:`gateway.console.labels.LABELS` or made from
its name; leaves keep their text, with booleans and ISO dates written the French way.
XML signatures (``ds:Signature``) are summarised, not shown. Files with a DOCTYPE are
refused (no entity expansion), and a tree is cut at :data:`MAX_FIELDS` fields.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from xml.parsers import expat

from gateway.console.labels import LABELS

MAX_FIELDS = 3000
MAX_BYTES = 4 * 1024 * 1024
_DSIG = "{http://www.w3.org/2000/09/xmldsig#}"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class Field:
    label: str
    value: str | None = None  # a leaf's text
    children: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Rendered:
    """A file's fields, or why they cannot be shown (``error``)."""

    fields: tuple[Field, ...]
    error: str | None = None
    truncated: bool = False
    signed: bool = False


def is_structured(file_name: str, mime_type: str) -> bool:
    name = file_name.lower()
    return name.endswith((".xml", ".json")) or mime_type in (
        "application/xml",
        "text/xml",
        "application/json",
    )


def label(name: str) -> str:
    """A readable label for an element or key name."""
    local = name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    if local in LABELS:
        return LABELS[local]
    if "_" in local or "-" in local:
        words = [w for w in re.split(r"[_-]+", local) if w]
    elif local.isupper():
        return local
    else:
        words = _CAMEL.split(local)
    text = " ".join(w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else name


def value_text(raw: object) -> str:
    if raw is None:
        return "—"
    if isinstance(raw, bool):
        return "Oui" if raw else "Non"
    text = str(raw).strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return "Oui" if lowered == "true" else "Non"
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text).strftime("%d/%m/%Y")
        except ValueError:
            return text
    if _DATETIME.fullmatch(text):
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        return at.strftime("%d/%m/%Y à %H:%M") + _offset(at)
    return text


def _offset(at: datetime) -> str:
    """The file's own offset, as written (a dossier's data is shown as the sender wrote it)."""
    offset = at.utcoffset()
    if offset is None:
        return ""
    if not offset:
        return " UTC"
    sign, minutes = (
        ("+" if offset.total_seconds() > 0 else "-"),
        abs(int(offset.total_seconds())) // 60,
    )
    return f" (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_FIELDS
        self.truncated = False
        self.signed = False

    def take(self) -> bool:
        if self.left <= 0:
            self.truncated = True
            return False
        self.left -= 1
        return True


def _xml_field(element: ET.Element, budget: _Budget) -> Field | None:
    if element.tag.startswith(_DSIG):
        budget.signed = True
        return None
    if not budget.take():
        return None
    children: list[Field] = []
    for name, raw in element.attrib.items():
        if name.startswith("{http://www.w3.org/2001/XMLSchema-instance}"):
            continue
        if budget.take():
            children.append(Field(label(name), value_text(raw)))
    for child in element:
        found = _xml_field(child, budget)
        if found is not None:
            children.append(found)
    text = (element.text or "").strip()
    if not children:
        return Field(label(element.tag), value_text(text)) if text else None
    if text:
        children.insert(0, Field("Valeur", value_text(text)))
    return Field(label(element.tag), None, tuple(children))


def _json_field(name: str, value: object, budget: _Budget) -> Field | None:
    if not budget.take():
        return None
    if isinstance(value, dict):
        kids = [f for k, v in value.items() if (f := _json_field(str(k), v, budget)) is not None]
        return Field(label(name), None, tuple(kids)) if kids else None
    if isinstance(value, list):
        kids = [
            f
            for i, v in enumerate(value, 1)
            if (f := _json_field(f"{label(name)} {i}", v, budget)) is not None
        ]
        return Field(label(name), None, tuple(kids)) if kids else None
    if value is None or value == "":
        return None
    return Field(label(name), value_text(value))


def render_data(data: bytes, file_name: str) -> Rendered:
    """The fields of an XML or JSON file (``error`` set when it cannot be read)."""
    if len(data) > MAX_BYTES:
        return Rendered((), error="Fichier trop volumineux pour être affiché : téléchargez-le.")
    budget = _Budget()
    if file_name.lower().endswith(".json") or data.lstrip()[:1] in (b"{", b"["):
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return Rendered((), error="Ce fichier JSON est illisible : téléchargez-le.")
        root = _json_field("Données", doc, budget)
        fields = () if root is None else (root.children or (root,))
        return _result(fields, None, budget)
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper() or _declares_dtd(data):
        return Rendered((), error="Ce fichier XML déclare des entités : il n'est pas affiché.")
    # A pull parser keeps what it read before an error: a cut file shows its readable part.
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    roots: list[ET.Element] = []
    error = None
    try:
        for offset in range(0, len(data), 64 * 1024):
            parser.feed(data[offset : offset + 64 * 1024])
            _first_element(parser, roots)
        parser.close()
        _first_element(parser, roots)
    except ET.ParseError:
        error = "Ce fichier XML est incomplet ou mal formé : seule sa partie lisible est affichée."
    element = roots[0] if roots else None
    if element is None:
        return Rendered((), error="Ce fichier XML est illisible : téléchargez-le.")
    root = _xml_field(element, budget)
    return _result((root,) if root is not None else (), error, budget)


class _Stop(Exception):
    def __init__(self, dtd: bool) -> None:
        self.dtd = dtd


def _declares_dtd(data: bytes) -> bool:
    """Whether expat meets a DOCTYPE before the root element, in any encoding (a byte
    search misses ``<!DOCTYPE`` in UTF-16); it stops at the root, so this is cheap."""
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
        return False  # the parse below reports it
    return False


def _result(fields: tuple[Field, ...], error: str | None, budget: _Budget) -> Rendered:
    if not fields and error is None:
        error = "Ce fichier ne contient aucune donnée à afficher."
    return Rendered(fields, error=error, truncated=budget.truncated, signed=budget.signed)


def _first_element(parser: ET.XMLPullParser[ET.Element], roots: list[ET.Element]) -> None:
    """Keep the first element seen (events come before a parse error is raised)."""
    for event in parser.read_events():
        found: object = event[-1] if isinstance(event, tuple) else None
        if not roots and isinstance(found, ET.Element):
            roots.append(found)
