"""/metrics refuses a non-ASCII bearer token like any wrong one (401, not a 500)."""

from __future__ import annotations

from pathlib import Path

from gateway.metrics import _authorised as gateway_authorised
from gateway.settings import GatewayPaths
from hub.metrics import _authorised as hub_authorised
from hub.metrics import create_metrics_token


def test_a_non_ascii_bearer_token_is_refused_not_an_error(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    token = create_metrics_token(keys)
    assert hub_authorised(f"Bearer {token}", keys)
    assert not hub_authorised("Bearer é" + token[1:], keys)
    paths = GatewayPaths(tmp_path)
    assert paths.keys == keys
    assert gateway_authorised(f"Bearer {token}", paths)
    assert not gateway_authorised("Bearer é" + token[1:], paths)
