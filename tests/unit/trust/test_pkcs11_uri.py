"""``pkcs11:`` URIs (RFC 7512 subset): parsing, PIN sources, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trust.errors import KeyMaterialError
from trust.pkcs11_uri import Pkcs11Uri, parse_pkcs11_uri


def test_token_object_and_pin_value() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=gateway;object=seal?pin-value=1234")
    assert uri == Pkcs11Uri(token_label="gateway", key_label="seal", pin_value="1234")
    assert uri.pin() == "1234"


def test_every_supported_attribute() -> None:
    uri = parse_pkcs11_uri(
        "pkcs11:token=My%20Token;object=seal%3Bkey;id=%01%ab;slot-id=42;type=private"
        "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/sceau/pin"
    )
    assert uri.token_label == "My Token"
    assert uri.key_label == "seal;key"
    assert uri.key_id == b"\x01\xab"
    assert uri.slot_id == 42
    assert uri.module_path == "/usr/lib/softhsm/libsofthsm2.so"
    assert uri.pin_source == Path("/etc/sceau/pin")
    assert uri.pin_value is None


def test_scheme_is_case_insensitive_and_path_may_be_empty() -> None:
    assert parse_pkcs11_uri("PKCS11:") == Pkcs11Uri()


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("file:/etc/pin", "/etc/pin"),
        ("file:///etc/pin", "/etc/pin"),
        ("file://localhost/etc/pin", "/etc/pin"),
        ("/etc/pin", "/etc/pin"),
        ("file:/etc/my%20pin", "/etc/my pin"),
    ],
)
def test_pin_source_forms(source: str, path: str) -> None:
    assert parse_pkcs11_uri(f"pkcs11:token=t?pin-source={source}").pin_source == Path(path)


def test_pin_is_read_from_a_private_file(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("s3cret-pin\n")
    pin_file.chmod(0o600)
    uri = parse_pkcs11_uri(f"pkcs11:token=t;object=k?pin-source=file:{pin_file}")
    assert uri.pin() == "s3cret-pin"


def test_pin_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("s3cret-pin")
    pin_file.chmod(0o644)
    with pytest.raises(KeyMaterialError) as info:
        parse_pkcs11_uri(f"pkcs11:token=t?pin-source={pin_file}").pin()
    assert "chmod 600" in info.value.diagnostics()
    assert "s3cret-pin" not in info.value.diagnostics()


def test_empty_or_missing_pin_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(KeyMaterialError, match="empty"):
        parse_pkcs11_uri(f"pkcs11:token=t?pin-source={empty}").pin()
    with pytest.raises(KeyMaterialError, match="does not exist"):
        parse_pkcs11_uri(f"pkcs11:token=t?pin-source={tmp_path / 'absent'}").pin()


def test_no_pin_gives_none() -> None:
    assert parse_pkcs11_uri("pkcs11:token=t;object=k").pin() is None


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("file:/x", "not a pkcs11: URI"),
        ("pkcs11:token=a;token=b", "appears twice"),
        ("pkcs11:manufacturer=SoftHSM", "'manufacturer' is not supported"),
        ("pkcs11:x-vendor=1", "'x-vendor' is not supported"),
        ("pkcs11:token=t?module-name=softhsm2", "'module-name' is not supported"),
        ("pkcs11:object=k;type=cert", "type=private"),
        ("pkcs11:slot-id=abc", "not a decimal number"),
        ("pkcs11:slot-id=%D9%A3", "not a decimal number"),
        ("pkcs11:token=%zz", "percent-encoding"),
        ("pkcs11:token=%ff", "not UTF-8"),
        ("pkcs11:token=t?pin-value=1&pin-source=/p", "not both"),
        ("pkcs11:token=t?pin-source=|/usr/bin/pinentry", "PIN programs are not supported"),
        ("pkcs11:token=t?pin-source=file:relative", "absolute path"),
        ("pkcs11:token=t?pin-source=file://host/etc/pin", "local file"),
        ("pkcs11:token=t?pin-source=file://host", "local file"),
    ],
)
def test_refusals_name_the_problem(text: str, complaint: str) -> None:
    with pytest.raises(KeyMaterialError, match=complaint) as info:
        parse_pkcs11_uri(text)
    assert "pkcs11:token=" in info.value.diagnostics()


def test_a_mistyped_item_is_not_echoed() -> None:
    with pytest.raises(KeyMaterialError) as info:
        parse_pkcs11_uri("pkcs11:token=t?pin-value:9876")
    assert "9876" not in info.value.diagnostics()
    assert "item 1 of a pkcs11: URI's query" in str(info.value)


def test_pin_value_is_left_out_of_repr_and_uri() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=t;object=k?pin-value=9876")
    assert "9876" not in repr(uri)
    assert uri.to_uri() == "pkcs11:token=t;object=k"
    assert uri.to_uri(include_pin=True) == "pkcs11:token=t;object=k?pin-value=9876"


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_paths = st.builds(lambda t: Path("/" + t), _text)


@st.composite
def _uris(draw: st.DrawFn) -> Pkcs11Uri:
    pin_value, pin_source = draw(
        st.one_of(
            st.tuples(st.none() | _text, st.none()),
            st.tuples(st.none(), _paths),
        )
    )
    return Pkcs11Uri(
        token_label=draw(st.none() | _text),
        key_label=draw(st.none() | _text),
        key_id=draw(st.none() | st.binary(max_size=20)),
        slot_id=draw(st.none() | st.integers(min_value=0, max_value=2**64)),
        module_path=draw(st.none() | _text),
        pin_value=pin_value,
        pin_source=pin_source,
    )


@given(_uris())
def test_to_uri_then_parse_round_trips(uri: Pkcs11Uri) -> None:
    assert parse_pkcs11_uri(uri.to_uri(include_pin=True)) == uri


@given(st.text(max_size=80))
def test_any_text_parses_or_is_refused_cleanly(tail: str) -> None:
    for text in (tail, "pkcs11:" + tail):
        try:
            parse_pkcs11_uri(text)
        except KeyMaterialError:
            pass
