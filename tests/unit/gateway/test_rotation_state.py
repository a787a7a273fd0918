"""A key rotation waiting to be finished, read from its files: each stage, what
``doctor`` says of it, and that reading it changes nothing."""

from __future__ import annotations

from pathlib import Path

from gateway.doctor import Area, Severity, check_rotation
from gateway.key_switch import RotationPaths
from gateway.rotation_state import RotationStage, pending_rotation
from tests.unit.gateway.support import DGS, HubPki, enroll_offline


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_each_stage_of_a_rotation_is_seen_with_its_fix(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    paths, rotation = settings.paths, RotationPaths(settings.paths)
    assert pending_rotation(paths) is None
    ok = check_rotation(settings)
    assert ok.severity is Severity.OK and ok.check == "rotation"

    # Staged (killed before the hub answered): the current keys stay in use.
    rotation.next_keys.mkdir(mode=0o700)
    rotation.next_certs.mkdir(mode=0o700)
    rotation.tls_key.write_text("staged")
    rotation.seal_key.write_text("staged")
    staged = pending_rotation(paths)
    assert staged is not None and staged.stage is RotationStage.STAGED
    assert not staged.certified and "not certified" in staged.summary
    assert staged.fix.startswith("stop the service")
    assert f"sceau gateway rotate-keys --data {paths.root}" in staged.fix

    rotation.tls_cert.write_text("certified")
    rotation.seal_cert.write_text("certified")
    certified = pending_rotation(paths)
    assert certified is not None and certified.certified
    assert "certified by the hub" in certified.summary

    # The switch decided: reading the state does not roll it forward.
    rotation.switch.write_text("{}")
    before = _files(paths.root)
    switching = pending_rotation(paths)
    assert switching is not None and switching.stage is RotationStage.SWITCHING
    assert _files(paths.root) == before

    # Switched, the hub not told: the service may keep running.
    rotation.switch.unlink()
    for p in (rotation.tls_key, rotation.seal_key, rotation.tls_cert, rotation.seal_cert):
        p.unlink()
    rotation.complete.write_text("{}")
    switched = pending_rotation(paths)
    assert switched is not None and switched.stage is RotationStage.SWITCHED
    assert "hub not told" in switched.summary
    assert (
        switched.fix
        == f"sceau gateway rotate-keys --data {paths.root} (the service may keep running) to complete"
    )
    doc = switched.to_json()
    assert doc["stage"] == "switched" and doc["fix"] == switched.fix and doc["since"]

    finding = check_rotation(settings)
    assert finding.severity is Severity.WARN and finding.area is Area.CONFIG
    assert "hub not told" in finding.detail and "since" in finding.detail
    assert finding.fix == switched.fix
