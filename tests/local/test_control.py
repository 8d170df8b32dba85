"""The control API is for the developer's own tools: a web page they visit cannot call it
(no simple cross-site POST, no foreign Origin, no DNS-rebound Host)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from local.stack import LocalStack
from tests.local.helpers import Log

JSON = "application/json"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(log=Log(), concurrency=1, with_failover=False, control_port=0) as stack:
        yield stack


def call(stack: LocalStack, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict]:
    assert stack.control is not None
    conn = http.client.HTTPConnection(*stack.control.address, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_posts_need_a_json_content_type(stack: LocalStack) -> None:
    # What an HTML form or a no-preflight fetch() can send: refused, nothing purged.
    for kind in (None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        headers = {"Content-Type": kind} if kind else {}
        status, error = call(stack, "POST", "/cache/purge", headers, b"{}")
        assert (status, error["Error"]["Code"]) == (415, "UnsupportedMediaType"), kind
        assert call(stack, "POST", "/buckets/local-bucket-one/down", headers)[0] == 415
    assert all(b["up"] for b in stack.buckets_state())
    assert call(stack, "POST", "/cache/purge", {"Content-Type": "application/json; charset=utf-8"}, b"{}") == (
        200, {"purged": 0},
    )  # fmt: skip


def test_a_foreign_origin_is_refused(stack: LocalStack) -> None:
    port = stack.control.address[1]
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{port + 5}", "http://localhost"):
        status, error = call(stack, "POST", "/buckets/local-bucket-one/down", {"Content-Type": JSON, "Origin": origin})
        assert (status, error["Error"]["Code"]) == (403, "Forbidden"), origin
        assert call(stack, "GET", "/buckets", {"Origin": origin})[0] == 403
    assert all(b["up"] for b in stack.buckets_state())
    assert call(stack, "GET", "/buckets", {"Origin": f"http://127.0.0.1:{port}"})[0] == 200


def test_only_its_own_host_is_answered(stack: LocalStack) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 still says Host: evil.example."""
    port = stack.control.address[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 5}", "127.0.0.1"):
        status, error = call(stack, "GET", "/routes", {"Host": host})
        assert (status, error["Error"]["Code"]) == (403, "Forbidden"), host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert call(stack, "GET", "/routes", {"Host": host})[0] == 200, host
