"""A local CloudFront edge: one cache behavior with an origin-request trigger.

For each viewer request it builds the origin-request event the way CloudFront does,
invokes the function (the deployment zip, in ``local.function``), validates the
result as CloudFront would (502 with the reason when it fails), sends the request to
the origin adding ``X-Amz-Cf-Id``, and streams the answer back. With a failover
origin it acts as an origin group: on the configured status codes it invokes the
function again for the secondary origin and sends the request there.

There is no cache: every request is a miss, so the function runs every time.

Usage::

    edge = Edge(function, primary=Origin(MRAP_DOMAIN), resolver={MRAP_DOMAIN: ("127.0.0.1", 9001, "")})
    edge.address   # ("127.0.0.1", 8080)
"""

from __future__ import annotations

import base64
import http.client
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cloudfront import ValidationError, custom_origin, origin_request_event, validate_result, wire_request
from .function import FunctionError, FunctionPool
from .httputil import HOP_BY_HOP, BackgroundServer, Handler

EDGE_ID = "0123456789abcdef0123456789abcdef"
POP = "LCL1-P1"
# CloudFront sets or rewrites these itself; viewer copies never reach the function.
CLOUDFRONT_MANAGED = frozenset({"host", "via", "x-forwarded-for", "user-agent", "accept-encoding"}) | HOP_BY_HOP


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
    """What the viewer gets (a body, or an origin response still to stream), and the
    decision the access log reports."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    decision: str = ""
    response: http.client.HTTPResponse | None = None
    connection: http.client.HTTPConnection | None = None

    def discard(self) -> None:
        """Drop an origin response not sent to the viewer (read first: it is small)."""
        if self.response is not None and not self.response.isclosed():
            try:
                self.response.read(1024 * 1024)
            except OSError:
                pass
        if self.connection is not None:
            self.connection.close()


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


class Edge:
    def __init__(
        self,
        function: FunctionPool,
        primary: Origin,
        resolver: dict[str, tuple[str, int, str]],
        behavior: Behavior | None = None,
        port: int = 0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.function = function
        self.primary = primary
        self.resolver = resolver
        self.behavior = behavior or Behavior()
        self.log = log
        self._http = BackgroundServer(self.serve, "CloudFront", port)
        self.address = self._http.address

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    # --- the viewer request --------------------------------------------------------------

    def origin_headers(self, h: Handler) -> dict[str, list[str]]:
        """Viewer headers as the origin request policy forwards them (all but Host),
        plus what CloudFront adds."""
        headers: dict[str, list[str]] = {}
        for name, value in h.headers.items():
            if name.lower() not in CLOUDFRONT_MANAGED:
                headers.setdefault(name, []).append(value)
        client = h.client_address[0]
        via = h.headers.get("Via")
        ours = f"2.0 {EDGE_ID}.cloudfront.net (CloudFront)"
        headers["Via"] = [f"{via}, {ours}" if via else ours]
        xff = h.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = [f"{xff}, {client}" if xff else client]
        headers["User-Agent"] = ["Amazon CloudFront"]
        encoding = normalize_accept_encoding(h.headers.get("Accept-Encoding"))
        if encoding:
            headers["Accept-Encoding"] = [encoding]
        return headers

    def serve(self, h: Handler) -> None:
        started = time.perf_counter()
        request_id = new_request_id()
        timings: dict[str, float] = {}
        if h.command not in self.behavior.allowed_methods:
            answer = Answer(403, [("Content-Type", "text/plain")],
                            b"This distribution is not configured to allow the HTTP request method.\n",
                            "refused-method")  # fmt: skip
        else:
            answer = self.handle(h, request_id, timings)
        answer.headers += [
            ("Via", f"1.1 {EDGE_ID}.cloudfront.net (CloudFront)"),
            ("X-Cache", "Error from cloudfront" if answer.status >= 400 else "Miss from cloudfront"),
            ("X-Amz-Cf-Pop", POP),
            ("X-Amz-Cf-Id", request_id),
        ]
        head = h.command == "HEAD"
        try:
            if answer.response is not None:
                sent = h.stream(answer.status, answer.headers, answer.response, head=head)
            else:
                h.send_all(answer.status, answer.headers, answer.body, head=head)
                sent = 0 if head else len(answer.body)
        finally:
            answer.discard()
        total = (time.perf_counter() - started) * 1000
        parts = " ".join(f"{k}={v:.1f}ms" for k, v in timings.items())
        self.log(f"edge  {h.command} {h.path} -> {answer.status} {answer.decision} {sent}B {parts} total={total:.1f}ms")

    def handle(self, h: Handler, request_id: str, timings: dict[str, float]) -> Answer:
        uri, _, query = h.path.partition("?")
        if uri == "/" and self.behavior.default_root_object:
            uri = "/" + self.behavior.default_root_object
        headers = self.origin_headers(h)
        answer = self.through_origin(h.command, uri, query, headers, self.primary, request_id, timings, "fn")
        failover = self.behavior.failover
        if failover is not None and answer.status in self.behavior.failover_codes and answer.decision != "generated":
            answer.discard()
            answer = self.through_origin(h.command, uri, query, headers, failover, request_id, timings, "fn2")
            answer.decision += "+failover"
        return answer

    def through_origin(
        self,
        method: str,
        uri: str,
        query: str,
        headers: dict[str, list[str]],
        origin: Origin,
        request_id: str,
        timings: dict[str, float],
        label: str,
    ) -> Answer:
        event = origin_request_event(method, uri, query, headers, origin.event_origin(), request_id)
        original = event["Records"][0]["cf"]["request"]
        snapshot = {"method": original["method"], "clientIp": original["clientIp"],
                    "headers": {k: [dict(e) for e in v] for k, v in original["headers"].items()}}  # fmt: skip
        t0 = time.perf_counter()
        try:
            outcome = self.function.invoke(event)
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
        return self.send_to_origin(result, request_id, timings, decision)

    @staticmethod
    def generated(result: dict[str, Any]) -> Answer:
        body = result.get("body", "")
        data = base64.b64decode(body) if result.get("bodyEncoding") == "base64" else body.encode()
        headers = [(e.get("key", name), e["value"]) for name, entries in result.get("headers", {}).items()
                   for e in entries]  # fmt: skip
        return Answer(int(result["status"]), headers, data, "generated")

    def send_to_origin(self, result: dict[str, Any], request_id: str, timings: dict[str, float], decision: str
                       ) -> Answer:  # fmt: skip
        wire = wire_request(result, request_id)
        kind = "custom" if "custom" in result["origin"] else "s3"
        settings = result["origin"][kind]
        target = self.resolver.get(settings["domainName"].lower())
        if target is None:
            return Answer(502, [("Content-Type", "text/plain")], b"502 ERROR: origin DNS lookup failed\n", decision)
        host, port, prefix = target
        path = prefix + wire.path + (f"?{wire.query}" if wire.query else "")
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=settings.get("readTimeout", 30))
        try:
            conn.putrequest(wire.method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in wire.headers:
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
        except OSError as exc:
            conn.close()
            return Answer(504 if isinstance(exc, TimeoutError) else 502, [("Content-Type", "text/plain")],
                          f"origin connection failed: {exc}\n".encode(), decision)  # fmt: skip
        timings["origin"] = (time.perf_counter() - t0) * 1000
        # The edge's own Server and Date headers stand in for the origin's.
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in ("date", "server")]
        return Answer(response.status, headers, b"", decision, response, conn)

    def close(self) -> None:
        self._http.close()
