from __future__ import annotations

import pytest

from mrap_edge.decide import MAX_URL, SUBRESOURCES, Action, check_target, decide, is_mrap_domain
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


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_reads_to_an_mrap_are_signed(method: str) -> None:
    assert decide(parse_event(make_event(method=method)), "originTypeFailover").action is Action.SIGN


def test_options_to_an_mrap_is_answered_not_signed() -> None:
    assert decide(parse_event(make_event(method="OPTIONS")), "originTypeFailover").action is Action.ANSWER_OPTIONS


def test_options_to_a_failover_origin_passes_through() -> None:
    event = make_event(method="OPTIONS", custom_headers={"originTypeFailover": "true"})
    assert decide(parse_event(event), "originTypeFailover").action is Action.PASS_THROUGH


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


@pytest.mark.parametrize(("path", "query"), [("/", ""), ("", ""), ("/", "list-type=2"), ("/", "versionId=1")])
def test_a_path_without_a_key_is_refused_with_404(path: str, query: str) -> None:
    refusal = check_target(path, query)
    assert refusal is not None and refusal.status == 404


@pytest.mark.parametrize("path", ["/k", "//", "/a/", "/site/index.html"])
def test_any_key_is_a_target(path: str) -> None:
    assert check_target(path, "") is None
    assert check_target(path, "versionId=3&partNumber=1&response-content-type=text%2Fplain") is None


@pytest.mark.parametrize(
    "name", ["acl", "tagging", "torrent", "attributes", "uploadId", "list-type", "ACL", "Legal-Hold"]
)
def test_sub_resources_are_refused_with_403(name: str) -> None:
    for query in (name + "=", f"a=1&{name}=x", f"{name}=&versionId=2"):
        refusal = check_target("/k", query)
        assert refusal is not None and refusal.status == 403 and name.lower() in refusal.reason


def test_plain_read_parameters_are_no_sub_resources() -> None:
    plain = {"versionid", "partnumber"} | {f"response-{h}" for h in ("content-type", "content-disposition",
             "content-language", "content-encoding", "cache-control", "expires")}  # fmt: skip
    assert not plain & SUBRESOURCES
    assert check_target("/k", "aclx=1&xacl=2&tags=3") is None  # whole names only


@pytest.mark.parametrize(
    ("path_len", "query_len", "refused"),
    [(MAX_URL - 1, 0, False), (MAX_URL, 0, True), (MAX_URL - 3, 1, False), (MAX_URL - 2, 1, True), (10, MAX_URL, True)],
)
def test_urls_cloudfront_would_reject_are_refused_with_414(path_len: int, query_len: int, refused: bool) -> None:
    path = "/" + "k" * (path_len - 1)
    query = "q" * query_len
    refusal = check_target(path, query)
    assert (refusal is not None and refusal.status == 414) is refused
    if not refused:
        assert len(path) + (len(query) + 1 if query else 0) < MAX_URL


def test_a_subresource_is_found_by_its_name_even_with_an_equals_in_its_value() -> None:
    # "tagging=a=b": the name is what precedes the first "=".
    assert check_target("/k", "tagging=a=b") is not None
    assert check_target("/k", "versionId=a=tagging") is None
