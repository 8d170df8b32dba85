"""Serving a hit from the cached entry (local/cloudfront/conditional.py): Age, Range,
If-None-Match, If-Modified-Since, If-Range."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from local.cloudfront.conditional import serve_from_entry
from local.cloudfront.store import Entry, age
from tests.local.cloudfront.conftest import MODIFIED, headers_of

BODY = bytes(range(100))


def stored() -> Entry:
    headers = [("ETag", '"abc"'), ("Last-Modified", MODIFIED), ("Content-Type", "application/octet-stream"),
               ("Content-Length", "100"), ("Age", "3")]  # fmt: skip
    return Entry(200, headers, BODY, 1000.0, 60)


def serve(method: str = "GET", **headers: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return serve_from_entry(stored(), method, {k.replace("_", "-"): v for k, v in headers.items()}, now=1012.7)


def test_whole_object_with_age():
    status, headers, body = serve()
    assert (status, body) == (200, BODY)
    assert headers_of(headers, "Age") == ["12"]
    assert headers_of(headers, "Content-Length") == ["100"]
    assert age(stored(), 1012.7) == 12
    status, head_headers, body = serve("HEAD")
    assert (status, body) == (200, b"")
    assert headers_of(head_headers, "Content-Length") == ["100"]


@pytest.mark.parametrize(("range_", "first", "last"), [
    ("bytes=0-9", 0, 9),
    ("bytes=90-", 90, 99),
    ("bytes=-10", 90, 99),
    ("bytes=95-500", 95, 99),
    ("bytes=-500", 0, 99),
])  # fmt: skip
def test_range_from_the_cached_object(range_, first, last):
    status, headers, body = serve(range=range_)
    assert status == 206
    assert body == BODY[first : last + 1]
    assert headers_of(headers, "Content-Range") == [f"bytes {first}-{last}/100"]
    assert headers_of(headers, "Content-Length") == [str(last - first + 1)]


@pytest.mark.parametrize(
    "range_", ["bytes=abc", "items=0-1", "bytes=5-1", "bytes=", "bytes=20-30,0-5", "bytes=0-10,5-20"]
)
def test_malformed_range_gets_the_whole_object(range_):
    status, _, body = serve(range=range_)
    assert (status, body) == (200, BODY)


def test_unsatisfiable_range_is_416():
    status, headers, body = serve(range="bytes=100-200")
    assert (status, body) == (416, b"")
    assert headers_of(headers, "Content-Range") == ["bytes */100"]


def test_multiple_ranges_are_multipart():
    status, headers, body = serve(range="bytes=0-1,10-11")
    assert status == 206
    (content_type,) = headers_of(headers, "Content-Type")
    assert content_type.startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-1/100" in body and b"Content-Range: bytes 10-11/100" in body
    assert BODY[10:12] in body


@pytest.mark.parametrize(("headers", "status"), [
    ({"if_none_match": '"abc"'}, 304),
    ({"if_none_match": 'W/"abc"'}, 304),
    ({"if_none_match": '"x", "abc"'}, 304),
    ({"if_none_match": "*"}, 304),
    ({"if_none_match": '"other"'}, 200),
    ({"if_modified_since": MODIFIED}, 304),
    ({"if_modified_since": formatdate(1_000_100, usegmt=True)}, 304),
    ({"if_modified_since": formatdate(999_000, usegmt=True)}, 200),
    ({"if_modified_since": "garbage"}, 200),
    ({"if_none_match": '"other"', "if_modified_since": MODIFIED}, 200),  # If-None-Match takes precedence
])  # fmt: skip
def test_conditional_requests(headers, status):
    got, out, body = serve(**headers)
    assert got == status
    if status == 304:
        assert body == b"" and headers_of(out, "ETag") == ['"abc"'] and headers_of(out, "Content-Type") == []


def test_if_none_match_is_ignored_without_an_etag():
    plain = Entry(200, [("Last-Modified", MODIFIED)], BODY, 1000.0, 60)
    assert serve_from_entry(plain, "GET", {"if-none-match": "*"}, 1001.0)[0] == 200
    assert serve_from_entry(plain, "GET", {"if-none-match": "*", "if-modified-since": MODIFIED}, 1001.0)[0] == 304


@pytest.mark.parametrize(("if_range", "status"), [('"abc"', 206), ('"old"', 200), (MODIFIED, 206)])
def test_if_range(if_range, status):
    assert serve(range="bytes=0-1", if_range=if_range)[0] == status


def test_errors_are_served_as_stored():
    error = Entry(404, [("Content-Type", "application/xml")], b"<Error/>", 1000.0, 10)
    status, headers, body = serve_from_entry(error, "GET", {"range": "bytes=0-1", "if-none-match": "*"}, 1001.0)
    assert (status, body) == (404, b"<Error/>")
    assert headers_of(headers, "Age") == ["1"]
