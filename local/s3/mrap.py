"""A local S3 Multi-Region Access Point endpoint.

Accepts only what S3 accepts from the function (SigV4A verified by ``local.s3.verifier``,
S3's path rules, every ``x-amz-*`` signed, content hash, 15-minute skew), authorises
each request with the template's role policy and MRAP policy (``local.iam``), answers
S3-style XML errors, and routes each accepted request to the nearest active bucket
that is up (``routing.py``). Responses carry the headers S3 sends (``x-amz-request-id``,
``x-amz-id-2``, ``Server: AmazonS3``, ETag, Last-Modified, ...) and none of the
emulator's own.

- A missing key is 404 NoSuchKey only when ``s3:ListBucket`` is allowed, else 403
  AccessDenied (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
  "Permissions").
- A bucket-level request (no key) is ListObjects, authorised as ``s3:ListBucket``.
- OPTIONS is not among the operations an MRAP serves
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MrapOperations.html lists object
  operations and ListObjectsV2 only; no CORS): the access model denies it, 403.

Usage::

    mrap = MrapEndpoint(buckets, credentials, access=AccessModel.from_template(template))
    mrap.set_traffic_dial("local-bucket-one", 0)   # passive
    mrap.mark_down("local-bucket-two")             # a regional outage
    mrap.clock = lambda: time.time() + 3600        # skew tests
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web
from yarl import URL

from .. import settings
from ..iam import AccessModel
from ..template import load_template
from ..web import ForwardingServer, LoopThread, response_headers
from . import sigv4a
from .buckets import Buckets
from .routing import Route, Routing
from .verifier import Credential, S3Error, WireRequest, verify_s3_request

FORWARDED_HEADERS = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range")
# What moto adds that S3 never sends (its own ids, blanket CORS, request headers it echoes
# from the upload), and what this endpoint sets itself.
DROPPED_RESPONSE_HEADERS = frozenset(
    {"server", "date", "connection", "keep-alive", "transfer-encoding", "x-amzn-requestid", "x-amz-request-id",
     "x-amz-id-2", "access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers",
     "access-control-expose-headers", "access-control-max-age", "access-control-allow-credentials",
     "x-amz-content-sha256", "x-amz-sdk-checksum-algorithm"}
)  # fmt: skip
MAX_BODY = 1024 * 1024  # the MRAP serves reads; a bigger upload is refused before it is read
CHUNK = 64 * 1024


@dataclass
class Outcome:
    """What the edge's access line reports about one MRAP request (keyed by X-Amz-Cf-Id)."""

    status: int
    route: str = ""
    code: str = ""

    def __str__(self) -> str:
        return " ".join(p for p in (self.route, str(self.status), self.code) if p)


def error_xml(error: S3Error, request_id: str) -> bytes:
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in error.details.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{escape(error.message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


def s3_headers(request_id: str) -> list[tuple[str, str]]:
    host_id = base64.b64encode(os.urandom(48)).decode()
    return [("x-amz-request-id", request_id), ("x-amz-id-2", host_id),
            ("Date", formatdate(usegmt=True)), ("Server", "AmazonS3")]  # fmt: skip


class MrapEndpoint(ForwardingServer):
    def __init__(
        self,
        buckets: Buckets,
        credentials: dict[str, Credential],
        domain: str = settings.MRAP_DOMAIN,
        routes: list[Route] | None = None,
        log: Callable[[str], None] = print,
        *,
        access: AccessModel | None = None,
        principals: dict[str, str] | None = None,
        source_arns: dict[str, str] | None = None,
        loop: LoopThread | None = None,
        port: int = 0,
    ) -> None:
        self.buckets = buckets
        self.credentials = credentials
        self.domain = domain
        self.routing = Routing(routes or [Route(b.name, b.region, b.latency_ms) for b in settings.BUCKETS])
        self.clock: Callable[[], float] = time.time
        self.log = log
        self.access = access or AccessModel.from_template(load_template())  # the project's template by default
        # Access key id -> the principal it authenticates as (the function's role).
        self.principals = principals or {akid: self.access.role_arn for akid in credentials}
        # Access key id -> aws:SourceArn of a service signing on a resource's behalf
        # (CloudFront's origin access control: the distribution).
        self.source_arns = source_arns or {}
        self.outcomes: OrderedDict[str, Outcome] = OrderedDict()
        self._lock = threading.Lock()
        super().__init__(loop, "local-mrap", self.serve, port, connections=64, upstream_keepalive=30,
                         idle_timeout=60, header_timeout=10)  # fmt: skip

    # --- routing control (routing.py) -----------------------------------------------

    @property
    def routes(self) -> list[Route]:
        return self.routing.routes

    def set_traffic_dial(self, bucket: str, percent: int) -> None:
        self.routing.submit([(bucket, percent)])

    def submit_routes(self, updates: list[tuple[str, int]]) -> None:
        self.routing.submit(updates)

    def mark_down(self, bucket: str, down: bool = True) -> None:
        self.routing.mark_down(bucket, down)

    def choose(self) -> Route | None:
        return self.routing.choose()

    def outcome(self, cf_id: str) -> Outcome | None:
        """The outcome of the request CloudFront sent with this X-Amz-Cf-Id (once)."""
        with self._lock:
            return self.outcomes.pop(cf_id, None)

    def _record(self, cf_id: str | None, outcome: Outcome, line: str) -> None:
        if cf_id is None:  # not through the edge: log it here
            self.log(line)
            return
        with self._lock:
            self.outcomes[cf_id] = outcome
            while len(self.outcomes) > 10_000:
                self.outcomes.popitem(last=False)

    # --- serving ---------------------------------------------------------------------

    async def serve(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16].upper()
        cf_id = request.headers.get("X-Amz-Cf-Id")
        path, _, query = request.raw_path.partition("?")
        head = request.method == "HEAD"
        route: Route | None = None
        try:
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
            body = await asyncio.wait_for(request.read(), 30) if request.body_exists else b""
            req = WireRequest(request.method, path, query, list(request.headers.items()), body)
            host = (request.headers.get("Host") or "").lower()
            if host != self.domain:
                raise S3Error("InvalidRequest", f"Host {host!r} is not this Multi-Region Access Point", 400)
            route = self.choose()
            if route is None:
                raise S3Error("ServiceUnavailable", "No active Region can serve this request", 503)
            # The routed-to Region verifies: its name must be in the signed region set.
            akid = verify_s3_request(req, self.credentials, now=self.clock(), region=route.region)
            key = sigv4a.s3_key_bytes(path)[1:].decode("utf-8", "surrogateescape")
            params = parse_qs(query, keep_blank_values=True)
            authz = self.access.authorize(self.principals.get(akid, ""), request.method, key, params, route.bucket,
                                          source_arn=self.source_arns.get(akid))  # fmt: skip
            if not authz.allowed:
                raise S3Error("AccessDenied", f"Access Denied ({authz.reason})")
        except S3Error as err:
            where = f"{route.bucket}({route.region})" if route else ""
            self._record(cf_id, Outcome(err.status, where, err.code),
                         f"mrap  {request.method} {path} -> {where} {err.status} {err.code}")  # fmt: skip
            return self._error(err, request_id, head)
        response = await self._forward(request, req, route, key, request_id, authz.list_allowed)
        ms = (time.perf_counter() - started) * 1000
        where = f"{route.bucket}({route.region})"
        lag = self._replication_lag(response.status, route.bucket, key)
        self._record(cf_id, Outcome(response.status, where, lag),
                     f"mrap  {request.method} {path} -> {where} {response.status}{' ' + lag if lag else ''} "
                     f"{ms:.1f}ms")  # fmt: skip
        return response

    def _replication_lag(self, status: int, bucket: str, key: str) -> str:
        """Names a miss that replication has not caught up with yet (404, or 403 without
        s3:ListBucket), so the log says why the farther bucket answered "no such key"."""
        if status not in (403, 404) or not key:
            return ""
        left = self.buckets.replication_pending(bucket, key)
        if left is None:
            return ""
        return f"not-yet-replicated key={key!r} in {left:.1f}s"

    @staticmethod
    def _error(err: S3Error, request_id: str, head: bool) -> web.Response:
        # aiohttp sends no body for HEAD but keeps its Content-Length, as S3 does.
        response = web.Response(status=err.status, body=error_xml(err, request_id))
        response.headers["Content-Type"] = "application/xml"
        for name, value in s3_headers(request_id):
            response.headers[name] = value
        return response

    async def _forward(
        self, request: web.BaseRequest, req: WireRequest, route: Route, key: str, request_id: str, list_allowed: bool
    ) -> web.StreamResponse:
        encoded_key = sigv4a.uri_encode(sigv4a.s3_key_bytes(req.path), keep_slash=True)
        query = sigv4a.canonical_query(sigv4a.query_params(req.query, sigv4a.Mode.S3))
        bucket_path = f"/{route.bucket}{encoded_key}" if key else f"/{route.bucket}"
        host, port = self.buckets.endpoint
        headers = {name: value for name, value in req.headers if name.lower() in FORWARDED_HEADERS}
        url_text = f"http://{host}:{port}{bucket_path}" + (f"?{query}" if query else "")
        headers = self.buckets.sign(req.method, url_text, headers)
        session = await self._client()
        url = URL.build(scheme="http", host=host, port=port, path=bucket_path, query_string=query, encoded=True)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
        async with session.request(
            req.method, url, headers=headers, allow_redirects=False, timeout=timeout
        ) as upstream:
            if upstream.status == 404 and key and not list_allowed:
                # S3 without s3:ListBucket: a missing key is indistinguishable from a forbidden one.
                await upstream.read()
                return self._error(S3Error("AccessDenied", "Access Denied"), request_id, req.method == "HEAD")
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in response_headers(upstream.raw_headers):
                if name.lower() not in DROPPED_RESPONSE_HEADERS:
                    response.headers.add(name, value)
            for name, value in s3_headers(request_id):
                response.headers[name] = value
            length = upstream.headers.get("Content-Length")
            if length is not None:
                response.content_length = int(length)
            await response.prepare(request)
            if req.method != "HEAD":
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response
