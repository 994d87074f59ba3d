"""The access log: one JSON line per request, so tests can count what reached the server.

It records the method, the routed target (path and query), the status, the request id, any
injected fault, and `inWindowMs` for a request that arrived while its throttling scope was inside
a 429's Retry-After (how long after that 429), which a well-behaved client never sends. It
never sees headers, so no token can reach it; SAS signatures in the query are masked all the
same.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from amlctl.emulator.wire import Response

_SIG = re.compile(r"(?i)([?&]sig=)[^&]*")


class AccessLog:
    """Appends to a file when given one; does nothing otherwise."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def write(self, method: str, target: str, response: Response, request_id: str) -> None:
        if self._file is None:
            return
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": method,
            "path": _SIG.sub(r"\1REDACTED", target),
            "status": None if response.fault == "reset" else response.status,
            "requestId": request_id,
        }
        if response.fault:
            entry["fault"] = response.fault
        if response.in_window is not None:
            entry["inWindowMs"] = round(response.in_window * 1000)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
