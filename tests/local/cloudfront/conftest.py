"""Shared by the CloudFront tests: an edge on its own (the test function of tests/local/fixtures,
no zip needed, and a raw origin whose bytes each test chooses), and the distribution model
read from copies of the real cloudformation.template with the one setting under test made
explicit (imported by the per-module test files)."""

from __future__ import annotations

import copy
import socket
import threading
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from local import settings
from local.cloudfront.cache_key import CacheKey
from local.cloudfront.distribution import DistributionModel
from local.cloudfront.origin import Origin
from local.cloudfront.server import Edge
from local.lambda_edge.pool import FunctionPool
from local.names import LocalNames
from local.template import load_template
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


# --- the distribution model from copies of the template ------------------------------


TEMPLATE = load_template()


def fresh() -> dict[str, Any]:
    return copy.deepcopy(TEMPLATE)


def behavior(t: dict[str, Any]) -> dict[str, Any]:
    return t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]


def cache_policy(t: dict[str, Any]) -> dict[str, Any]:
    return t["Resources"][behavior(t)["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]


def key_params(t: dict[str, Any]) -> dict[str, Any]:
    return cache_policy(t)["ParametersInCacheKeyAndForwardedToOrigin"]


def response_policy(t: dict[str, Any]) -> dict[str, Any]:
    return t["Resources"][behavior(t)["ResponseHeadersPolicyId"]["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]


def with_orp(t: dict[str, Any], config: dict[str, Any] | str | None) -> dict[str, Any]:
    """Replace the behavior's origin request policy (None removes it; a str is a managed ID)."""
    b = behavior(t)
    b.pop("OriginRequestPolicyId", None)
    if isinstance(config, str):
        b["OriginRequestPolicyId"] = config
    elif config is not None:
        orp = {"OriginRequestPolicyConfig": {"Name": "test", **config}}
        t["Resources"]["TestOrp"] = {"Type": "AWS::CloudFront::OriginRequestPolicy", "Properties": orp}
        b["OriginRequestPolicyId"] = {"Ref": "TestOrp"}
    return t


def with_ttls(t: dict[str, Any], min_ttl: int, default: int = 86400, max_ttl: int = 31536000) -> dict[str, Any]:
    cache_policy(t).update(MinTTL=min_ttl, DefaultTTL=default, MaxTTL=max_ttl)
    return t


def with_errors(t: dict[str, Any], **codes: int) -> dict[str, Any]:
    config = t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["CustomErrorResponses"] = [{"ErrorCode": int(c[1:]), "ErrorCachingMinTTL": v} for c, v in codes.items()]
    return t


# versionId forwarded (AllowVersionReads=yes): these tests are about the cache, not the
# template's defaults (tests/local/test_secure_defaults.py).
VERSION_READS = LocalNames(parameters=(("AllowVersionReads", "yes"),))


def model(t: dict[str, Any] | None = None) -> DistributionModel:
    return DistributionModel.from_template(TEMPLATE if t is None else t, VERSION_READS)


def key(m: DistributionModel, uri: str = "/a.txt", query: str = "", method: str = "GET", **headers: str) -> CacheKey:
    return m.cache_key(method, uri, query, {k.replace("_", "-"): v for k, v in headers.items()})


def headers_of(out: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in out if k.lower() == name.lower()]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


MODIFIED = formatdate(1_000_000, usegmt=True)
