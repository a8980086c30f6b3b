"""JSON logs, one object per line. Messages and fields never carry personal data: log routes,
codes and ids, never bodies, query strings or attribute values."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


_encoder = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with its ``extra`` fields."""

    _second: tuple[int, str] = (-1, "")  # a second and its ISO 8601 date and time

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return _encoder.encode(entry)

    def _time(self, created: float) -> str:
        """``created`` in ISO 8601 UTC with microseconds; the date part is made once a second."""
        second, prefix = self._second
        if int(created) != second:
            second = int(created)
            prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, prefix)  # one assignment: threads see both or neither
        return f"{prefix}.{min(round((created - second) * 1e6), 999_999):06d}+00:00"


def configure_logging(level: str) -> None:
    """Send every ``baobab`` and server log line to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("baobab", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # our access log has no query strings
