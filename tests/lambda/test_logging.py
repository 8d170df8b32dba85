"""Log levels: at INFO every decision is logged, at WARNING only refusals and errors."""

from __future__ import annotations

import io
import json

import pytest

import lambda_function
from mrap_edge.logs import JsonLogger
from tests.conftest import REQUEST_ID, make_event


def run(monkeypatch: pytest.MonkeyPatch, level: str, event: dict) -> list[dict]:
    stream = io.StringIO()
    monkeypatch.setattr(lambda_function, "LOG", JsonLogger(level, stream))
    lambda_function.lambda_handler(event, None)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


SIGNED = make_event("/k")
PASSED = make_event(domain="failover.s3.eu-west-1.amazonaws.com")
REFUSED = make_event(method="PUT")
FAILED = make_event("/bad%zz")


def test_signed_is_logged_at_info(creds, monkeypatch) -> None:
    [line] = run(monkeypatch, "INFO", SIGNED)
    assert (line["level"], line["event"], line["request_id"]) == ("INFO", "signed", REQUEST_ID)
    assert (line["method"], line["uri"]) == ("GET", "/k") and isinstance(line["ms"], float)


def test_passed_through_is_logged_at_info(creds, monkeypatch) -> None:
    [line] = run(monkeypatch, "INFO", PASSED)
    assert (line["level"], line["event"]) == ("INFO", "passed-through")
    assert line["reason"] == "origin is not a Multi-Region Access Point"
    assert (line["request_id"], line["uri"]) == (REQUEST_ID, "/index.html")


LONG = "/" + "k" * 300


@pytest.mark.parametrize(
    ("event", "level"),
    [
        (make_event(LONG), "INFO"),
        (make_event(LONG, domain="failover.s3.eu-west-1.amazonaws.com"), "INFO"),
        (make_event(LONG + "%zz"), "ERROR"),
    ],
)
def test_logged_uri_is_cut_at_256_characters(creds, monkeypatch, event, level: str) -> None:
    [line] = run(monkeypatch, "INFO", event)
    assert line["level"] == level and line["uri"] == LONG[:256]


def test_signed_line_times_the_invocation_in_milliseconds(creds, monkeypatch) -> None:
    ticks = iter([1.0, 1.0123456])
    monkeypatch.setattr(lambda_function.time, "perf_counter", lambda: next(ticks, 1.0123456))
    [line] = run(monkeypatch, "INFO", SIGNED)
    assert line["ms"] == 12.346


def test_unexpected_failure_is_logged_with_the_request_id(creds, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(lambda_function, "sign_request", boom)
    [line] = run(monkeypatch, "WARNING", SIGNED)
    assert line == {
        "level": "ERROR",
        "event": "rejected",
        "request_id": REQUEST_ID,
        "status": 502,
        "reason": "unexpected ZeroDivisionError",
    }


@pytest.mark.parametrize("event", [SIGNED, PASSED])
def test_decisions_are_silent_at_warning(creds, monkeypatch, event) -> None:
    assert run(monkeypatch, "WARNING", event) == []
    assert run(monkeypatch, "ERROR", event) == []


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING"])
def test_refusals_are_logged_at_warning(creds, monkeypatch, level: str) -> None:
    [line] = run(monkeypatch, level, REFUSED)
    assert (line["level"], line["event"], line["reason"]) == ("WARNING", "rejected", "method PUT is not served")
    assert line["request_id"] == REQUEST_ID


def test_refusals_are_silent_at_error(creds, monkeypatch) -> None:
    assert run(monkeypatch, "ERROR", REFUSED) == []


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
def test_failures_are_logged_at_every_level(creds, monkeypatch, level: str) -> None:
    [line] = run(monkeypatch, level, FAILED)
    assert (line["level"], line["event"], line["request_id"]) == ("ERROR", "rejected", REQUEST_ID)
    assert line["uri"] == "/bad%zz"


def test_malformed_event_is_logged_at_warning(creds, monkeypatch) -> None:
    [line] = run(monkeypatch, "WARNING", {})
    assert (line["level"], line["event"]) == ("ERROR", "rejected") and "malformed" in line["reason"]


def test_the_shipped_level_is_warning() -> None:
    assert lambda_function.CONFIG.log_level == "WARNING"
    assert not lambda_function.LOG.enabled("INFO") and lambda_function.LOG.enabled("WARNING")


@pytest.mark.parametrize(
    ("level", "enabled"),
    [
        ("DEBUG", ["DEBUG", "INFO", "WARNING", "ERROR"]),
        ("INFO", ["INFO", "WARNING", "ERROR"]),
        ("WARNING", ["WARNING", "ERROR"]),
        ("ERROR", ["ERROR"]),
    ],
)
def test_logger_threshold(level: str, enabled: list[str]) -> None:
    stream = io.StringIO()
    log = JsonLogger(level, stream)
    for name in ("DEBUG", "INFO", "WARNING", "ERROR"):
        assert log.enabled(name) is (name in enabled)
        getattr(log, name.lower())(f"e-{name}", n=1)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines == [{"level": name, "event": f"e-{name}", "n": 1} for name in enabled]


def test_log_lines_are_compact_json_on_stdout(capsys) -> None:
    JsonLogger("INFO").info("signed", uri="/k", obj=object)
    out = capsys.readouterr().out
    assert out.startswith('{"level":"INFO","event":"signed","uri":"/k","obj":"<class')
    assert out.endswith("}\n") and out.count("\n") == 1


# Each decision's whole log line, so a field lost or changed on any path fails a test.
OPTIONS = make_event("/k", method="OPTIONS")
BUCKET_LEVEL = make_event("/")
MALFORMED = {"Records": []}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (OPTIONS, {"level": "INFO", "event": "answered", "request_id": REQUEST_ID, "status": 204,
                   "reason": "OPTIONS is answered at the edge; an MRAP serves no OPTIONS", "uri": "/k"}),
        (BUCKET_LEVEL, {"level": "WARNING", "event": "rejected", "request_id": REQUEST_ID, "status": 404,
                        "reason": "the request names no object key (a bucket-level request is never signed)",
                        "uri": "/"}),
        (REFUSED, {"level": "WARNING", "event": "rejected", "request_id": REQUEST_ID, "status": 405,
                   "reason": "method PUT is not served"}),
        (FAILED, {"level": "ERROR", "event": "rejected", "request_id": REQUEST_ID, "status": 502,
                  "uri": "/bad%zz"}),
        (MALFORMED, {"level": "ERROR", "event": "rejected", "status": 502}),
    ],
)  # fmt: skip
def test_each_decision_logs_its_whole_line(creds, monkeypatch, event: dict, expected: dict) -> None:
    [line] = run(monkeypatch, "INFO", event)
    reason = line.pop("reason")
    assert isinstance(reason, str) and reason
    if "reason" in expected:
        assert reason == expected.pop("reason")
    assert line == expected


def test_an_options_line_cuts_its_uri_at_256_characters(creds, monkeypatch) -> None:
    [line] = run(monkeypatch, "INFO", make_event(LONG, method="OPTIONS"))
    assert line["uri"] == LONG[:256]
