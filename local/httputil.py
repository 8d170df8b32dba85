"""Small HTTP helpers shared by the local edge and MRAP endpoint."""

from __future__ import annotations

import http.client
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
     "te", "trailer", "transfer-encoding", "upgrade"}
)  # fmt: skip
CHUNK = 64 * 1024


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # a few hundred concurrent viewers over loopback

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            return  # the peer went away: routine for an HTTP server
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        pass  # each server writes its own access log line

    def version_string(self) -> str:
        return self.server_version

    def send_all(self, status: int, headers: Iterable[tuple[str, str]], body: bytes, head: bool = False) -> None:
        self.send_response(status)
        sent_length = False
        for name, value in headers:
            if name.lower() in HOP_BY_HOP:
                continue
            if name.lower() == "content-length":
                sent_length = True
            self.send_header(name, value)
        if not sent_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def stream(self, status: int, headers: Iterable[tuple[str, str]], response: http.client.HTTPResponse,
               head: bool) -> int:  # fmt: skip
        """Relay an upstream response; returns the number of body bytes sent."""
        self.send_response(status)
        length = response.getheader("Content-Length")
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if length is None and not head and status not in (204, 304):
            body = response.read()  # no length upstream: buffer to send one
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return len(body)
        self.end_headers()
        sent = 0
        if head or status in (204, 304):
            response.read()
            return 0
        while chunk := response.read(CHUNK):
            self.wfile.write(chunk)
            sent += len(chunk)
        return sent


class BackgroundServer:
    """A threaded HTTP server on 127.0.0.1 that sends every method to ``serve(handler)``."""

    def __init__(self, serve: Callable[[Handler], None], server_version: str, port: int = 0) -> None:
        class AnyMethod(Handler):
            def do_GET(self) -> None:
                serve(self)

            do_HEAD = do_OPTIONS = do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

        AnyMethod.server_version = server_version
        self._server = Server(("127.0.0.1", port), AnyMethod)
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
