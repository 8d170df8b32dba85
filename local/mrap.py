"""A local S3 Multi-Region Access Point endpoint.

Accepts only what S3 accepts from the function (SigV4A verified by ``local.sigv4a``,
S3's path rules, every ``x-amz-*`` signed, content hash, 15-minute skew, and an MRAP
policy that lets the role read objects only), answers S3-style XML errors, and
routes each accepted request to the nearest active bucket that is up.

Usage::

    mrap = MrapEndpoint(buckets, credentials)
    mrap.set_traffic_dial("local-bucket-one", 0)   # passive
    mrap.mark_down("local-bucket-two")             # a regional outage
    mrap.clock = lambda: time.time() + 3600        # skew tests
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from . import settings, sigv4a
from .buckets import Buckets
from .httputil import BackgroundServer, Handler
from .s3auth import Credential, S3Error, WireRequest, verify_s3_request

READ_METHODS = frozenset({"GET", "HEAD"})
FORWARDED_HEADERS = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range")


@dataclass
class Route:
    bucket: str
    region: str
    latency_ms: float
    traffic_dial: int = 100  # 100 = active, 0 = passive
    up: bool = True


def error_xml(error: S3Error, request_id: str) -> bytes:
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in error.details.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{escape(error.message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


class MrapEndpoint:
    def __init__(
        self,
        buckets: Buckets,
        credentials: dict[str, Credential],
        domain: str = settings.MRAP_DOMAIN,
        routes: list[Route] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.buckets = buckets
        self.credentials = credentials
        self.domain = domain
        self.routes = routes or [Route(b.name, b.region, b.latency_ms) for b in settings.BUCKETS]
        self.clock: Callable[[], float] = time.time
        self.log = log
        self._lock = threading.Lock()
        self._http = BackgroundServer(self.serve, "AmazonS3")
        self.address = self._http.address

    # --- routing control -------------------------------------------------------------

    def _route(self, bucket: str) -> Route:
        for route in self.routes:
            if route.bucket == bucket:
                return route
        raise KeyError(bucket)

    def set_traffic_dial(self, bucket: str, percent: int) -> None:
        if percent not in (0, 100):
            raise ValueError("the local MRAP supports active (100) or passive (0) routes")
        with self._lock:
            route = self._route(bucket)
            others_active = any(r.traffic_dial for r in self.routes if r is not route)
            if percent == 0 and not others_active:
                raise ValueError("at least one route must stay active (S3: InvalidRequest)")
            route.traffic_dial = percent

    def mark_down(self, bucket: str, down: bool = True) -> None:
        with self._lock:
            self._route(bucket).up = not down

    def choose(self) -> Route | None:
        """Nearest active bucket that is up; MRAP routing ignores whether the key exists."""
        with self._lock:
            candidates = [r for r in self.routes if r.traffic_dial and r.up]
        return min(candidates, key=lambda r: r.latency_ms) if candidates else None

    # --- serving ---------------------------------------------------------------------

    def serve(self, h: Handler) -> None:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16].upper()
        path, _, query = h.path.partition("?")
        headers = list(h.headers.items())
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = WireRequest(h.command, path, query, headers, body)
        head = h.command == "HEAD"
        try:
            host = (h.headers.get("Host") or "").lower()
            if host != self.domain:
                raise S3Error("InvalidRequest", f"Host {host!r} is not this Multi-Region Access Point", 400)
            route = self.choose()
            if route is None:
                raise S3Error("ServiceUnavailable", "No active Region can serve this request", 503)
            # The routed-to Region verifies: its name must be in the signed region set.
            akid = verify_s3_request(req, self.credentials, now=self.clock(), region=route.region)
            if h.command not in READ_METHODS or path == "/":
                raise S3Error("AccessDenied", f"The MRAP policy does not allow {akid} to {h.command} {path}")
        except S3Error as err:
            h.send_all(
                err.status,
                [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)],
                error_xml(err, request_id),
                head=head,
            )
            self.log(f"mrap  {h.command} {path} -> {err.status} {err.code}")
            return
        status, sent = self._forward(h, req, route, request_id)
        ms = (time.perf_counter() - started) * 1000
        self.log(f"mrap  {h.command} {path} -> {route.bucket} ({route.region}) {status} {sent}B {ms:.1f}ms")

    def _forward(self, h: Handler, req: WireRequest, route: Route, request_id: str) -> tuple[int, int]:
        key = sigv4a.uri_encode(sigv4a.s3_key_bytes(req.path), keep_slash=True)
        query = sigv4a.canonical_query(sigv4a.query_params(req.query, sigv4a.Mode.S3))
        target = f"/{route.bucket}{key}" + (f"?{query}" if query else "")
        host, port = self.buckets.endpoint
        headers = {name: value for name, value in req.headers if name.lower() in FORWARDED_HEADERS}
        headers = self.buckets.sign(req.method, f"http://{host}:{port}{target}", headers)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request(req.method, target, headers=headers)
            response = conn.getresponse()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in ("server", "date")]
            out.append(("x-amz-request-id", request_id))
            sent = h.stream(response.status, out, response, head=req.method == "HEAD")
            return response.status, sent
        finally:
            conn.close()

    def close(self) -> None:
        self._http.close()
