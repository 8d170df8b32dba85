"""A local CloudFront edge: one cache behavior with an origin-request trigger.

For each viewer request it does what CloudFront does, in CloudFront's order:

1. refuses what CloudFront refuses before any function runs: a method the behavior
   does not allow (403), a GET/HEAD with a body (403); takes the request target as raw
   bytes (raw UTF-8 is the same key as its %-encoding) and accepts absolute-form;
2. drops the viewer headers CloudFront never exposes to functions (X-Real-IP,
   X-Forwarded-Proto, X-Cache, X-Edge-*, X-Accel-*, X-Amz-Cf-*, Connection, Proxy-*,
   Upgrade, ...) and keeps only those the cache policy and origin request policy
   forward, plus what CloudFront adds (Via, X-Forwarded-For, User-Agent, Accept-Encoding);
3. looks the request up in the cache (``local.cloudfront.cache``, the template's cache policy);
   a hit is answered from the cache (Range and conditional requests too), with ``Age``;
4. on a miss builds the origin-request event, invokes the function (a bounded pool of
   the deployment zip's processes), validates the result as CloudFront would (502 with
   the reason), sends the request to the origin adding ``X-Amz-Cf-Id``; with a failover
   origin it acts as an origin group;
5. caches the answer as the template says (TTLs, error caching, generated responses
   too) when its body fits ``max_cached_body``; larger bodies stream through uncached;
6. adds the response headers policy's headers, ``X-Cache``, ``Via``, ``X-Amz-Cf-Pop``
   and ``X-Amz-Cf-Id``, and logs one line: cache, function decision, MRAP route,
   statuses and timings.

Usage::

    edge = Edge(function, primary=Origin(MRAP_DOMAIN), resolver={MRAP_DOMAIN: ("127.0.0.1", 9001, "")})
    edge.address   # ("127.0.0.1", 8080)
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from ..lambda_edge.pool import FunctionError, FunctionPool, PoolBusy
from ..web import ForwardingServer, LoopThread, response_headers
from .event import (
    DISALLOWED,
    DISALLOWED_PREFIXES,
    ValidationError,
    custom_origin,
    origin_request_event,
    validate_result,
    wire_request,
)

EDGE_ID = "0123456789abcdef0123456789abcdef"
POP = "LCL1-P1"
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
     "te", "trailer", "transfer-encoding", "upgrade"}
)  # fmt: skip
# Never exposed to functions (aws-facts §3, [R-ALL]); hop-by-hop headers are the connection's.
HIDDEN = DISALLOWED | HOP_BY_HOP
HIDDEN_PREFIXES = (*DISALLOWED_PREFIXES, "x-accel-", "proxy-")
# CloudFront sets or rewrites these itself.
CLOUDFRONT_MANAGED = frozenset({"host", "via", "x-forwarded-for", "user-agent", "accept-encoding", "content-length"})
# CloudFront forwards Range requests to the origin whatever the policies say, and a
# viewer's conditional headers reach the origin-request event (they are among its
# read-only headers): https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RangeGETs.html
PASS_THROUGH = ("range", "if-range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
# Origin response headers CloudFront removes (aws-facts §10, [CUSTO]).
STRIPPED_RESPONSE = HOP_BY_HOP | {"via", "set-cookie", "x-cache"}
CHUNK = 64 * 1024
METHOD_REFUSED = (
    b"This distribution is not configured to allow the HTTP request method that was used for this request.\n"
)
BODY_REFUSED = b"403 ERROR: The request could not be satisfied. Bad request: a GET or HEAD request with a body.\n"


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


@dataclass
class Behavior:
    allowed_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
    failover: Origin | None = None
    failover_codes: frozenset[int] = frozenset({500, 502, 503, 504})
    default_root_object: str = ""  # served for "/" only, as CloudFront does


@dataclass
class Answer:
    """What the viewer gets (a body, or an origin response still to stream), and what
    the access line reports."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    decision: str = ""
    upstream: aiohttp.ClientResponse | None = None
    generated: bool = False
    cache: str = "-"

    def discard(self) -> None:
        if self.upstream is not None:
            self.upstream.release()
            self.upstream = None


def new_request_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(42)).decode()


def normalize_accept_encoding(value: str | None) -> str | None:
    """CloudFront's normalisation when compression is on in the cache policy."""
    if value is None:
        return None
    offered = {part.split(";")[0].strip().lower() for part in value.split(",")}
    if "br" in offered and "gzip" in offered:
        return "br,gzip"
    if "gzip" in offered:
        return "gzip"
    return None


def encode_target(raw: bytes) -> str:
    """Raw request-target bytes as a URI string: bytes outside printable ASCII become
    %XX (so raw UTF-8 is the same key as its %-encoding, never mojibake)."""
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def split_target(raw: bytes) -> tuple[str, str]:
    """(uri, query) of an origin-form or absolute-form request target."""
    if not raw.startswith(b"/") and b"://" in raw[:16]:
        rest = raw.split(b"://", 1)[1]
        cuts = [i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0]
        raw = rest[min(cuts) :] if cuts else b""
        if not raw.startswith(b"/"):
            raw = b"/" + raw
    raw = raw.split(b"#", 1)[0]
    uri, _, query = raw.partition(b"?")
    return encode_target(uri), encode_target(query)


def has_body_headers(request: web.BaseRequest) -> bool:
    length = request.headers.get("Content-Length", "0").strip()
    return "Transfer-Encoding" in request.headers or length not in ("", "0")


def hidden(name: str) -> bool:
    return name in HIDDEN or name.startswith(HIDDEN_PREFIXES)


class Edge(ForwardingServer):
    def __init__(
        self,
        function: FunctionPool,
        primary: Origin,
        resolver: dict[str, tuple[str, int, str]],
        behavior: Behavior | None = None,
        port: int = 0,
        log: Callable[[str], None] = print,
        *,
        loop: LoopThread | None = None,
        distribution: Any = None,
        cache: Any = None,
        mrap_outcome: Callable[[str], object] | None = None,
        idle_timeout: float = 5.0,
        header_timeout: float = 10.0,
        max_cached_body: int = 8 * 2**20,
        invoke_threads: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function = function
        self.primary = primary
        self.resolver = resolver
        self.behavior = behavior or Behavior()
        self.log = log
        self.distribution = distribution  # local.cloudfront.cache.DistributionModel, or None: forward all
        self.cache = cache  # local.cloudfront.cache.Cache, or None: every request is a miss
        self.mrap_outcome = mrap_outcome or (lambda cf_id: None)
        self.max_cached_body = max_cached_body
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=invoke_threads, thread_name_prefix="edge-invoke")
        self._inflight: dict[Any, asyncio.Future[None]] = {}
        super().__init__(loop, "local-edge", self.serve, port, connections=128,
                         upstream_keepalive=primary.keepalive_timeout, idle_timeout=idle_timeout,
                         header_timeout=header_timeout, raw_targets=True)  # fmt: skip

    def clock(self) -> float:
        """The cache's clock (tests move it), else time.monotonic."""
        return self.cache.clock() if self.cache is not None else self._clock()

    # --- the viewer request --------------------------------------------------------------

    @staticmethod
    def viewer_headers(request: web.BaseRequest) -> dict[str, str]:
        """Viewer headers a function could ever see: lower-case names, repeats joined."""
        out: dict[str, str] = {}
        for name, value in request.headers.items():
            lower = name.lower()
            if hidden(lower):
                continue
            out[lower] = f"{out[lower]},{value}" if lower in out else value
        return out

    def origin_headers(self, viewer: dict[str, str], client: str) -> dict[str, list[str]]:
        """What the cache policy and origin request policy forward, plus what CloudFront adds."""
        if self.distribution is not None:
            forwarded = dict(self.distribution.forwarded_headers(viewer))
            for name in PASS_THROUGH:
                if name in viewer:
                    forwarded[name] = viewer[name]
        else:  # no policy model: the worst case for the function, every viewer header
            forwarded = dict(viewer)
        headers: dict[str, list[str]] = {}
        for name, value in forwarded.items():
            if name not in CLOUDFRONT_MANAGED and not hidden(name):
                headers[name] = [value]
        via = viewer.get("via")
        ours = f"2.0 {EDGE_ID}.cloudfront.net (CloudFront)"
        headers["via"] = [f"{via}, {ours}" if via else ours]
        xff = viewer.get("x-forwarded-for")
        headers["x-forwarded-for"] = [f"{xff}, {client}" if xff else client]
        headers["user-agent"] = ["Amazon CloudFront"]
        if self.distribution is not None:  # the cache policy's gzip/brotli switches decide
            encoding = forwarded.get("accept-encoding")
        else:
            encoding = normalize_accept_encoding(viewer.get("accept-encoding"))
        if encoding:
            headers["accept-encoding"] = [encoding]
        return headers

    async def serve(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = new_request_id()
        timings: dict[str, float] = {}
        method = request.method
        raw = request.raw_path.encode("utf-8", "surrogateescape")
        uri, query = split_target(raw)
        viewer = self.viewer_headers(request)
        close = False
        if method not in self.behavior.allowed_methods:
            answer = Answer(403, [("Content-Type", "text/plain")], METHOD_REFUSED, "refused-method")
        elif method in ("GET", "HEAD") and (request.body_exists or has_body_headers(request)):
            # CloudFront's 403, and the connection closes: aiohttp frames a GET body, but
            # its pure-Python parser reads a HEAD request as bodiless whatever its framing
            # headers say, so bytes after a HEAD are parsed as the next request; closing
            # here drops any such pipelined request unserved.
            answer = Answer(403, [("Content-Type", "text/plain")], BODY_REFUSED, "refused-body")
            close = True
        else:
            try:
                answer = await self.handle(method, uri, query, viewer, request.remote or "127.0.0.1", request_id,
                                           timings)  # fmt: skip
            except Exception as exc:  # a fault of the stand-in itself: a 502 and a log line, never a hang
                self.log(f"edge  internal error on {method} {uri}: {type(exc).__name__}: {exc}")
                answer = Answer(502, [("Content-Type", "text/plain")], b"502 ERROR: local edge fault\n", "edge-error")
        try:
            response, sent = await self.respond(request, answer, viewer, request_id, close)
        finally:
            answer.discard()
        total = (time.perf_counter() - started) * 1000
        parts = " ".join(f"{k}={v:.1f}ms" for k, v in timings.items())
        mrap = self.mrap_outcome(request_id)
        route = f" mrap={mrap}" if mrap else ""
        self.log(f"edge  {method} {uri}{'?' + query if query else ''} -> {answer.status} {answer.decision} "
                 f"cache={answer.cache}{route} {sent}B {parts} total={total:.1f}ms")  # fmt: skip
        return response

    async def respond(self, request: web.BaseRequest, answer: Answer, viewer: dict[str, str], request_id: str,
                      close: bool) -> tuple[web.StreamResponse, int]:  # fmt: skip
        headers = [(k, v) for k, v in answer.headers if k.lower() not in STRIPPED_RESPONSE]
        if self.distribution is not None and answer.decision not in ("refused-method", "refused-body"):
            headers = list(self.distribution.response_headers(viewer, headers))
        if answer.status >= 400:
            x_cache = "Error from cloudfront"
        else:
            x_cache = {"hit": "Hit from cloudfront", "stale": "Hit from cloudfront",
                       "refresh": "RefreshHit from cloudfront"}.get(answer.cache, "Miss from cloudfront")  # fmt: skip
        headers += [
            ("Via", f"1.1 {EDGE_ID}.cloudfront.net (CloudFront)"),
            ("X-Cache", x_cache),
            ("X-Amz-Cf-Pop", POP),
            ("X-Amz-Cf-Id", request_id),
        ]
        if not any(k.lower() == "server" for k, _ in headers):
            headers.append(("Server", "CloudFront"))
        head = request.method == "HEAD"
        if answer.upstream is None and not head:
            # A whole body: aiohttp sends headers and body in one write.
            whole = web.Response(status=answer.status, body=answer.body)
            for name, value in headers:
                if name.lower() != "content-length":
                    whole.headers.add(name, value)
            if close:
                whole.force_close()
            await whole.prepare(request)
            await whole.write_eof()
            return whole, len(answer.body)
        response = web.StreamResponse(status=answer.status)
        length: int | None = None
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
            else:
                response.headers.add(name, value)
        if close:
            response.force_close()
        if answer.upstream is None:
            response.content_length = len(answer.body) if length is None or not head else length
            await response.prepare(request)
            if not head and answer.body:
                await response.write(answer.body)
            await response.write_eof()
            return response, 0 if head else len(answer.body)
        if length is not None:
            response.content_length = length
        await response.prepare(request)
        sent = 0
        if not head and answer.status not in (204, 304):
            async for chunk in answer.upstream.content.iter_chunked(CHUNK):
                await response.write(chunk)
                sent += len(chunk)
        await response.write_eof()
        return response, sent

    async def handle(self, method: str, uri: str, query: str, viewer: dict[str, str], client: str,
                     request_id: str, timings: dict[str, float]) -> Answer:  # fmt: skip
        if uri == "/" and self.behavior.default_root_object:
            uri = "/" + self.behavior.default_root_object
        model, cache = self.distribution, self.cache
        key = None
        if cache is not None and method in model.cached_methods:
            from .cache import serve_from_entry

            key = model.cache_key(method, uri, query, viewer)
            entry = cache.get(key)
            leader = self._inflight.get(key)
            if entry is None and leader is not None:
                # Request collapsing: CloudFront sends one request for an object many
                # viewers ask for at once; the others wait for it and share the answer.
                # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html#request-custom-traffic-spikes
                await asyncio.shield(leader)
                entry = cache.get(key)
            if entry is not None:
                status, headers, body = serve_from_entry(entry, method, viewer, self.clock())
                return Answer(status, list(headers), body, "cached", cache="hit")
            if leader is None and method == "GET" and not any(h in viewer for h in PASS_THROUGH):
                future = asyncio.get_running_loop().create_future()
                self._inflight[key] = future
                try:
                    return await self._miss(method, uri, query, viewer, client, request_id, timings, key)
                finally:
                    del self._inflight[key]
                    future.set_result(None)
        return await self._miss(method, uri, query, viewer, client, request_id, timings, key)

    async def _miss(self, method: str, uri: str, query: str, viewer: dict[str, str], client: str, request_id: str,
                    timings: dict[str, float], key: Any) -> Answer:  # fmt: skip
        model = self.distribution
        if model is not None:
            query = model.forwarded_query(query)
        headers = self.origin_headers(viewer, client)
        # An expired object still held is revalidated: CloudFront asks the origin with
        # its ETag / Last-Modified (a 304 makes it a RefreshHit), and serves it stale when
        # the origin answers 5xx (HTTPStatusCodes.html, Expiration.html).
        stale = None
        if key is not None and method == "GET" and not any(h in viewer for h in PASS_THROUGH):
            stale = self.cache.stale(key)
            if stale is not None:
                from .cache import revalidation_headers

                headers.update({name: [value] for name, value in revalidation_headers(stale).items()})
        answer = await self.through_origin(method, uri, query, headers, self.primary, request_id, timings, "fn")
        failover = self.behavior.failover
        if failover is not None and answer.status in self.behavior.failover_codes and not answer.generated:
            answer.discard()
            answer = await self.through_origin(method, uri, query, headers, failover, request_id, timings, "fn2")
            answer.decision += "+failover"
        if stale is not None:
            kept = self.revalidated(key, stale, answer, viewer)
            if kept is not None:
                answer.discard()
                return kept
        if key is not None:
            answer.cache = "miss"
            await self.store(key, method, viewer, answer)
        return answer

    def revalidated(self, key: Any, stale: Any, answer: Answer, viewer: dict[str, str]) -> Answer | None:
        """The cached object again after a revalidation: 304 (RefreshHit), or 5xx (stale)."""
        from .cache import serve_from_entry

        entry, label = None, ""
        if answer.status == 304:
            fresh = {k.lower() for k, _ in answer.headers}
            merged = [(k, v) for k, v in stale.headers if k.lower() not in fresh | {"date"}]
            merged += [(k, v) for k, v in answer.headers if k.lower() in ("etag", "last-modified", "cache-control",
                                                                           "expires")]  # fmt: skip
            entry = self.cache.refresh(key, self.distribution.ttl(stale.status, merged, False), merged)
            label = "refresh"
        elif answer.status >= 500:
            seconds = self.distribution.stale_for(answer.status)
            if seconds is not None:
                entry = self.cache.extend(key, seconds) or stale
                label = "stale"
        if entry is None:
            return None
        status, headers, body = serve_from_entry(entry, "GET", viewer, self.clock())
        return Answer(status, list(headers), body, f"{answer.decision} origin={answer.status}", cache=label)

    async def store(self, key: Any, method: str, viewer: dict[str, str], answer: Answer) -> None:
        """Cache a full answer to a GET (or another cached method, never HEAD: no body)."""
        from .cache import Entry

        if method == "HEAD" or answer.status in (206, 304) or any(h in viewer for h in PASS_THROUGH):
            return  # partial and conditional answers are not cached (README: simplification)
        ttl = self.distribution.ttl(answer.status, answer.headers, answer.generated)
        if ttl <= 0:
            return
        if answer.upstream is not None:
            length = answer.upstream.content_length
            if length is not None and length > self.max_cached_body:
                answer.cache = "miss-too-big"
                return  # streams through uncached
            body = await answer.upstream.content.read(self.max_cached_body + 1)
            if len(body) > self.max_cached_body or not answer.upstream.content.at_eof():
                # No length and bigger than the bound: serve what was read, then the rest.
                answer.body = body
                answer.cache = "miss-too-big"
                answer.upstream = _Prefixed(body, answer.upstream)  # type: ignore[assignment]
                return
            answer.discard()
            answer.body = body
        self.cache.put(key, Entry(answer.status, list(answer.headers), answer.body, self.clock(), ttl))

    async def through_origin(self, method: str, uri: str, query: str, headers: dict[str, list[str]], origin: Origin,
                             request_id: str, timings: dict[str, float], label: str) -> Answer:  # fmt: skip
        event = origin_request_event(method, uri, query, headers, origin.event_origin(), request_id)
        original = event["Records"][0]["cf"]["request"]
        snapshot = {"method": original["method"], "clientIp": original["clientIp"],
                    "headers": {k: [dict(e) for e in v] for k, v in original["headers"].items()}}  # fmt: skip
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.function.wait
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(self._executor, self.function.invoke, event, deadline)
        except PoolBusy as exc:
            body = f"503 ERROR: Lambda function throttled: {exc}\n".encode()
            return Answer(503, [("Content-Type", "text/plain")], body, "throttled")
        except (FunctionError, TimeoutError) as exc:
            return Answer(503, [("Content-Type", "text/plain")], f"LambdaExecutionError: {exc}\n".encode(), "error")
        timings[label] = (time.perf_counter() - t0) * 1000
        if outcome.error is not None:
            return Answer(503, [("Content-Type", "text/plain")], f"LambdaExecutionError: {outcome.error}\n".encode(),
                          "error")  # fmt: skip
        try:
            validate_result(snapshot, outcome.result)
        except ValidationError as exc:
            body = f"502 ERROR: The Lambda function result failed validation: {exc}\n".encode()
            return Answer(502, [("Content-Type", "text/plain")], body, "invalid-result")
        result = outcome.result
        if "status" in result:
            return self.generated(result)
        decision = "signed" if "authorization" in result.get("headers", {}) and result != original else "passed-through"
        return await self.send_to_origin(result, request_id, timings, decision)

    @staticmethod
    def generated(result: dict[str, Any]) -> Answer:
        body = result.get("body", "")
        data = base64.b64decode(body) if result.get("bodyEncoding") == "base64" else body.encode()
        headers = [(e.get("key", name), e["value"]) for name, entries in result.get("headers", {}).items()
                   for e in entries]  # fmt: skip
        return Answer(int(result["status"]), headers, data, "generated", generated=True)

    async def send_to_origin(self, result: dict[str, Any], request_id: str, timings: dict[str, float],
                             decision: str) -> Answer:  # fmt: skip
        wire = wire_request(result, request_id)
        kind = "custom" if "custom" in result["origin"] else "s3"
        settings = result["origin"][kind]
        target = self.resolver.get(settings["domainName"].lower())
        if target is None:
            return Answer(502, [("Content-Type", "text/plain")], b"502 ERROR: origin DNS lookup failed\n", decision)
        host, port, prefix = target
        url = URL.build(scheme="http", host=host, port=port, path=prefix + wire.path, query_string=wire.query,
                        encoded=True)  # fmt: skip
        t0 = time.perf_counter()
        session = await self._client()
        read_timeout = settings.get("readTimeout", 30)
        try:
            upstream = await session.request(
                wire.method, url, headers=wire.headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout),
            )  # fmt: skip
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Answer(504 if isinstance(exc, TimeoutError) else 502, [("Content-Type", "text/plain")],
                          f"origin connection failed: {exc}\n".encode(), decision)  # fmt: skip
        timings["origin"] = (time.perf_counter() - t0) * 1000
        headers = response_headers(upstream.raw_headers)
        return Answer(upstream.status, headers, b"", decision, upstream)

    def _before_loop_close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Prefixed:
    """An origin response whose first bytes were already read (for the cache bound)."""

    def __init__(self, prefix: bytes, upstream: aiohttp.ClientResponse) -> None:
        self._prefix = prefix
        self._upstream = upstream
        self.content = self

    async def iter_chunked(self, n: int):
        if self._prefix:
            yield self._prefix
        async for chunk in self._upstream.content.iter_chunked(n):
            yield chunk

    def release(self) -> None:
        self._upstream.release()
