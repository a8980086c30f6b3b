"""JSON logs: one object per line, extra fields kept, exceptions named."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from baobab.infra.logging import JsonFormatter, configure_logging


def test_a_record_becomes_one_json_object() -> None:
    record = logging.makeLogRecord(
        {
            "name": "baobab.http",
            "levelname": "INFO",
            "msg": "request %s",
            "args": ("done",),
            "route": "/x",
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "request done"
    assert entry["route"] == "/x"
    assert entry["level"] == "INFO"
    assert entry["time"].endswith("+00:00")


def test_exceptions_are_named_with_their_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("baobab").makeRecord(
            "baobab", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["error_type"] == "ValueError"
    assert "boom" in entry["traceback"]


@pytest.fixture
def restored_loggers() -> Iterator[None]:
    names = ("baobab", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (
            logging.getLogger(n).handlers[:],
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
            logging.getLogger(n).disabled,
        )
        for n in names
    }
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled


@pytest.mark.usefixtures("restored_loggers")
def test_configure_logging_writes_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("baobab.test").info("hello", extra={"request_id": "r1"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(line)["request_id"] == "r1"
    assert logging.getLogger("uvicorn.access").disabled


@pytest.mark.parametrize(
    "created", [1_795_000_000.25, 1_795_000_000.999_999, 1_795_000_001.000_042]
)
def test_times_are_iso_8601_utc_with_microseconds(created: float) -> None:
    formatter = JsonFormatter()  # one formatter across seconds: the cached date part moves on
    for moment in (created - 1, created):
        record = logging.makeLogRecord({"name": "baobab", "msg": "m", "created": moment})
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")
        assert json.loads(formatter.format(record))["time"] == expected
