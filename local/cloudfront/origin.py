"""Calling the origin with the request the function returned: the origin's address
(the stand-in's DNS), CloudFront's timeouts, and the response body as the edge streams
or stores it.

Sources: aws-facts §10, DownloadDistValuesOrigin.html (origin response timeout, default
30 s; origin keep-alive timeout, default 5 s).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from ..web import response_headers
from .answer import Answer, plain
from .event import custom_origin, wire_request

CHUNK = 64 * 1024
CONNECT_TIMEOUT = 10  # CloudFront's default origin connection timeout (DownloadDistValuesOrigin.html)


@dataclass
class Origin:
    domain: str
    path: str = ""
    custom_headers: dict[str, str] = field(default_factory=dict)
    read_timeout: int = 30
    keepalive_timeout: int = 5
    ssl_protocols: tuple[str, ...] = ("TLSv1.2",)

    def event_origin(self) -> dict[str, Any]:
        origin = custom_origin(self.domain, self.path, self.custom_headers)
        origin["custom"].update(
            readTimeout=self.read_timeout,
            keepaliveTimeout=self.keepalive_timeout,
            sslProtocols=list(self.ssl_protocols),
        )
        return origin


class OriginBody:
    """An origin response's body: streamed to the viewer, or read (bounded) for the cache
    first, in which case what was read is sent before the rest."""

    def __init__(self, upstream: aiohttp.ClientResponse) -> None:
        self._upstream = upstream
        self._prefix = b""

    @property
    def length(self) -> int | None:
        return self._upstream.content_length

    async def read_up_to(self, limit: int) -> tuple[bytes, bool]:
        """Up to ``limit`` bytes and whether that was the whole body; what was read is
        sent again by ``chunks`` if the body is then streamed."""
        data = await self._upstream.content.read(limit)
        self._prefix = data
        return data, self._upstream.content.at_eof()

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._prefix:
            yield self._prefix
        async for chunk in self._upstream.content.iter_chunked(CHUNK):
            yield chunk

    def release(self) -> None:
        self._upstream.release()


async def call_origin(session: aiohttp.ClientSession, resolver: dict[str, tuple[str, int, str]],
                      result: dict[str, Any], request_id: str, timings: dict[str, float],
                      decision: str) -> Answer:  # fmt: skip
    """Send the function's request to its origin (adding X-Amz-Cf-Id); the response as an Answer."""
    wire = wire_request(result, request_id)
    kind = "custom" if "custom" in result["origin"] else "s3"
    settings = result["origin"][kind]
    target = resolver.get(settings["domainName"].lower())
    if target is None:
        return plain(502, b"502 ERROR: origin DNS lookup failed\n", decision)
    host, port, prefix = target
    url = URL.build(scheme="http", host=host, port=port, path=prefix + wire.path, query_string=wire.query,
                    encoded=True)  # fmt: skip
    t0 = time.perf_counter()
    read_timeout = settings.get("readTimeout", 30)
    try:
        upstream = await session.request(
            wire.method, url, headers=wire.headers, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=read_timeout),
        )  # fmt: skip
    except (aiohttp.ClientError, TimeoutError) as exc:
        return plain(504 if isinstance(exc, TimeoutError) else 502, f"origin connection failed: {exc}\n".encode(),
                     decision)  # fmt: skip
    timings["origin"] = (time.perf_counter() - t0) * 1000
    return Answer(upstream.status, response_headers(upstream.raw_headers), b"", decision, OriginBody(upstream))
