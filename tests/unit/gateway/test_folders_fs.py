"""Names for received files, and moves that never overwrite."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.folders_fs import MAX_NAME_BYTES, free_name, local_file_name, move_into


def test_names_from_the_sender_lose_paths_and_stay_unique() -> None:
    taken: set[str] = set()
    assert local_file_name("../../etc/passwd", taken) == "passwd"
    assert local_file_name("C:\\Windows\\system.ini", taken) == "system.ini"
    assert local_file_name("metadata.json", taken) == "metadata (2).json"
    assert local_file_name("PASSWD", taken) == "PASSWD (2)"
    assert local_file_name("..", taken) == "file"
    assert local_file_name(".bashrc", taken) == "bashrc"
    assert local_file_name("a\x00b\nc.pdf", taken) == "abc.pdf"
    assert local_file_name('q"u<o>t|e?.pdf', taken) == "quote.pdf"
    assert local_file_name("x." + "y" * 30, taken) == "x." + "y" * 30  # no extension to keep
    long = local_file_name("é" * 300 + ".pdf", taken)
    assert long.endswith(".pdf") and len(long.encode()) <= MAX_NAME_BYTES


@given(st.lists(st.text(max_size=300), max_size=8))
def test_any_sender_name_gives_a_plain_unique_name(names: list[str]) -> None:
    taken: set[str] = set()
    made = [local_file_name(n, taken) for n in names]
    assert len({m.lower() for m in made}) == len(made)
    for name in made:
        assert name and name not in {".", ".."} and not name.startswith(".")
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert all(ch.isprintable() for ch in name)
        assert len(name.encode()) <= MAX_NAME_BYTES + 16
        assert name.lower() != "metadata.json"


def test_moves_never_overwrite(tmp_path: Path) -> None:
    sent = tmp_path / "SENT"
    sent.mkdir()
    (sent / "d").mkdir()
    (sent / "d.1.error").write_text("an older failure")
    assert free_name(sent, "d") == "d.2"
    source = tmp_path / "work" / "d"
    source.mkdir(parents=True)
    (source / "a.pdf").write_bytes(b"%PDF")
    target = move_into(source, sent, "d")
    assert target == sent / "d.2" and (target / "a.pdf").read_bytes() == b"%PDF"
    assert not source.exists()
