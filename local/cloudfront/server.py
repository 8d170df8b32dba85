"""A local CloudFront edge: one cache behavior with an origin-request trigger.

Each viewer request is served in CloudFront's order, one step per module:

1. receive (``viewer.py``): the raw request target, the headers a function may see,
   CloudFront's refusals (a method the behavior does not allow, a GET/HEAD with a body);
2. key (``cache_key.py``) and hit or miss (``store.py``): a hit is answered from the
   cache, Range and conditional requests too (``conditional.py``), with ``Age``; viewers
   asking for an object already on its way wait for it (``collapse.py``);
3. on a miss: what the policies forward (``origin_request.py``), an expired object's
   validators (``revalidation.py``), the function (``trigger.py``), the origin
   (``origin.py``), the failover origin of the origin group;
4. store (``store.py``) as the TTL rules say (``ttl.py``), generated responses too;
5. respond (``respond.py``): the response headers policy (``response_headers.py``),
   ``X-Cache``, ``Via``, ``X-Amz-Cf-Pop``, ``X-Amz-Cf-Id``; one log line: cache, function
   decision, MRAP route, statuses and timings.

The distribution (behaviors, policies, error caching) is read from the template
(``distribution.py``), by default the project's own.

Usage::

    edge = Edge(function, primary=Origin(MRAP_DOMAIN), resolver={MRAP_DOMAIN: ("127.0.0.1", 9001, "")})
    edge.address   # ("127.0.0.1", 8080)
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from ..lambda_edge.pool import FunctionPool
from ..template import load_template
from ..web import ForwardingServer, LoopThread
from .answer import Answer, plain
from .cache_key import CacheKey
from .collapse import Collapser
from .conditional import serve_from_entry
from .distribution import DistributionModel
from .event import origin_request_event
from .origin import Origin, call_origin
from .origin_request import origin_headers, partial_or_conditional
from .respond import respond, viewer_response_headers
from .revalidation import revalidation_headers, settle
from .store import Cache, keep
from .trigger import OriginRequestTrigger
from .viewer import MAX_HEAD, ViewerRequest, receive, too_large

__all__ = ["Behavior", "Edge", "Origin"]


@dataclass
class Behavior:
    allowed_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
    failover: Origin | None = None
    failover_codes: frozenset[int] = frozenset({500, 502, 503, 504})
    default_root_object: str = ""  # served for "/" only, as CloudFront does


def new_request_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(42)).decode()


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
        distribution: DistributionModel | None = None,
        cache: Cache | None = None,
        mrap_outcome: Callable[[str], object] | None = None,
        idle_timeout: float = 5.0,
        header_timeout: float = 10.0,
        max_cached_body: int = 8 * 2**20,
        invoke_threads: int = 32,
        origin_connections: int = 128,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.resolver = resolver
        self.behavior = behavior or Behavior()
        self.log = log
        self.distribution = distribution or DistributionModel.from_template(load_template())
        self.cache = cache if cache is not None else Cache(self.distribution, clock)  # an empty Cache is falsy
        self.mrap_outcome = mrap_outcome or (lambda cf_id: None)
        self.max_cached_body = max_cached_body
        self.trigger = OriginRequestTrigger(function, invoke_threads)
        self.collapser = Collapser()
        super().__init__(loop, "local-edge", self.serve, port, connections=origin_connections,
                         upstream_keepalive=primary.keepalive_timeout, idle_timeout=idle_timeout,
                         header_timeout=header_timeout, raw_targets=True, max_line=MAX_HEAD,
                         line_too_long=too_large)  # fmt: skip

    @property
    def function(self) -> FunctionPool:
        """The function associated with the behavior (tests swap it on a running edge)."""
        return self.trigger.function

    @function.setter
    def function(self, pool: FunctionPool) -> None:
        self.trigger.function = pool

    async def serve(self, request: web.BaseRequest) -> web.StreamResponse:
        """One viewer request, start to end: receive, answer, respond, log."""
        started = time.perf_counter()
        request_id = new_request_id()
        timings: dict[str, float] = {}
        viewer = receive(request, self.behavior.allowed_methods, self.behavior.default_root_object)
        answer = viewer.refusal or await self.answer(viewer, request_id, timings)
        headers = viewer_response_headers(answer, self.distribution, viewer.headers, request_id,
                                          refused=viewer.refusal is not None)  # fmt: skip
        try:
            response, sent = await respond(request, answer, headers, viewer.close)
        finally:
            answer.discard()
        self.log_line(viewer, answer, request_id, sent, timings, started)
        return response

    async def answer(self, viewer: ViewerRequest, request_id: str, timings: dict[str, float]) -> Answer:
        """From the cache, or through the function and the origin; a fault of the stand-in
        itself is a 502 and a log line, never a hang."""
        try:
            if not self.distribution.cacheable_request(viewer.method):
                return await self.miss(viewer, None, request_id, timings)
            key = self.distribution.cache_key(viewer.method, viewer.path, viewer.query, viewer.headers)
            hit = await self.hit(key, viewer)
            if hit is not None:
                return hit
            if self.collapser.busy(key) or viewer.method != "GET" or partial_or_conditional(viewer.headers):
                return await self.miss(viewer, key, request_id, timings)
            async with self.collapser.lead(key):
                return await self.miss(viewer, key, request_id, timings)
        except Exception as exc:
            self.log(f"edge  internal error on {viewer.method} {viewer.uri}: {type(exc).__name__}: {exc}")
            return plain(502, b"502 ERROR: local edge fault\n", "edge-error")

    async def hit(self, key: CacheKey, viewer: ViewerRequest) -> Answer | None:
        """The cached object (after waiting for a collapsed request in flight), or None."""
        entry = self.cache.get(key)
        if entry is None and self.collapser.busy(key):
            await self.collapser.wait(key)
            entry = self.cache.get(key)
        if entry is None:
            return None
        status, headers, body = serve_from_entry(entry, viewer.method, viewer.headers, self.cache.clock())
        return Answer(status, list(headers), body, "cached", cache="hit")

    async def miss(self, viewer: ViewerRequest, key: CacheKey | None, request_id: str,
                   timings: dict[str, float]) -> Answer:  # fmt: skip
        """Function and origin (and the failover origin), then revalidation or store."""
        query = self.distribution.forwarded_query(viewer.query)
        headers = origin_headers(self.distribution.forwarding, viewer.headers, viewer.client)
        stale = None
        if key is not None and viewer.method == "GET" and not partial_or_conditional(viewer.headers):
            stale = self.cache.stale(key)
            if stale is not None:
                headers.update({name: [value] for name, value in revalidation_headers(stale).items()})
        answer = await self.fetch(viewer, query, headers, self.primary, request_id, timings, "fn")
        failover = self.behavior.failover
        if failover is not None and answer.status in self.behavior.failover_codes and not answer.generated:
            answer.discard()
            answer = await self.fetch(viewer, query, headers, failover, request_id, timings, "fn2")
            answer.decision += "+failover"
        if stale is not None:
            kept = settle(self.cache, self.distribution, key, stale, answer, viewer.headers)
            if kept is not None:
                answer.discard()
                return kept
        if key is not None:
            answer.cache = "miss"
            await keep(self.cache, key, viewer, answer, self.max_cached_body)
        return answer

    async def fetch(self, viewer: ViewerRequest, query: str, headers: dict[str, list[str]], origin: Origin,
                    request_id: str, timings: dict[str, float], label: str) -> Answer:  # fmt: skip
        """The function's decision for one origin, then that origin's response."""
        event = origin_request_event(viewer.method, viewer.path, query, headers, origin.event_origin(), request_id)
        triggered = await self.trigger.run(event, timings, label)
        if triggered.answer is not None:
            return triggered.answer
        assert triggered.result is not None
        return await call_origin(await self._client(), self.resolver, triggered.result, request_id, timings,
                                 triggered.decision, self.log)  # fmt: skip

    def log_line(self, viewer: ViewerRequest, answer: Answer, request_id: str, sent: int,
                 timings: dict[str, float], started: float) -> None:  # fmt: skip
        total = (time.perf_counter() - started) * 1000
        parts = " ".join(f"{k}={v:.1f}ms" for k, v in timings.items())
        mrap = self.mrap_outcome(request_id)
        route = f" mrap={mrap}" if mrap else ""
        self.log(f"edge  {viewer.method} {viewer.target} -> {answer.status} {answer.decision} "
                 f"cache={answer.cache}{route} {sent}B {parts} total={total:.1f}ms")  # fmt: skip

    def _before_loop_close(self) -> None:
        self.trigger.close()
