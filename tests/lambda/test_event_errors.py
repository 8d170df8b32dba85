"""What a malformed event's error says: the fields at fault, by their place in the event."""

from __future__ import annotations

import pytest

from mrap_edge.event import EventError, parse_event
from tests.conftest import make_event


def _req(event: dict) -> dict:
    return event["Records"][0]["cf"]["request"]


def broken(**changes) -> dict:
    event = make_event()
    for name, value in changes.items():
        if name == "requestId":
            event["Records"][0]["cf"]["config"]["requestId"] = value
        elif name in ("domainName", "path"):
            _req(event)["origin"]["custom"][name] = value
        else:
            _req(event)[name] = value
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (broken(method=None), "request.method missing or not a string"),
        (broken(uri=1, querystring=[]), "request.uri, request.querystring missing or not a string"),
        (broken(requestId=5), "config.requestId missing or not a string"),
        (broken(domainName=None, path=0), "origin.domainName, origin.path missing or not a string"),
        (broken(requestId=""), "cf.config.requestId is empty"),
        (broken(uri="k"), "request.uri does not start with '/'"),
        (broken(path="p"), "origin.custom.path must be '' or start with '/'"),
        (broken(headers=[]), "request.headers and origin customHeaders must be objects"),
        ({"Records": []}, "no list index out of range in the event's Records[0].cf config or request"),
        ({"Records": [{"cf": {"config": {}}}]}, "no 'requestId' in the event's Records[0].cf config or request"),
    ],
)
def test_malformed_event_message(event: dict, message: str) -> None:
    with pytest.raises(EventError) as err:
        parse_event(event)
    assert str(err.value) == message


def test_both_origin_kinds_is_refused() -> None:
    event = make_event()
    _req(event)["origin"]["s3"] = {"domainName": "b.s3.amazonaws.com", "path": ""}
    with pytest.raises(EventError) as err:
        parse_event(event)
    assert str(err.value) == "request.origin must hold exactly one of 'custom' or 's3'"


def test_optional_fields_default() -> None:
    event = make_event()
    for name in ("querystring", "headers"):
        del _req(event)[name]
    del _req(event)["origin"]["custom"]["path"]
    del _req(event)["origin"]["custom"]["customHeaders"]
    req = parse_event(event)
    assert (req.querystring, req.headers, req.origin_path, req.custom_headers) == ("", {}, "", {})
