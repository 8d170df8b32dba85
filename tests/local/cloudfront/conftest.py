"""An edge on its own for the CloudFront tests: the test function of tests/local/fixtures
(no zip needed) and a raw origin whose bytes each test chooses."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local import settings
from local.cloudfront.origin import Origin
from local.cloudfront.server import Edge
from local.lambda_edge.pool import FunctionPool
from tests.local.helpers import Log

FUNCTION = Path(__file__).resolve().parent.parent / "fixtures" / "function"


class RawOrigin:
    """An HTTP origin on 127.0.0.1 that answers every request with ``answer(target)``
    (the whole response as bytes) and closes the connection."""

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.answer = answer
        self.served = 0
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            target = head.split(b" ", 2)[1]
            self.served += 1
            try:
                conn.sendall(self.answer(target))
            except OSError:
                pass

    def close(self) -> None:
        self._sock.close()


def response(body: bytes, *headers: bytes) -> bytes:
    extra = b"".join(h + b"\r\n" for h in headers)
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%bConnection: close\r\n\r\n%b" % (
        len(body), extra, body,
    )  # fmt: skip


@pytest.fixture
def edge_with_origin() -> Iterator[Callable[..., tuple[Edge, Log]]]:
    """edge_with_origin(answer, **edge_options) -> (edge, log); everything closed after the test."""
    opened: list[Edge | RawOrigin | FunctionPool] = []

    def make(answer: Callable[[bytes], bytes], **options: object) -> tuple[Edge, Log]:
        origin = RawOrigin(answer)
        pool = FunctionPool(FUNCTION, size=2)
        log = Log()
        opened.extend([origin, pool])
        resolver = {settings.MRAP_DOMAIN: ("127.0.0.1", origin.port, "")}
        edge = Edge(pool, Origin(settings.MRAP_DOMAIN), resolver, log=log, **options)  # type: ignore[arg-type]
        opened.append(edge)
        return edge, log

    yield make
    for thing in reversed(opened):
        thing.close()
