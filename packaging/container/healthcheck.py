"""The container's health check: GET /healthz on the service, exit 0 if it answers 200.

Where to ask is read from the service's own command line (the container's sceau
process). A hub serves only HTTPS, on ``--port`` (default 8443), with a certificate
from its own CA (``<data>/keys/ca.pem``): the chain is checked against that CA, but
not the name, as the certificate names what ``hub init --host`` was given, which need
not include 127.0.0.1 (this is a liveness probe over loopback, not a client). A
gateway's LAN API is plain HTTP, on ``--port`` or else the ``lan_port`` of its
``<data>/gateway.yaml`` (or legacy gateway.json; default 8080). SCEAU_HEALTHZ_URL (and SCEAU_HEALTHZ_CA, a CA
file for an https URL) override all that. Standard library only: it runs with the image's
Python, beside the service.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import sys
import urllib.request
from pathlib import Path


def _service_args() -> list[str]:
    """The sceau process's arguments: PID 1, or the first sceau process found."""
    candidates = [Path("/proc/1/cmdline"), *sorted(Path("/proc").glob("[0-9]*/cmdline"))]
    for cmdline in candidates:
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(a.endswith("/sceau") or a == "sceau" for a in args) and "run" in args:
            return args
    return []


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def target() -> tuple[str, str | None, bool]:
    """The URL to ask, the CA file to verify it with (None: the system's), and whether
    the certificate must name the URL's host."""
    if url := os.environ.get("SCEAU_HEALTHZ_URL"):
        return url, os.environ.get("SCEAU_HEALTHZ_CA"), True
    args = _service_args()
    data = Path(_option(args, "--data") or "/var/lib/sceau")
    port = _option(args, "--port")
    if "hub" in args:
        ca = str(data / "keys" / "ca.pem")
        return f"https://127.0.0.1:{port or 8443}/healthz", ca, False
    if port is None:
        port = _lan_port(data)
    return f"http://127.0.0.1:{port}/healthz", None, True


def _lan_port(data: Path) -> str:
    """``lan_port`` of gateway.yaml (a top-level ``lan_port: N`` line; no YAML parser in
    the standard library), else of a legacy gateway.json, else 8080."""
    try:
        found = re.search(
            r"^lan_port:\s*([0-9]+)\s*(#.*)?$", (data / "gateway.yaml").read_text(), re.M
        )
        if found:
            return found.group(1)
    except OSError:
        pass
    try:
        return str(json.loads((data / "gateway.json").read_text())["lan_port"])
    except (OSError, ValueError, KeyError):
        return "8080"


def main() -> int:
    url, ca, check_name = target()
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = check_name
    try:
        with urllib.request.urlopen(url, timeout=4, context=context) as answer:  # noqa: S310
            return 0 if answer.status == 200 else 1
    except (OSError, ssl.SSLError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
