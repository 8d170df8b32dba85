"""The viewer side of the edge: CloudFront's request quotas (a 413, and the connection
closes) and its idle keep-alive timeout (README: 5 s)."""

from __future__ import annotations

import http.client
import time

from local.cloudfront.viewer import MAX_HEAD, MAX_URL
from tests.local.cloudfront.conftest import response
from tests.local.helpers import raw_exchange


def ok(_target: bytes) -> bytes:
    return response(b"from the origin\n")


def exchange(edge, head: bytes) -> tuple[bytes, float]:
    """The answer to one raw request head, and how long until the edge closed the connection."""
    started = time.monotonic()
    answer = raw_exchange(edge.address, head, timeout=8)
    return answer, time.monotonic() - started


def test_a_head_over_20480_bytes_is_a_413_and_the_connection_closes(edge_with_origin) -> None:
    edge, log = edge_with_origin(ok)
    headers = b"".join(b"X-Pad-%d: %b\r\n" % (i, b"p" * 7000) for i in range(3))  # 3 x 7 KB, each under 8 KB
    head = b"GET /echo-big-head HTTP/1.1\r\nHost: d111111abcdef8.cloudfront.net\r\n" + headers + b"\r\n"
    assert len(head) > MAX_HEAD
    answer, took = exchange(edge, head + b"GET /echo-after HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ") and b"X-Cache: Error from cloudfront" in answer
    assert answer.count(b"HTTP/1.1 ") == 1 and took < 5  # closed at once: nothing after it is served
    log.wait_for("-> 413 refused-too-large", 0)
    assert not any("echo-after" in line for line in log)
    # Just under the quota: served.
    small = b"GET /echo-fits HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 7000 + b"\r\nConnection: close\r\n\r\n"
    assert raw_exchange(edge.address, small).startswith(b"HTTP/1.1 200 ")


def test_a_url_over_8192_bytes_is_a_413(edge_with_origin) -> None:
    edge, _ = edge_with_origin(ok)
    for length, status in ((MAX_URL, b"200"), (MAX_URL + 1, b"413"), (MAX_HEAD + 10, b"413")):
        target = b"/echo-" + b"u" * (length - len(b"/echo-"))
        answer, took = exchange(edge, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer.split(b" ", 2)[1] == status, (length, answer[:80])  # HTTP/1.0 when the line was unread
        assert took < 5


def test_idle_keep_alive_connections_close_after_5_s(edge_with_origin) -> None:
    edge, _ = edge_with_origin(ok)  # the edge's default timeouts, as in make demo
    conn = http.client.HTTPConnection(*edge.address, timeout=10)
    try:
        conn.request("GET", "/echo-1")
        assert conn.getresponse().read()
        time.sleep(4.0)  # idle, but under 5 s: the connection still serves
        conn.request("GET", "/echo-2")
        assert conn.getresponse().read()
        idle_from = time.monotonic()
        assert conn.sock.recv(1024) == b""  # the edge closes it
        assert 4.5 < time.monotonic() - idle_from < 7
    finally:
        conn.close()
