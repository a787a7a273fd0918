"""What every benchmark writes beside its figures: which command, when, on what machine."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def write_results(
    name: str, figures: dict[str, Any], *, started: float, path: Path
) -> dict[str, Any]:
    """``figures`` with the run's header (benchmark, command, time, load, CPUs, Python)
    and its wall time, written as JSON to ``path``; the whole record is returned."""
    out = {
        "benchmark": name,
        "command": f"python bench/{Path(sys.argv[0]).name} " + " ".join(sys.argv[1:]),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_1min": list(os.getloadavg()[:2]),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **figures,
        "wall_seconds": time.perf_counter() - started,
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out
