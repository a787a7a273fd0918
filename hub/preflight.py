"""Before ``sceau hub run`` opens anything: the faults an operator must fix first.

:func:`check_startup` raises one :class:`~hub.errors.HubConfigError` (exit 3) naming
every problem found and the command that fixes each: a missing key or certificate
under ``keys/``, a data folder that is not ours or not writable, ``keys/`` or a key file
readable by the group or others, and the listening address already taken. (The
gateway has the same checks in ``gateway.preflight``: the two packages never import
each other.)
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from dataclasses import dataclass

from hub.errors import HubConfigError
from hub.settings import HubConfig

KEY_STEMS = ("ca", "tls", "tsa", "witness", "journal")
PUBLIC_FILES = ("ca.pem", "tls.pem", "tsa.pem", "witness.vkey", "journal.vkey")


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str


def missing_files(config: HubConfig) -> list[Problem]:
    keys = config.keys_dir
    names = [f"{stem}.key" for stem in KEY_STEMS] + list(PUBLIC_FILES)
    missing = [keys / n for n in names if not (keys / n).is_file()]
    if not missing:
        return []
    if len(missing) == len(names):
        fix = f"sceau hub init --data {config.data_dir}  (a new hub: gateways must enroll again)"
    else:
        fix = (
            f"restore {keys} from the hub's backup; `sceau hub init` refuses to replace a "
            "partial identity (the gateways trust its CA)"
        )
    return [Problem(f"{path} is missing", fix) for path in missing]


def permission_problems(config: HubConfig) -> list[Problem]:
    root, keys, me = config.data_dir, config.keys_dir, os.geteuid()
    st = root.stat()
    found: list[Problem] = []
    if st.st_uid != me:
        found.append(
            Problem(
                f"the data folder {root} belongs to uid {st.st_uid}, not to this user (uid {me})",
                f"chown -R {me} {root}  (or run the hub as its owner)",
            )
        )
    if not os.access(root, os.W_OK | os.X_OK):
        found.append(Problem(f"the data folder {root} is not writable", f"chmod u+rwx {root}"))
    if keys.is_dir():
        mode = stat.S_IMODE(keys.stat().st_mode)
        if mode & 0o077:
            found.append(
                Problem(
                    f"{keys} is readable by group or others (mode {mode:04o})",
                    f"chmod 700 {keys}",
                )
            )
        for stem in KEY_STEMS:
            key = keys / f"{stem}.key"
            if not key.is_file():
                continue
            kst = key.stat()
            if stat.S_IMODE(kst.st_mode) & 0o077:
                found.append(
                    Problem(
                        f"the key file {key} is readable by group or others "
                        f"(mode {stat.S_IMODE(kst.st_mode):04o})",
                        f"chmod 600 {keys}/*.key",
                    )
                )
            if kst.st_uid != me:
                found.append(
                    Problem(
                        f"the key file {key} belongs to uid {kst.st_uid}, not to uid {me}",
                        f"chown -R {me} {keys}",
                    )
                )
    return found


def bind_problem(host: str, port: int, exc: OSError) -> Problem:
    where = f"{host}:{port}"
    choose = "choose another port with --port N"
    if exc.errno == errno.EADDRINUSE:
        return Problem(
            f"{where} is already in use by another program",
            f"stop it (`ss -ltnp 'sport = :{port}'` shows which), or {choose}",
        )
    if exc.errno == errno.EACCES:
        return Problem(f"{where}: permission denied (a port below 1024 needs privileges)", choose)
    if exc.errno == errno.EADDRNOTAVAIL:
        return Problem(f"{where}: {host} is not an address of this machine", "pass --host")
    return Problem(f"cannot listen on {where}: {exc.strerror}", choose)


def port_problem(host: str, port: int) -> Problem | None:
    """None if ``host:port`` can be bound now (port 0 always can)."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return Problem(f"the address {host!r} does not resolve: {exc.strerror}", "pass --host")
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                return bind_problem(host, port, exc)
    return None


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        fixes = list(dict.fromkeys(p.fix for p in problems))
        raise HubConfigError(
            "the hub cannot start:" + "".join(f"\n  - {p.what}" for p in problems),
            hint="\n  → ".join(fixes),
        )


def check_startup(config: HubConfig, *, host: str, port: int) -> None:
    """Raise :class:`HubConfigError` with every fault found (exit 3), else return."""
    if not config.data_dir.is_dir():
        raise HubConfigError(
            f"the hub's data folder {config.data_dir} does not exist",
            hint=f"sceau hub init --data {config.data_dir}",
        )
    problems = permission_problems(config) + missing_files(config)
    taken = port_problem(host, port)
    if taken is not None:
        problems.append(taken)
    raise_problems(problems)
