"""The HTTP stack of the local stand-in: aiohttp servers and clients on one event loop.

Every server of a local stack (edge, MRAP endpoint, control API) runs on one asyncio
loop in a background thread, so synchronous code (tests, ``python -m local``) can
start and stop them. aiohttp frames requests (Content-Length / chunked, no
Content-Length with Transfer-Encoding, limits on the request line, header size and
count); this module adds what it leaves open:

- a *request-head timeout*: a connection that has not delivered a complete request
  head within ``header_timeout`` seconds of opening is closed (slowloris), and an
  idle keep-alive connection is closed after ``idle_timeout`` (aiohttp's keep-alive
  timer, which also closes a connection whose next request head stays incomplete);
- ``raw_targets``: the viewer-facing edge accepts raw UTF-8 bytes in the request
  target, as CloudFront does, with aiohttp's pure-Python request parser (llhttp,
  its C parser, refuses any byte above 0x7f there). Same framing rules otherwise.

Usage::

    loop = LoopThread()
    server = HttpServer(loop, handler, port=0, idle_timeout=5)   # handler: async (request) -> response
    server.address                                                # ("127.0.0.1", 41234)
    server.close(); loop.close()
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.http_parser import HttpRequestParserPy
from aiohttp.web_protocol import RequestHandler

T = TypeVar("T")
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

# aiohttp's limits per line; the edge checks CloudFront's own quotas (a request head of
# 20,480 bytes, a URL of 8,192) itself and takes request lines up to the first of them.
MAX_LINE = 8190
MAX_FIELD = 8190
MAX_HEADERS = 100


class LoopThread:
    """One asyncio event loop in a daemon thread."""

    def __init__(self, name: str = "local-http") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        """Run a coroutine on the loop from another thread and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(drain(), timeout=10)
        except Exception:  # noqa: S110 (closing anyway)
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def _handler_class(header_timeout: float, raw_targets: bool, max_line: int,
                   line_too_long: Callable[[], web.StreamResponse] | None) -> type[RequestHandler]:  # fmt: skip
    class Protocol(RequestHandler):
        def __init__(self, manager: Any, **kwargs: Any) -> None:
            super().__init__(manager, **kwargs)
            if raw_targets:
                self._parser = HttpRequestParserPy(  # type: ignore[assignment]
                    self,
                    kwargs["loop"],
                    kwargs.get("read_bufsize", 2**16),
                    max_line_size=max_line,
                    max_field_size=kwargs.get("max_field_size", MAX_FIELD),
                    max_headers=kwargs.get("max_headers", MAX_HEADERS),
                    payload_exception=web.RequestPayloadError,
                    auto_decompress=False,
                    max_msg_queue_size=self._max_msg_queue_size,
                )

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            # Arm aiohttp's keep-alive check for the first request too: if the head
            # is not complete by then (the handler still waits for a message), it
            # closes the connection. After each response aiohttp re-arms it with
            # the idle timeout.
            self._keepalive = True
            self._next_keepalive_close_time = self._loop.time() + header_timeout
            self._keepalive_handle = self._loop.call_at(self._next_keepalive_close_time, self._process_keepalive)

        def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                         message: str | None = None) -> web.StreamResponse:  # fmt: skip
            # A request line over ``max_line`` gets the server's own answer (the edge:
            # CloudFront's 413), not aiohttp's 400; the connection closes either way.
            if line_too_long is not None and isinstance(exc, LineTooLong) and exc.args[1] == max_line:
                response = line_too_long()
                response.force_close()
                return response
            return super().handle_error(request, status, exc, message)

    return Protocol


class _Server(web.Server):
    def __init__(self, handler: Handler, protocol: type[RequestHandler], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)  # type: ignore[arg-type]
        self._protocol = protocol

    def __call__(self) -> RequestHandler:
        return self._protocol(self, loop=self._loop, **self._kwargs)


class HttpServer:
    """An aiohttp server on 127.0.0.1 that sends every request to ``handler``."""

    def __init__(
        self,
        loop: LoopThread,
        handler: Handler,
        port: int = 0,
        *,
        idle_timeout: float = 5.0,
        header_timeout: float = 10.0,
        raw_targets: bool = False,
        max_headers: int = MAX_HEADERS,
        max_line: int = MAX_LINE,
        line_too_long: Callable[[], web.StreamResponse] | None = None,
        backlog: int = 1024,
    ) -> None:
        self._loop = loop
        self._runner: web.ServerRunner | None = None

        async def start() -> tuple[str, int]:
            server = _Server(
                handler,
                _handler_class(header_timeout, raw_targets, max_line, line_too_long),
                keepalive_timeout=idle_timeout,
                max_line_size=max_line,
                max_field_size=MAX_FIELD,
                max_headers=max_headers,
                auto_decompress=False,
                access_log=None,
                handler_cancellation=True,
            )
            runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", port, backlog=backlog, reuse_address=True)
                await site.start()
            except BaseException:
                await runner.cleanup()
                raise
            self._runner = runner
            sock = site._server.sockets[0]  # type: ignore[union-attr]
            return sock.getsockname()[:2]

        self.address: tuple[str, int] = loop.run(start())

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None and not self._loop.loop.is_closed():
            try:
                self._loop.run(runner.cleanup(), timeout=15)
            except Exception:  # noqa: S110 (the loop is going away)
                pass


class ForwardingServer:
    """An ``HttpServer`` that forwards to an upstream through one aiohttp client session,
    on a given loop or a loop of its own (the edge to its origins, the MRAP to the buckets).

    The session sends only the headers it is given (no ``Accept``, ``User-Agent`` ...) and
    passes bodies through undecoded. ``close`` stops the server, then the session, then
    ``_before_loop_close``, then the loop if it is its own."""

    def __init__(
        self,
        loop: LoopThread | None,
        thread_name: str,
        handler: Handler,
        port: int,
        *,
        connections: int,
        upstream_keepalive: float,
        **server_options: Any,
    ) -> None:
        self._own_loop = loop is None
        self._loop = loop or LoopThread(thread_name)
        self._session: aiohttp.ClientSession | None = None
        self._connections = connections
        self._upstream_keepalive = upstream_keepalive
        self._http = HttpServer(self._loop, handler, port, **server_options)
        self.address = self._http.address

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=self._upstream_keepalive),
                auto_decompress=False,
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            )
        return self._session

    def _before_loop_close(self) -> None:
        """What a subclass stops after its server and session, before the loop goes."""

    def close(self) -> None:
        self._http.close()
        if self._session is not None and not self._loop.loop.is_closed():
            try:
                self._loop.run(self._session.close(), timeout=10)
            except Exception:  # noqa: S110 (closing anyway)
                pass
            self._session = None
        self._before_loop_close()
        if self._own_loop:
            self._loop.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound now (for one clear line before starting)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def response_headers(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[str, str]]:
    """An upstream response's headers as text: UTF-8, or Latin-1 when the bytes are not
    UTF-8 (moto writes non-ASCII values that way), so aiohttp re-sends the same
    characters instead of dropping undecodable bytes."""
    out = []
    for name, value in raw:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        out.append((name.decode("latin-1"), text))
    return out


def free_port_pair() -> int:
    """A port p with p + 1 free too (edge and control API), bounded tries."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and port_free(port + 1):
            return port
    raise OSError("no two adjacent free ports on 127.0.0.1")
