"""The container's health check: GET /healthz, exit 0 if it answers 200.

The URL comes from SCEAU_HEALTHZ_URL (default http://127.0.0.1:8080/healthz). For an
https URL, SCEAU_HEALTHZ_CA names the CA file to verify the service's certificate with.
Standard library only: it runs with the image's Python, outside the sceau process.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request

url = os.environ.get("SCEAU_HEALTHZ_URL", "http://127.0.0.1:8080/healthz")
ca = os.environ.get("SCEAU_HEALTHZ_CA")
context = ssl.create_default_context(cafile=ca) if ca else None
try:
    with urllib.request.urlopen(url, timeout=4, context=context) as answer:  # noqa: S310
        sys.exit(0 if answer.status == 200 else 1)
except OSError as exc:
    print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
