from __future__ import annotations

import copy

import pytest

from mrap_edge.event import EventError, parse_event
from tests.conftest import MRAP_DOMAIN, REQUEST_ID, make_event


def test_parse_event_reads_what_the_signer_needs() -> None:
    event = make_event("/k", "a=1", origin_path="/prefix")
    req = parse_event(event)
    assert (req.method, req.uri, req.querystring) == ("GET", "/k", "a=1")
    assert (req.domain, req.origin_path, req.origin_kind) == (MRAP_DOMAIN, "/prefix", "custom")
    assert req.request_id == REQUEST_ID
    assert req.request is event["Records"][0]["cf"]["request"]


def _broken(mutate):
    event = make_event()
    mutate(event)
    return event


def _req(event):
    return event["Records"][0]["cf"]["request"]


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {},
        {"Records": []},
        {"Records": [{}]},
        {"Records": [{"cf": {"request": {}}}]},
        _broken(lambda e: e["Records"][0]["cf"]["config"].pop("requestId")),
        _broken(lambda e: e["Records"][0]["cf"]["config"].update(requestId="")),
        _broken(lambda e: _req(e).pop("uri")),
        _broken(lambda e: _req(e).update(uri="no-slash")),
        _broken(lambda e: _req(e).update(method=None)),
        _broken(lambda e: _req(e).update(querystring=5)),
        _broken(lambda e: _req(e).update(headers=[])),
        _broken(lambda e: _req(e).pop("origin")),
        _broken(lambda e: _req(e).update(origin={})),
        _broken(lambda e: _req(e)["origin"].update(s3={"domainName": "b.s3.amazonaws.com"})),
        _broken(lambda e: _req(e)["origin"]["custom"].pop("domainName")),
        _broken(lambda e: _req(e)["origin"]["custom"].update(path="nope")),
        _broken(lambda e: _req(e)["origin"]["custom"].update(customHeaders=[])),
    ],
)
def test_malformed_events_raise_event_error(event) -> None:
    before = copy.deepcopy(event)
    with pytest.raises(EventError):
        parse_event(event)
    assert event == before
