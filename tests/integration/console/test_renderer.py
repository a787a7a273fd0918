"""The dossier data renderer on every XML and JSON flow of the HubEE samples (JDD):
no exception, fields with labels, no markup; hostile or broken input is refused or
shown in part, never raised."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.console.renderer import MAX_FIELDS, Field, label, render_data, value_text
from tests.unit.gateway.support import SAMPLES

FLOWS = sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".xml", ".json"))


def _walk(fields: tuple[Field, ...]) -> list[Field]:
    out: list[Field] = []
    for f in fields:
        out.append(f)
        out.extend(_walk(f.children))
    return out


def test_every_sample_flow_is_found() -> None:
    assert len(FLOWS) >= 30
    assert {p.parent.name for p in FLOWS} >= {"CERTDC", "RSA", "ETATCIVIL", "OTV", "RSABEI-RSABAI"}


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_sample_renders_as_labelled_fields(path: Path) -> None:
    rendered = render_data(path.read_bytes(), path.name)
    fields = _walk(rendered.fields)
    assert len(fields) >= 10, rendered.error
    for f in fields:
        assert f.label and "<" not in f.label and "{" not in f.label
        assert (f.value is None) != (not f.children) or f.value is not None
        if f.value is not None:
            assert "<" not in f.value or path.suffix == ".json"


def test_certdc_fields_get_their_french_labels() -> None:
    path = SAMPLES / "CERTDC" / "ER20190860001_20190517_1512_VA.xml"
    rendered = render_data(path.read_bytes(), path.name)
    labels = {f.label: f.value for f in _walk(rendered.fields)}
    assert labels["Numéro national du certificat"] == "ER20190860001"
    assert labels["Obstacle médico-légal"] == "Non"
    assert labels["Date de naissance"] == "23/12/1980"
    assert "Défunt" in labels and "Lieu du décès" in labels
    assert rendered.signed  # the ds:Signature is summarised, not shown
    assert not any("Signature" in f.label for f in _walk(rendered.fields))


def test_rsa_codes_get_their_french_labels() -> None:
    path = SAMPLES / "RSABEI-RSABAI" / "RSABAI.xml"
    labels = {f.label for f in _walk(render_data(path.read_bytes(), path.name).fields)}
    assert {"Date de naissance", "Numéro de la demande", "Identification du flux"} <= labels


def test_a_cut_file_shows_its_readable_part_and_says_so() -> None:
    path = SAMPLES / "CERTDC" / "ER20190860001_20190517_1512_VA.xml"
    data = path.read_bytes()
    rendered = render_data(data[: len(data) // 2], path.name)
    assert rendered.error is not None and "incomplet" in rendered.error
    assert any(f.label == "Défunt" for f in _walk(rendered.fields))


def test_entity_declarations_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbbbbbb">]><a>&b;&b;</a>'
    rendered = render_data(bomb, "bomb.xml")
    assert rendered.fields == () and rendered.error is not None


def test_a_huge_tree_is_cut() -> None:
    data = b"<a>" + b"<b>1</b>" * (MAX_FIELDS * 2) + b"</a>"
    rendered = render_data(data, "big.xml")
    assert rendered.truncated and len(_walk(rendered.fields)) <= MAX_FIELDS


def test_labels_and_values() -> None:
    assert label("DateDeces") == "Date du décès"
    assert label("NombreFrereSoeur") == "Nombre frere soeur"
    assert label("DATE_DEBUT") == "Date debut"
    assert label("{urn:x}MonChamp") == "Mon champ"
    assert value_text("true") == "Oui" and value_text(False) == "Non"
    assert value_text("2019-03-27T16:22:59") == "27/03/2019 à 16:22"


@given(st.one_of(st.binary(max_size=2000), st.from_regex(rb"\A[\[\]{}<>a-z0-9\":,/ ]{0,80}\Z")))
def test_any_bytes_render_or_say_why(data: bytes) -> None:
    for name in ("x.xml", "x.json"):
        rendered = render_data(data, name)  # never raises
        assert rendered.fields or rendered.error is not None
        assert all(f.label for f in _walk(rendered.fields))
