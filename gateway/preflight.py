"""Before ``sceau gateway run`` opens anything: the faults an operator must fix first.

:func:`check_startup` raises one :class:`~gateway.errors.GatewayConfigError` (exit 3)
naming every problem found and the command that fixes each:

- a missing key, certificate or enrollment file (which file; ``enroll`` or a restore);
- a data folder that is not ours or not writable, a ``keys/`` folder or key file that
  the group or others can read (the ``chmod``/``chown`` to run);
- the LAN address already taken or not bindable (which ``host:port``, and how to
  choose another).

``sceau gateway doctor`` checks more (hub, clock, journal, disk) and reports; this only
refuses to start.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import GatewayConfigError
from gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str


def _enroll(root: Path) -> str:
    return f"sceau gateway enroll --hub URL --token TOKEN --data {root}"


def missing_files(settings: GatewaySettings) -> list[Problem]:
    paths = settings.paths
    restore = (
        f"restore the data folder from a backup (sceau gateway restore ARCHIVE --data {paths.root}),"
        " or start a new gateway: sceau gateway init, then enroll"
    )
    found: list[Problem] = []
    for path in (paths.tls_key, paths.seal_key, paths.journal_key, paths.blob_key):
        if not path.is_file():
            found.append(Problem(f"the key {path} is missing", restore))
    if not paths.journal_vkey.is_file():
        found.append(Problem(f"{paths.journal_vkey} is missing", restore))
    if not paths.enrollment.is_file():
        what = f"the gateway is not enrolled with a hub yet ({paths.enrollment} is missing)"
        return [*found, Problem(what, _enroll(paths.root))]
    for path in (paths.tls_cert, paths.seal_cert, paths.hub_ca, paths.witness_vkey):
        if not path.is_file():
            found.append(Problem(f"the certificate file {path} is missing", _enroll(paths.root)))
    return found


def permission_problems(settings: GatewaySettings) -> list[Problem]:
    paths = settings.paths
    me = os.geteuid()
    found: list[Problem] = []
    root = paths.root
    try:
        st = root.stat()
    except FileNotFoundError:
        return [
            Problem(f"the data folder {root} does not exist", f"sceau gateway init --data {root}")
        ]
    if not stat.S_ISDIR(st.st_mode):
        return [Problem(f"{root} is not a folder", "give --data the gateway's data folder")]
    if st.st_uid != me:
        found.append(
            Problem(
                f"the data folder {root} belongs to uid {st.st_uid}, not to this user (uid {me})",
                f"chown -R {me} {root}  (or run the gateway as its owner)",
            )
        )
    if not os.access(root, os.W_OK | os.X_OK):
        found.append(Problem(f"the data folder {root} is not writable", f"chmod u+rwx {root}"))
    if paths.keys.is_dir():
        mode = stat.S_IMODE(paths.keys.stat().st_mode)
        if mode & 0o077:
            found.append(
                Problem(
                    f"{paths.keys} is readable by group or others (mode {mode:04o})",
                    f"chmod 700 {paths.keys}",
                )
            )
        for key in sorted(p for p in paths.keys.iterdir() if p.is_file()):
            kst = key.stat()
            if stat.S_IMODE(kst.st_mode) & 0o077:
                found.append(
                    Problem(
                        f"the key file {key} is readable by group or others "
                        f"(mode {stat.S_IMODE(kst.st_mode):04o})",
                        f"chmod 600 {paths.keys}/*",
                    )
                )
            if kst.st_uid != me:
                found.append(
                    Problem(
                        f"the key file {key} belongs to uid {kst.st_uid}, not to uid {me}",
                        f"chown -R {me} {paths.keys}",
                    )
                )
    return found


def port_problem(host: str, port: int, *, settings_file: Path) -> Problem | None:
    """None if ``host:port`` can be bound now (port 0 always can); ``settings_file``
    (gateway.yaml, or a legacy gateway.json) is named in the fix."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return Problem(
            f"the LAN address {host!r} does not resolve: {exc.strerror}",
            f"set lan_host in {settings_file}, or pass --host",
        )
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                return bind_problem(host, port, exc, settings_file=settings_file)
    return None


def bind_problem(host: str, port: int, exc: OSError, *, settings_file: Path) -> Problem:
    """What to say when ``host:port`` cannot be bound (``settings_file``: see above)."""
    where = f"{host}:{port}"
    choose = f"choose another port with --port N (or lan_port in {settings_file})"
    if exc.errno == errno.EADDRINUSE:
        return Problem(
            f"{where} is already in use by another program",
            f"stop it (`ss -ltnp 'sport = :{port}'` shows which), or {choose}",
        )
    if exc.errno == errno.EACCES:
        return Problem(f"{where}: permission denied (a port below 1024 needs privileges)", choose)
    if exc.errno == errno.EADDRNOTAVAIL:
        return Problem(
            f"{where}: {host} is not an address of this machine",
            f"set lan_host in {settings_file}, or pass --host",
        )
    return Problem(f"cannot listen on {where}: {exc.strerror}", choose)


def raise_problems(problems: list[Problem]) -> None:
    if not problems:
        return
    fixes = list(dict.fromkeys(p.fix for p in problems))
    raise GatewayConfigError(
        "the gateway cannot start:" + "".join(f"\n  - {p.what}" for p in problems),
        hint="\n  → ".join(fixes),
    )


def check_startup(settings: GatewaySettings, *, serve_lan: bool = True) -> None:
    """Raise :class:`GatewayConfigError` with every fault found (exit 3), else return."""
    problems = permission_problems(settings)
    if not problems or settings.paths.root.is_dir():
        problems += missing_files(settings)
    if serve_lan:
        port = port_problem(
            settings.lan_host, settings.lan_port, settings_file=settings.paths.settings
        )
        if port is not None:
            problems.append(port)
    raise_problems(problems)
