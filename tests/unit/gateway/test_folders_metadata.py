"""metadata.json and dossier folders: what is accepted, and the words of each refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.folders_errors import DossierInvalid
from gateway.folders_metadata import parse_metadata, read_dossier

JDD = Path(__file__).resolve().parents[3] / "samples" / "hubee" / "JDD" / "CERTDC"


def certdc(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "processCode": "CERTDC",
        "externalId": "ER20190860001",
        "applicant": {"firstName": "Camille", "lastName": "Martin"},
        "recipients": [
            {"externalId": "C-01", "companyRegister": "21930066200016", "branchCode": "93066"}
        ],
    }
    document.update(changes)
    return document


def dossier(tmp_path: Path, metadata: dict[str, Any] | None, **files: bytes) -> Path:
    folder = tmp_path / "dossier"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if metadata is not None:
        (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


def read(folder: Path) -> Any:
    return read_dossier(folder, process_code="CERTDC", max_metadata_bytes=4096)


def test_the_certdc_sample_reads_with_types_defaults_and_digests(tmp_path: Path) -> None:
    folder = tmp_path / "certdc"
    folder.mkdir()
    for sample in sorted(JDD.iterdir()):
        (folder / sample.name).write_bytes(sample.read_bytes())
    (folder / ".lock-free-marker").write_bytes(b"hidden files are never attachments")
    (folder / "metadata.json").write_text(
        json.dumps(
            certdc(
                files=[
                    {
                        "fileName": "ER20190860001_20190517_1512_DD.pdf",
                        "type": "DD_CertificatdeDeces",
                    }
                ]
            )
        )
    )
    read_back = read(folder)
    assert [f.name for f in read_back.files] == sorted(p.name for p in JDD.iterdir())
    by_name = {f.name: f for f in read_back.files}
    assert by_name["ER20190860001_20190517_1512_DD.pdf"].type == "DD_CertificatdeDeces"
    assert by_name["ER20190860001_20190517_1512_VA.xml"].type == "PJ"
    assert by_name["ER20190860001_20190517_1512_VA.xml"].mime_type == "text/xml"
    assert by_name["ER20190860001_20190517_1512_VA.pdf"].mime_type == "application/pdf"
    assert all(f.recipients == ("C-01",) for f in read_back.files)
    body = read_back.folder_body()
    assert body["cases"][0]["recipient"] == {
        "type": "SI",
        "companyRegister": "21930066200016",
        "branchCode": "93066",
    }
    assert [a["size"] for a in body["attachments"]] == [f.size for f in read_back.files]
    # The same dossier always gives the same request and digest (retries depend on it).
    again = read(folder)
    assert again.folder_body() == body and again.content_digest() == read_back.content_digest()
    (folder / "ER20190860001_20190517_1512_VA.xml").write_bytes(b"<changed/>")
    assert read(folder).content_digest() != read_back.content_digest()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {k: v for k, v in certdc().items() if k != "externalId"},
            "metadata.json: field externalId missing",
        ),
        (certdc(externalId="X" * 31), "field externalId is longer than 30 characters"),
        (certdc(externalId=7), "field externalId must be a string"),
        (certdc(applicant="Camille"), "field applicant missing or not an object"),
        (
            certdc(applicant={"firstName": "C", "lastName": "M", "email": "no-at"}),
            "applicant.email is not an email",
        ),
        (certdc(recipients=[]), "field recipients missing or empty"),
        (
            certdc(
                recipients=[
                    {"externalId": "A", "companyRegister": "219300662000AB", "branchCode": "1"}
                ]
            ),
            "recipients[0].companyRegister is not a 14-digit SIRET",
        ),
        (
            certdc(
                recipients=[
                    {"externalId": "A", "companyRegister": "21930066200016", "branchCode": "1"},
                    {"externalId": "A", "companyRegister": "21930048000016", "branchCode": "2"},
                ]
            ),
            "two recipients have the same externalId",
        ),
        (certdc(files={"a.pdf": {}}), "field files must be a list"),
        (certdc(files=[{"fileName": "a/b.pdf"}]), "is not a plain file name"),
        (certdc(files=[{"fileName": "..\\..\\boot.ini"}]), "is not a plain file name"),
        (certdc(files=[{"fileName": "a.pdf"}, {"fileName": "a.pdf"}]), "a.pdf is listed twice"),
        (certdc(files=[{"fileName": "a.pdf", "recipients": ["B"]}]), "names ['B'], which is not"),
        (
            certdc(processCode="RSA"),
            "processCode is 'RSA' but this folder is for the process 'CERTDC'",
        ),
        ([1, 2], "metadata.json must hold a JSON object"),
    ],
)
def test_each_refusal_names_the_field(document: Any, message: str) -> None:
    with pytest.raises(DossierInvalid) as refused:
        parse_metadata(json.dumps(document).encode(), process_code="CERTDC")
    assert message in refused.value.message
    assert refused.value.hint  # always a next step


def test_bytes_that_are_not_utf8_json_are_refused_plainly() -> None:
    with pytest.raises(DossierInvalid, match=re.escape("metadata.json is not UTF-8 text")):
        parse_metadata(b"\xff\xfe{}", process_code="CERTDC")
    with pytest.raises(DossierInvalid, match=re.escape("metadata.json is not valid JSON")):
        parse_metadata(b"{'single': 'quotes'}", process_code="CERTDC")
    header, _, _ = parse_metadata(
        b"\xef\xbb\xbf" + json.dumps(certdc()).encode(), process_code="CERTDC"
    )
    assert header["externalId"] == "ER20190860001"  # a BOM, as Windows Notepad writes, is fine


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=300)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode())
)
def test_any_input_is_either_read_or_refused_with_dossier_invalid(raw: bytes) -> None:
    try:
        parse_metadata(raw, process_code="CERTDC")
    except DossierInvalid as exc:
        assert exc.message.startswith("metadata.json")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["externalId", "applicant", "recipients", "files", "processCode"]),
        st.none()
        | st.integers()
        | st.text(max_size=40)
        | st.lists(st.text(max_size=5), max_size=3),
    )
)
def test_mutated_certdc_metadata_never_escapes_as_another_error(changes: dict[str, Any]) -> None:
    try:
        parse_metadata(json.dumps(certdc(**changes)).encode(), process_code="CERTDC")
    except DossierInvalid:
        pass


def test_layout_problems_are_refused(tmp_path: Path) -> None:
    folder = dossier(tmp_path, certdc(), **{"a.pdf": b"%PDF"})
    (folder / "sub").mkdir()
    with pytest.raises(DossierInvalid, match=re.escape("sub is a subfolder")):
        read(folder)
    (folder / "sub").rmdir()
    (folder / "link.pdf").symlink_to("/etc/passwd")
    with pytest.raises(DossierInvalid, match=re.escape("link.pdf is a symbolic link")):
        read(folder)
    (folder / "link.pdf").unlink()
    (folder / "receipt.json").write_text("{}")
    with pytest.raises(
        DossierInvalid, match=re.escape("receipt.json is a name the adapter reserves")
    ):
        read(folder)
    (folder / "receipt.json").unlink()
    (folder / "metadata.json").write_text(
        json.dumps(certdc(applicant={"firstName": "C", "lastName": "M" * 5000}))
    )
    with pytest.raises(DossierInvalid, match=re.escape("metadata.json is larger than 4096 bytes")):
        read(folder)


def test_a_file_instead_of_a_folder_and_an_empty_dossier(tmp_path: Path) -> None:
    loose = tmp_path / "acte.pdf"
    loose.write_bytes(b"%PDF")
    with pytest.raises(DossierInvalid, match=re.escape("acte.pdf is a file, not a folder")):
        read(loose)
    with pytest.raises(DossierInvalid, match=re.escape("vanished")):
        read(tmp_path / "gone")
    with pytest.raises(DossierInvalid, match=re.escape("no file to send besides metadata.json")):
        read(dossier(tmp_path, certdc()))


def test_missing_metadata_and_missing_listed_files(tmp_path: Path) -> None:
    folder = dossier(tmp_path, None, **{"a.pdf": b"%PDF"})
    with pytest.raises(DossierInvalid, match=re.escape("metadata.json is missing")) as refused:
        read(folder)
    assert "docs/FOLDERS.md" in refused.value.diagnostics()
    (folder / "metadata.json").write_text(json.dumps(certdc(files=[{"fileName": "b.pdf"}])))
    with pytest.raises(
        DossierInvalid, match=re.escape("lists b.pdf, but the dossier has no such file")
    ):
        read(folder)
