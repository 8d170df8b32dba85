"""Calling the origin with the request the function returned: the origin's address
(the stand-in's DNS), CloudFront's timeouts, a head CloudFront can pass on (else 502),
and the response body spooled, so the origin's connection is free again before the
viewer has read anything.

Sources: aws-facts §10, DownloadDistValuesOrigin.html (origin response timeout, default
30 s; origin keep-alive timeout, default 5 s).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import aiohttp
from yarl import URL

from ..web import response_headers
from .answer import Answer, plain
from .event import custom_origin, wire_request

CHUNK = 64 * 1024
CONNECT_TIMEOUT = 10  # CloudFront's default origin connection timeout (DownloadDistValuesOrigin.html)
SPOOL_IN_MEMORY = 1024 * 1024  # per response; the rest of a bigger body waits on disk
MAX_RESPONSE_HEAD = 20_480  # cloudfront-limits.html: a request or an origin response, headers included
# Control characters (HTAB aside) cannot be sent on in a header: RFC 9110 section 5.5.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


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
    """An origin response's body, spooled: read from the origin at the origin's pace (its
    connection goes back to the pool at once, so slow viewers never hold one), kept in
    memory up to ``SPOOL_IN_MEMORY`` bytes and on disk beyond, then streamed to the viewer
    or read (bounded) for the cache."""

    def __init__(self, spool: BinaryIO, length: int) -> None:
        self._spool = spool
        self.length: int | None = length

    @classmethod
    async def spool(cls, upstream: aiohttp.ClientResponse) -> OriginBody:
        """Read the whole body (each read bounded by the origin response timeout)."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        length = 0
        try:
            async for chunk in upstream.content.iter_chunked(CHUNK):
                spool.write(chunk)
                length += len(chunk)
        except BaseException:
            spool.close()
            raise
        finally:
            upstream.release()
        spool.seek(0)
        return cls(spool, length)

    async def read_up_to(self, limit: int) -> tuple[bytes, bool]:
        """Up to ``limit`` bytes and whether that was the whole body; ``chunks`` still
        sends the whole body afterwards."""
        self._spool.seek(0)
        data = self._spool.read(limit)
        self._spool.seek(0)
        return data, len(data) == self.length

    async def chunks(self) -> AsyncIterator[bytes]:
        while chunk := self._spool.read(CHUNK):
            yield chunk

    def release(self) -> None:
        self._spool.close()


def unsafe_header(headers: list[tuple[str, str]]) -> str | None:
    """Why an origin response head cannot be sent on (a control character in a header, or a
    head over CloudFront's 20,480 bytes), or None. CloudFront answers such a response 502."""
    size = 0
    for name, value in headers:
        if CONTROL.search(name) or CONTROL.search(value):
            return f"a control character in origin response header {name!r}"
        size += len(name) + len(value) + 4
    if size > MAX_RESPONSE_HEAD:
        return f"origin response headers of {size} bytes, over CloudFront's {MAX_RESPONSE_HEAD}"
    return None


async def call_origin(session: aiohttp.ClientSession, resolver: dict[str, tuple[str, int, str]],
                      result: dict[str, Any], request_id: str, timings: dict[str, float], decision: str,
                      log: Callable[[str], None]) -> Answer:  # fmt: skip
    """Send the function's request to its origin (adding X-Amz-Cf-Id); the response as an
    Answer whose body is spooled (``OriginBody``)."""
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
    # CloudFront's per-origin timeouts: connecting (10 s; here also the wait for a free
    # pooled connection) and the response timeout between reads (the template's, 30 s).
    read_timeout = settings.get("readTimeout", 30)
    timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT,
                                    sock_read=read_timeout)  # fmt: skip
    try:
        upstream = await session.request(wire.method, url, headers=wire.headers, allow_redirects=False,
                                         timeout=timeout)  # fmt: skip
        headers = response_headers(upstream.raw_headers)
        unsafe = unsafe_header(headers)
        if unsafe is not None:
            upstream.release()
            log(f"edge  502: {unsafe} ({wire.method} {wire.path})")
            return plain(502, b"502 ERROR: The request could not be satisfied. Bad origin response.\n",
                         decision + "+bad-origin-response")  # fmt: skip
        body = await OriginBody.spool(upstream)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return plain(504 if isinstance(exc, TimeoutError) else 502, f"origin connection failed: {exc}\n".encode(),
                     decision)  # fmt: skip
    timings["origin"] = (time.perf_counter() - t0) * 1000
    return Answer(upstream.status, headers, b"", decision, body)
