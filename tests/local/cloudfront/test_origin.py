"""The origin side of the edge: a response head CloudFront cannot pass on is a logged 502
(never an unhandled 500), and origin connections are not held by slow viewers: the body
is spooled, the connection returns to the pool, other misses are served."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from tests.local.cloudfront.conftest import response
from tests.local.helpers import request


@pytest.mark.parametrize("value", [b"a\x01b", b"tab\tok\x7f", b"\x1b[31mred"])
def test_a_control_character_in_an_origin_header_is_a_logged_502(edge_with_origin, value: bytes) -> None:
    edge, log = edge_with_origin(lambda _target: response(b"body\n", b"X-Odd: " + value))
    status, headers, body = request(edge, "GET", "/odd.txt")
    assert status == 502 and b"Bad origin response" in body
    assert headers["x-cache"] == "Error from cloudfront"
    assert any("control character in origin response header 'X-Odd'" in line for line in log)
    log.wait_for("-> 502 passed-through+bad-origin-response", 0)


def test_an_origin_head_over_20480_bytes_is_a_502(edge_with_origin) -> None:
    pads = [b"X-Pad-%d: %b" % (i, b"p" * 7000) for i in range(3)]
    edge, log = edge_with_origin(lambda _target: response(b"body\n", *pads))
    status, _, _ = request(edge, "GET", "/big-head.txt")
    assert status == 502
    assert any("over CloudFront's 20480" in line for line in log)


def test_slow_viewers_do_not_hold_origin_connections(edge_with_origin) -> None:
    """Two origin connections at most; four viewers start 8 MB downloads and stop reading.
    Another miss is still served at once, and so are the slow ones' bodies in the end."""
    big = bytes(range(256)) * (8 * 4096)  # 8 MiB: more than the sockets between them buffer
    edge, _ = edge_with_origin(lambda target: response(b"small\n" if b"small" in target else big),
                               origin_connections=2, max_cached_body=1024)  # fmt: skip
    slow = []
    for i in range(4):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(edge.address)
        sock.sendall(b"GET /big-%d.bin HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        assert sock.recv(64).startswith(b"HTTP/1.1 200 ")  # the answer started; now the viewer stalls
        slow.append(sock)
    try:
        started = time.monotonic()
        status, _, body = request(edge, "GET", "/small.txt")
        assert (status, body) == (200, b"small\n")
        assert time.monotonic() - started < 5
    finally:
        for i, sock in enumerate(slow):
            received = b""
            while len(received) < len(big) + 100 and (chunk := sock.recv(1 << 20)):
                received += chunk
            sock.close()
            assert received.endswith(big[-4096:]), i


def test_an_origin_that_stops_sending_is_a_504_after_its_response_timeout(edge_with_origin) -> None:
    def stall(_target: bytes) -> bytes:
        time.sleep(2.5)
        return response(b"late\n")

    edge, _ = edge_with_origin(stall)
    edge.primary.read_timeout = 1  # the template's OriginReadTimeout (30 s by default)
    started = time.monotonic()
    conn = http.client.HTTPConnection(*edge.address, timeout=10)
    conn.request("GET", "/stalled.txt")
    assert conn.getresponse().status == 504
    assert time.monotonic() - started < 2.4
    conn.close()
