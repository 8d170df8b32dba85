"""The stand-in says yes and no where AWS would: permissions from the template, CloudFront's
viewer rules and cache, a bounded HTTP stack and function pool, the control API."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local import settings
from local.lambda_edge.pool import FunctionPool
from local.stack import LocalStack
from local.template import load_template
from tests.local.helpers import (
    OPTED_IN,
    S3_READ_EXTRAS,
    Log,
    put_everywhere,
    raw_exchange,
    request,
    template_copy,
    with_error_caching,
    write_template,
)

pytestmark = pytest.mark.slow
ONE, TWO = (b.name for b in settings.BUCKETS)
FUNCTION = Path(__file__).parent / "fixtures" / "function"
JSON = {"Content-Type": "application/json"}  # the control API takes JSON POSTs only


# --- permissions come from the template ---------------------------------------------------


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose template grants s3:GetObject only (no GetObjectVersion, no ListBucket)."""
    template = template_copy(tmp_path_factory.mktemp("bare"), "bare", revokes=S3_READ_EXTRAS)
    with LocalStack(log=Log(), concurrency=2, template_path=template, with_failover=False,
                    parameters=OPTED_IN) as stack:  # fmt: skip
        yield stack


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    template = template_copy(tmp_path_factory.mktemp("granted"), "granted", grants=S3_READ_EXTRAS)
    with LocalStack(log=Log(), concurrency=2, template_path=template, with_failover=False,
                    control_port=0, parameters=OPTED_IN) as stack:  # fmt: skip
        yield stack


def test_version_id_needs_get_object_version(bare: LocalStack, granted: LocalStack) -> None:
    for stack in (bare, granted):
        first = put_everywhere(stack, "versioned.txt", b"version one")[0]
        put_everywhere(stack, "versioned.txt", b"version two")
        stack.edge.cache.purge()
        assert request(stack.edge, "GET", "/versioned.txt")[:3:2] == (200, b"version two")
    status, _, body = request(bare.edge, "GET", f"/versioned.txt?versionId={first}")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"s3:GetObjectVersion" in body
    first = granted.buckets.client.list_object_versions(Bucket=ONE, Prefix="versioned.txt")["Versions"][-1]
    status, headers, body = request(granted.edge, "GET", f"/versioned.txt?versionId={first['VersionId']}")
    assert (status, body) == (200, b"version one")
    assert headers["x-amz-version-id"] == first["VersionId"]


def test_missing_key_status_follows_list_bucket(bare: LocalStack, granted: LocalStack) -> None:
    status, _, body = request(bare.edge, "GET", "/no/such/key.txt")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"NoSuchKey" not in body
    status, _, body = request(granted.edge, "GET", "/no/such/key.txt")
    assert status == 404 and b"<Code>NoSuchKey</Code>" in body
    assert request(bare.edge, "HEAD", "/no/such/other.txt")[0] == 403
    assert request(granted.edge, "HEAD", "/no/such/other.txt")[0] == 404


def signed_to_mrap(stack: LocalStack, method: str, path: str, extra: dict[str, str] | None = None):
    from local.lambda_edge.pool import role_environment
    from mrap_edge.signer import SignerCache, sign_request

    signed = sign_request(SignerCache().get(role_environment()), method, settings.MRAP_DOMAIN, path, "", "cf-id")
    conn = http.client.HTTPConnection(*stack.mrap.address, timeout=30)
    try:
        headers = {"Host": settings.MRAP_DOMAIN, "X-Amz-Cf-Id": "cf-id", **signed, **(extra or {})}
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_bucket_level_request_is_list_bucket(bare: LocalStack, granted: LocalStack) -> None:
    status, _, body = signed_to_mrap(bare, "GET", "/")
    assert status == 403 and b"s3:ListBucket" in body
    status, headers, body = signed_to_mrap(granted, "GET", "/")
    assert status == 200 and b"<ListBucketResult" in body and b"index.html" in body
    assert headers["server"] == "AmazonS3" and headers["x-amz-request-id"] and headers["x-amz-id-2"]
    assert "x-amzn-requestid" not in headers and "access-control-allow-origin" not in headers


def test_invalid_content_length_at_the_mrap_is_a_400(granted: LocalStack) -> None:
    reply = raw_exchange(
        granted.mrap.address,
        f"GET /index.html HTTP/1.1\r\nHost: {settings.MRAP_DOMAIN}\r\nContent-Length: abc\r\n\r\n".encode(),
    )
    assert reply.startswith(b"HTTP/1.1 400") or reply.startswith(b"HTTP/1.0 400"), reply[:80]


# --- the edge as CloudFront: viewer side, origin side, cache ---------------------------------


@pytest.fixture(scope="module")
def fn_log() -> Log:
    return Log()


@pytest.fixture(scope="module")
def fn_stack(fn_log: Log, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The template with CloudFront's default error caching for 502 (10 s), and the test
    function above (no zip needed)."""
    template = write_template(with_error_caching(load_template(), 502, None),
                              tmp_path_factory.mktemp("fn") / "default-error-caching.template")  # fmt: skip
    with LocalStack(log=fn_log, concurrency=2, function_folder=FUNCTION, with_failover=False, template_path=template,
                    idle_timeout=1.0, header_timeout=1.0, function_wait=0.5) as stack:  # fmt: skip
        yield stack


def test_hidden_viewer_headers_never_reach_the_function(fn_stack: LocalStack) -> None:
    viewer = {"X-Real-IP": "10.0.0.1", "X-Forwarded-Proto": "https", "X-Cache": "Hit", "X-Edge-Thing": "1",
              "X-Accel-Redirect": "/x", "X-Amz-Cf-Id": "forged", "Proxy-Thing": "1", "Origin": "https://a.example",
              "X-Custom": "not in any policy", "Cookie": "a=b"}  # fmt: skip
    status, _, body = request(fn_stack.edge, "GET", "/echo-headers", viewer)
    assert status == 200
    seen = json.loads(body)["headers"]
    # Origin reaches the function exactly when the template's policies forward it (the
    # origin request policy on main does; a template without one does not).
    forwards_origin = "origin" in fn_stack.edge.distribution.forwarded_headers({"origin": "https://a.example"})
    assert ("origin" in seen) == forwards_origin
    assert seen.get("origin", [{"value": "https://a.example"}])[0]["value"] == "https://a.example"
    # CloudFront adds its own headers.
    assert seen["user-agent"][0]["value"] == "Amazon CloudFront"
    assert "via" in seen and "x-forwarded-for" in seen
    for name in ("x-real-ip", "x-forwarded-proto", "x-cache", "x-edge-thing", "x-accel-redirect", "x-amz-cf-id",
                 "proxy-thing", "x-custom", "cookie", "host"):  # fmt: skip
        assert name not in seen, name


def test_x_real_ip_from_a_viewer_is_a_200_through_the_real_function(granted: LocalStack) -> None:
    status, _, body = request(
        granted.edge, "GET", "/index.html", {"X-Real-IP": "10.0.0.1", "X-Forwarded-Proto": "http"}
    )
    assert (status, body) == (200, b"hello from s3 bucket one\n")


def test_query_strings_outside_the_cache_policy_are_dropped(fn_stack: LocalStack) -> None:
    query = "versionId=v1&utm_source=x&partNumber=2&response-content-type=a"
    status, _, body = request(fn_stack.edge, "GET", "/echo-query?" + query)
    assert status == 200
    # The template's defaults: only partNumber (tests/local/test_secure_defaults.py).
    assert json.loads(body)["querystring"] == "partNumber=2"


def test_response_headers_policy_on_every_response(fn_stack: LocalStack) -> None:
    for target in ("/echo-policy", "/bad-gateway"):
        headers = request(fn_stack.edge, "GET", target)[1]
        assert headers["strict-transport-security"].startswith("max-age=63072000")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_a_cached_200_is_a_hit_the_second_time(granted: LocalStack) -> None:
    put_everywhere(granted, "cached.txt", b"cache me")
    granted.edge.cache.purge()
    first = request(granted.edge, "GET", "/cached.txt")
    second = request(granted.edge, "GET", "/cached.txt")
    assert first[0] == second[0] == 200 and first[2] == second[2] == b"cache me"
    assert first[1]["x-cache"] == "Miss from cloudfront" and "age" not in first[1]
    assert second[1]["x-cache"] == "Hit from cloudfront" and int(second[1]["age"]) >= 0
    # Range and conditional requests are answered from the cached object.
    status, headers, body = request(granted.edge, "GET", "/cached.txt", {"Range": "bytes=0-4"})
    assert (status, body, headers["x-cache"]) == (206, b"cache", "Hit from cloudfront")
    status, headers, _ = request(granted.edge, "GET", "/cached.txt", {"If-None-Match": first[1]["etag"]})
    assert (status, headers["x-cache"]) == (304, "Hit from cloudfront")
    # The control API lists it, and an invalidation drops it.
    control = granted.control.url
    entries = json.loads(urllib.request.urlopen(control + "/cache", timeout=10).read())
    assert any("/cached.txt" in e["key"] for e in entries)
    purge = urllib.request.Request(
        control + "/cache/purge", data=b'{"Paths": ["/cached.*"]}', method="POST", headers=JSON
    )
    assert json.loads(urllib.request.urlopen(purge, timeout=10).read()) == {"purged": 1}
    assert request(granted.edge, "GET", "/cached.txt")[1]["x-cache"] == "Miss from cloudfront"


def test_a_generated_502_is_cached_for_the_error_caching_ttl(fn_stack: LocalStack, fn_log: Log) -> None:
    fn_stack.edge.cache.purge()
    first = request(fn_stack.edge, "GET", "/bad-gateway")
    second = request(fn_stack.edge, "GET", "/bad-gateway")
    assert first[0] == second[0] == 502
    assert first[2] == second[2]  # the same generated body: the function ran once
    assert second[1]["x-cache"] == "Error from cloudfront" and "age" in second[1]


def test_error_caching_min_ttl_zero_in_the_template_is_honoured(tmp_path: Path) -> None:
    template = write_template(with_error_caching(load_template(), 502, 0), tmp_path / "no-error-caching.template")
    with LocalStack(log=Log(), concurrency=1, function_folder=FUNCTION, with_failover=False,
                    template_path=template) as stack:  # fmt: skip
        first = request(stack.edge, "GET", "/bad-gateway")
        time.sleep(0.01)
        second = request(stack.edge, "GET", "/bad-gateway")
    assert first[0] == second[0] == 502 and first[2] != second[2]  # the function ran twice
    assert "age" not in second[1]


def test_get_with_a_body_is_refused_and_a_smuggled_request_never_served(fn_stack: LocalStack, fn_log: Log) -> None:
    hidden = b"GET /echo-smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    since = len(fn_log)
    reply = raw_exchange(
        fn_stack.edge.address,
        b"GET /echo-front HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(hidden) + hidden,
    )
    assert reply.startswith(b"HTTP/1.1 403"), reply[:80]
    assert reply.count(b"HTTP/1.1 ") == 1 and b"echo-smuggled" not in reply
    chunked = b"GET /echo-front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
    reply = raw_exchange(fn_stack.edge.address, chunked % (len(hidden), hidden))
    assert reply.startswith(b"HTTP/1.1 403") and reply.count(b"HTTP/1.1 ") == 1
    both = b"GET /echo-front HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert raw_exchange(fn_stack.edge.address, both + hidden).count(b"HTTP/1.") == 1
    head = b"HEAD /echo-head HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(hidden)
    reply = raw_exchange(fn_stack.edge.address, head + hidden)
    assert reply.startswith(b"HTTP/1.1 403") and reply.count(b"HTTP/1.") == 1, reply
    time.sleep(0.2)
    assert not any("echo-smuggled" in line for line in fn_log[since:])


def test_methods_outside_the_behavior_get_cloudfronts_403(fn_stack: LocalStack) -> None:
    status, _, body = request(fn_stack.edge, "PUT", "/echo-put", body=b"data")
    assert status == 403 and b"not configured to allow the HTTP request method" in body


def test_raw_utf8_target_reaches_the_same_key(granted: LocalStack) -> None:
    key = "日本語/ファイル 1.txt"
    put_everywhere(granted, key, b"raw utf-8 key")
    raw = "GET /日本語/ファイル%201.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    reply = raw_exchange(granted.edge.address, raw)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"raw utf-8 key"), reply[:200]


def test_absolute_form_target_is_accepted(granted: LocalStack) -> None:
    raw = b"GET http://d111111abcdef8.cloudfront.net/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = raw_exchange(granted.edge.address, raw)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"hello from s3 bucket one\n")


def test_idle_and_slow_connections_are_closed(fn_stack: LocalStack) -> None:
    """idle_timeout = header_timeout = 1 s in this stack."""
    for data in (b"", b"GET /echo-slowloris HTTP/1.1\r\nHost: x\r\nX-A: "):
        started = time.monotonic()
        with socket.create_connection(fn_stack.edge.address, timeout=10) as sock:
            sock.sendall(data)
            assert sock.recv(1024) == b""  # closed by the server, nothing answered
        assert time.monotonic() - started < 5
    # A keep-alive connection that served a request and then idles.
    conn = http.client.HTTPConnection(*fn_stack.edge.address, timeout=10)
    conn.request("GET", "/echo-keepalive")
    assert conn.getresponse().read()
    time.sleep(2.0)
    assert conn.sock.recv(1024) == b""
    conn.close()


# --- the function pool ----------------------------------------------------------------------


def test_pool_never_grows_past_its_size_and_replaces_crashed_workers(fn_stack: LocalStack) -> None:
    pool = fn_stack.function
    with ThreadPoolExecutor(max_workers=50) as ex:
        results = list(ex.map(lambda i: request(fn_stack.edge, "GET", f"/echo-{i}")[0], range(100)))
    assert results.count(200) + results.count(503) == 100 and results.count(200) > 0
    assert pool.live <= pool.size and pool.spawned <= pool.size
    spawned = pool.spawned
    assert request(fn_stack.edge, "GET", "/crash")[0] == 503
    assert request(fn_stack.edge, "GET", "/echo-after-crash")[0] == 200
    assert pool.live <= pool.size and pool.spawned <= spawned + 1


def test_a_request_that_finds_no_free_worker_gets_a_503(fn_stack: LocalStack) -> None:
    """Two workers busy for 1 s, a 0.5 s wait: the third request is throttled."""
    results: list[tuple[int, bytes]] = []

    def fetch(i: int) -> None:
        status, _, body = request(fn_stack.edge, "GET", f"/slow-{i}")  # distinct keys: no collapsing
        results.append((status, body))

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(30)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 503], results
    assert any(b"throttled" in body for status, body in results if status == 503)


def test_many_concurrent_viewers_with_a_bounded_pool(granted: LocalStack) -> None:
    keys = [f"load/{i} é+.txt" for i in range(20)]
    for key in keys:
        put_everywhere(granted, key, (key * 50).encode())
    granted.edge.cache.purge()
    from urllib.parse import quote

    def fetch(i: int) -> bool:
        key = keys[i % len(keys)]
        status, _, body = request(granted.edge, "GET", "/" + quote(key))
        return status == 200 and body == (key * 50).encode()

    with ThreadPoolExecutor(max_workers=100) as ex:
        ok = list(ex.map(fetch, range(300), timeout=120))
    assert all(ok)
    assert granted.function.spawned <= granted.function.size


# --- the control API: the failover drill ------------------------------------------------------


def control(stack: LocalStack, method: str, path: str, body: object | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(stack.control.url + path, data=data, method=method, headers=JSON)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_failover_drill_through_the_routes_api(granted: LocalStack) -> None:
    status, routes = control(granted, "GET", "/routes")
    assert status == 200 and routes["Mrap"].startswith("arn:aws:s3::123456789012:accesspoint/")
    assert [(r["Bucket"], r["TrafficDialPercentage"]) for r in routes["Routes"]] == [(ONE, 100), (TWO, 100)]
    try:
        drill = {"RouteUpdates": [{"Bucket": ONE, "Region": "eu-west-1", "TrafficDialPercentage": 0}]}
        assert control(granted, "POST", "/routes", drill) == (200, {})
        granted.edge.cache.purge()
        assert request(granted.edge, "GET", "/index.html")[2] == b"hello from s3 bucket two\n"
        none_left = {"RouteUpdates": [{"Bucket": TWO, "Region": "ap-southeast-2", "TrafficDialPercentage": 0}]}
        status, error = control(granted, "POST", "/routes", none_left)
        assert status == 400 and error["Error"]["Code"] == "InvalidRequest"
        for bad in ({"RouteUpdates": [{"Bucket": "nope", "TrafficDialPercentage": 0}]},
                    {"RouteUpdates": [{"Bucket": ONE, "TrafficDialPercentage": 50}]}):  # fmt: skip
            assert control(granted, "POST", "/routes", bad)[0] == 400
        status, buckets = control(granted, "GET", "/buckets")
        assert {b["bucket"]: b["trafficDialPercentage"] for b in buckets} == {ONE: 0, TWO: 100}
        assert control(granted, "POST", f"/buckets/{TWO}/down")[0] == 200
        granted.edge.cache.purge()
        assert request(granted.edge, "GET", "/index.html")[0] == 503  # no failover origin in this stack
    finally:
        failback = {"RouteUpdates": [{"Bucket": ONE, "Region": "eu-west-1", "TrafficDialPercentage": 100}]}
        assert control(granted, "POST", "/routes", failback) == (200, {})
        assert control(granted, "POST", f"/buckets/{TWO}/up")[0] == 200
        granted.edge.cache.purge()
    assert request(granted.edge, "GET", "/index.html")[2] == b"hello from s3 bucket one\n"


def test_concurrent_misses_for_one_object_are_collapsed(fn_stack: LocalStack, fn_log: Log) -> None:
    fn_stack.edge.cache.purge()
    since = len(fn_log)
    with ThreadPoolExecutor(max_workers=5) as ex:
        answers = list(ex.map(lambda _: request(fn_stack.edge, "GET", "/slow-collapsed"), range(5)))
    assert [a[0] for a in answers] == [200] * 5 and len({a[2] for a in answers}) == 1
    time.sleep(0.2)
    lines = [line for line in fn_log[since:] if line.startswith("edge  GET /slow-collapsed")]
    assert len(lines) == 5 and sum("cache=miss" in line for line in lines) == 1, lines


def test_a_stuck_invocation_is_killed_at_the_templates_timeout(fn_stack: LocalStack) -> None:
    assert fn_stack.function.timeout == 5.0  # EdgeFunction's Timeout in the template
    from local.lambda_edge.pool import FunctionError

    with FunctionPool(FUNCTION, size=1, timeout=0.5) as pool:
        event = {"Records": [{"cf": {"request": {"uri": "/hang", "querystring": "", "headers": {}}}}]}
        started = time.monotonic()
        with pytest.raises(FunctionError, match="timed out"):
            pool.invoke(event)
        assert time.monotonic() - started < 5
        event["Records"][0]["cf"]["request"]["uri"] = "/echo-next"
        assert pool.invoke(event).result["status"] == "200"  # a fresh worker took its place
        assert pool.live == 1 and pool.spawned == 2


def test_an_expired_object_is_revalidated_and_served_stale_on_5xx(granted: LocalStack) -> None:
    for bucket in (ONE, TWO):
        granted.buckets.put(bucket, "short.txt", b"short-lived", "text/plain", CacheControl="max-age=60")
    cache = granted.edge.cache
    cache.purge()
    offset = [0.0]
    cache.clock = lambda: time.monotonic() + offset[0]
    try:
        first = request(granted.edge, "GET", "/short.txt")
        assert first[1]["x-cache"] == "Miss from cloudfront"
        offset[0] += 61  # expired: CloudFront asks the origin with If-None-Match, S3 says 304
        status, headers, body = request(granted.edge, "GET", "/short.txt")
        assert (status, body, headers["x-cache"]) == (200, b"short-lived", "RefreshHit from cloudfront")
        assert headers["age"] == "0"
        assert request(granted.edge, "GET", "/short.txt")[1]["x-cache"] == "Hit from cloudfront"
        offset[0] += 61
        granted.mrap.mark_down(ONE)
        granted.mrap.mark_down(TWO)  # the origin answers 503: the stale object is served
        status, headers, body = request(granted.edge, "GET", "/short.txt")
        assert (status, body, headers["x-cache"]) == (200, b"short-lived", "Hit from cloudfront")
    finally:
        cache.clock = time.monotonic
        granted.mrap.mark_down(ONE, False)
        granted.mrap.mark_down(TWO, False)
        cache.purge()


def test_framing_and_header_limits_at_the_edge(fn_stack: LocalStack, fn_log: Log) -> None:
    address = fn_stack.edge.address
    since = len(fn_log)
    # Cut off mid-headers (the client closes its side): never processed.
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"GET /echo-cut-off HTTP/1.1\r\nHost: x\r\nX-A: 1")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1024) == b""
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))  # more than 100 headers
    assert b" 400 " in raw_exchange(address, b"GET /echo-many HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")[:20]
    huge = b"GET /echo-huge HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert b" 400 " in raw_exchange(address, huge)[:20]
    bad_length = b"GET /echo-length HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n"
    assert b" 400 " in raw_exchange(address, bad_length)[:20]
    time.sleep(0.2)
    assert not any(name in line for line in fn_log[since:] for name in ("cut-off", "echo-many", "echo-huge"))


def test_bodies_above_the_bound_stream_through_uncached(granted: LocalStack) -> None:
    body = bytes(range(256)) * 64  # 16 KiB
    put_everywhere(granted, "big.bin", body)
    granted.edge.cache.purge()
    bound, granted.edge.max_cached_body = granted.edge.max_cached_body, 4096
    try:
        answers = [request(granted.edge, "GET", "/big.bin") for _ in range(2)]
    finally:
        granted.edge.max_cached_body = bound
    assert all(status == 200 and got == body for status, _, got in answers)
    assert [h["x-cache"] for _, h, _ in answers] == ["Miss from cloudfront"] * 2
    assert not any("/big.bin" in e["key"] for e in granted.edge.cache.snapshot())
