from __future__ import annotations

import pytest

from mrap_edge.decide import Action, decide, is_mrap_domain
from mrap_edge.event import parse_event
from tests.conftest import make_event


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com", True),
        ("MFZWI23GNJVGW.MRAP.AccessPoint.S3-Global.AmazonAWS.com", True),
        ("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com.", True),
        ("accesspoint.s3-global.amazonaws.com", False),
        (".accesspoint.s3-global.amazonaws.com", False),
        ("bucket.s3.eu-west-1.amazonaws.com", False),
        ("example.com", False),
        ("x.accesspoint.s3-global.amazonaws.com.evil.example", False),
    ],
)
def test_is_mrap_domain(domain: str, expected: bool) -> None:
    assert is_mrap_domain(domain) is expected


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reads_to_an_mrap_are_signed(method: str) -> None:
    assert decide(parse_event(make_event(method=method)), "originTypeFailover").action is Action.SIGN


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "get"])
def test_other_methods_are_refused(method: str) -> None:
    assert decide(parse_event(make_event(method=method)), "originTypeFailover").action is Action.REJECT_METHOD


@pytest.mark.parametrize("name", ["originTypeFailover", "origintypefailover", "ORIGINTYPEFAILOVER"])
def test_failover_header_passes_through_in_any_case(name: str) -> None:
    event = make_event(custom_headers={name: "true"})
    assert decide(parse_event(event), "originTypeFailover").action is Action.PASS_THROUGH


def test_failover_header_name_comes_from_config() -> None:
    event = make_event(custom_headers={"x-secondary": "1"})
    assert decide(parse_event(event), "X-Secondary").action is Action.PASS_THROUGH
    assert decide(parse_event(event), "originTypeFailover").action is Action.SIGN


def test_non_mrap_origin_passes_through_even_for_writes() -> None:
    event = make_event(domain="backup-bucket.s3.us-west-2.amazonaws.com", method="POST")
    assert decide(parse_event(event), "originTypeFailover").action is Action.PASS_THROUGH
