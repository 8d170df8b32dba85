"""One JSON line per decision on stdout (CloudWatch Logs in the replica's Region).

Only the fields passed in are written, and callers never pass credentials,
signatures or query strings (they may carry tokens).

Usage::

    log = JsonLogger("INFO")
    log.info("signed", request_id="abc", uri="/k", ms=0.4)
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class JsonLogger:
    __slots__ = ("_stream", "_threshold")

    def __init__(self, level: str, stream: TextIO | None = None) -> None:
        self._threshold = _LEVELS[level]
        self._stream = stream

    def enabled(self, level: str) -> bool:
        return _LEVELS[level] >= self._threshold

    def _write(self, level: str, event: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < self._threshold:
            return
        line = json.dumps({"level": level, "event": event, **fields}, default=str, separators=(",", ":"))
        (self._stream or sys.stdout).write(line + "\n")

    def debug(self, event: str, **fields: Any) -> None:
        self._write("DEBUG", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._write("INFO", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._write("WARNING", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._write("ERROR", event, fields)
