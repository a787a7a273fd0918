"""trust.bearer_file: the token file is 0600, replaced atomically, and checked strictly."""

from __future__ import annotations

import stat
from pathlib import Path

from trust.bearer_file import bearer_matches, create_token_file


def test_a_token_file_is_owner_only_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "metrics.token"
    first = create_token_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = create_token_file(path)
    assert first != second
    assert path.read_text("ascii").strip() == second
    assert not (tmp_path / "metrics.tmp").exists()


def test_only_the_bearer_of_the_current_token_matches(tmp_path: Path) -> None:
    path = tmp_path / "metrics.token"
    assert not bearer_matches("Bearer anything", path)  # no file: nobody
    token = create_token_file(path)
    assert bearer_matches(f"Bearer {token}", path)
    for refused in (
        "",
        "Bearer ",
        token,
        f"Basic {token}",
        f"Bearer {token}x",
        "Bearer é" + token[1:],
    ):
        assert not bearer_matches(refused, path), refused
    path.write_text("\n", encoding="ascii")  # an empty file authorises nobody
    assert not bearer_matches("Bearer ", path)
