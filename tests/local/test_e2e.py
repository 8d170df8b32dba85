"""End to end over loopback: viewer -> local edge -> the zip's function -> MRAP -> buckets.

Every test runs in both signing modes (the template's SigningMode): lambda-edge, and oac,
where the edge signs as CloudFront's origin access control and no function runs. Where
the modes differ by design (docs/signing-modes.md) the test says so; tests of the function
itself run in lambda-edge mode only."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

from local import settings
from local.cloudfront.oac import OacSigner
from local.cloudfront.server import Edge, Origin
from local.lambda_edge.pool import FunctionPool, role_environment
from local.stack import LocalStack
from tests.local.helpers import OPTED_IN, S3_READ_EXTRAS, Log, put_everywhere, request, template_copy

pytestmark = pytest.mark.slow
ONE, TWO = (b.name for b in settings.BUCKETS)


@pytest.fixture(scope="module")
def log() -> Log:
    return Log()


@pytest.fixture(scope="module", params=["lambda-edge", "oac"])
def stack(request: pytest.FixtureRequest, log: Log, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The permissions the stack grants (GetObjectVersion, ListBucket): a copy with them,
    # whatever cloudformation.template on this branch says; viewers allowed versionId and
    # the response-* overrides (the defaults: tests/local/test_secure_defaults.py).
    template = template_copy(tmp_path_factory.mktemp("template"), "granted", grants=S3_READ_EXTRAS)
    with LocalStack(log=log, concurrency=4, template_path=template, parameters=OPTED_IN,
                    signing=request.param) as stack:  # fmt: skip
        yield stack


def oac(stack: LocalStack) -> bool:
    return isinstance(stack.function, OacSigner)


def function_only(stack: LocalStack) -> None:
    if oac(stack):
        pytest.skip("tests the Lambda@Edge function, which SigningMode oac does not run")


@pytest.fixture(autouse=True)
def fresh_routing(stack: LocalStack) -> Iterator[None]:
    stack.edge.cache.purge()
    yield
    for route in stack.mrap.routes:
        route.up, route.traffic_dial = True, 100
    stack.mrap.routes[0].latency_ms, stack.mrap.routes[1].latency_ms = 12.0, 180.0
    stack.mrap.clock = time.time
    stack.edge.cache.purge()


def test_get_index_from_the_nearer_bucket(stack, log) -> None:
    since = len(log)
    status, headers, body = request(stack.edge, "GET", "/index.html")
    assert (status, body) == (200, b"hello from s3 bucket one\n")
    assert headers["x-cache"] == "Miss from cloudfront" and headers["x-amz-cf-id"]
    assert headers["x-amz-request-id"] and headers["x-amz-id-2"] and headers["server"] == "AmazonS3"
    for moto_only in ("x-amzn-requestid", "access-control-allow-origin", "x-amz-content-sha256"):
        assert moto_only not in headers, moto_only
    log.wait_for("GET /index.html -> 200 signed", since)


def test_root_serves_the_default_root_object(stack) -> None:
    assert request(stack.edge, "GET", "/")[2] == b"hello from s3 bucket one\n"


def test_head(stack) -> None:
    status, headers, body = request(stack.edge, "HEAD", "/index.html")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == "25"


KEYS = [
    ("with space.txt", ["/with%20space.txt", "/with+space.txt"]),
    ("real+plus.txt", ["/real%2Bplus.txt", "/real%2bplus.txt"]),
    ("日本語/ファイル.txt", ["/" + quote("日本語/ファイル.txt")]),
    ("percent%25.txt", ["/percent%2525.txt"]),
    ("dir/sub dir/file.txt", ["/dir/sub%20dir/file.txt", "/dir%2Fsub+dir%2Ffile.txt"]),
]
KEYS += [(f"reserved{c}.txt", [f"/reserved{c}.txt", f"/reserved%{ord(c):02X}.txt"]) for c in "!'()*@:,;=$&"]


@pytest.mark.parametrize(("key", "targets"), KEYS)
def test_keys_with_spaces_plus_unicode_and_reserved_characters(stack, key: str, targets: list[str]) -> None:
    body = f"object {key}".encode()
    put_everywhere(stack, key, body)
    for target in targets:
        status, _, got = request(stack.edge, "GET", target)
        assert (status, got) == (200, body), target


def test_version_id_of_a_versioned_object(stack) -> None:
    first = put_everywhere(stack, "versioned.txt", b"version one")[0]
    put_everywhere(stack, "versioned.txt", b"version two")
    assert request(stack.edge, "GET", "/versioned.txt")[2] == b"version two"
    status, headers, body = request(stack.edge, "GET", f"/versioned.txt?versionId={first}")
    assert (status, body) == (200, b"version one")
    assert headers["x-amz-version-id"] == first


def test_response_content_disposition(stack) -> None:
    put_everywhere(stack, "report.pdf", b"%PDF")
    value = 'attachment; filename="résumé 2026.pdf"'
    status, headers, _ = request(stack.edge, "GET", "/report.pdf?response-content-disposition=" + quote(value))
    assert status == 200
    # UTF-8 on the wire (http.client reads header bytes as Latin-1).
    assert headers["content-disposition"].encode("latin-1").decode("utf-8") == value


def test_range_gives_206(stack) -> None:
    status, headers, body = request(stack.edge, "GET", "/index.html", {"Range": "bytes=6-9"})
    assert (status, body) == (206, b"from")
    assert headers["content-range"] == "bytes 6-9/25"


def test_if_none_match_gives_304(stack) -> None:
    etag = request(stack.edge, "HEAD", "/index.html")[1]["etag"]
    status, _, body = request(stack.edge, "GET", "/index.html", {"If-None-Match": etag})
    assert (status, body) == (304, b"")


def test_missing_key_is_a_404_from_s3(stack) -> None:
    status, _, body = request(stack.edge, "GET", "/no/such/key.txt")
    if oac(stack):  # CloudFront may read, not list: S3 cannot say the key is missing
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
    else:
        assert status == 404 and b"<Code>NoSuchKey</Code>" in body


def test_forged_viewer_auth_headers_are_stripped(stack) -> None:
    forged = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAFORGED/20000101/us-east-1/s3/aws4_request",
        "X-Amz-Date": "20000101T000000Z",
        "X-Amz-Security-Token": "forged-token",
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
    }
    status, _, body = request(stack.edge, "GET", "/index.html?X-Amz-Signature=forged", forged)
    assert (status, body) == (200, b"hello from s3 bucket one\n")


def test_methods_outside_the_behavior_are_refused_at_the_edge(stack) -> None:
    assert request(stack.edge, "POST", "/index.html")[0] == 403


def test_origin_path_is_signed_and_sent(stack) -> None:
    put_everywhere(stack, "site v2/page+1.html", b"prefixed")
    edge = Edge(stack.function, Origin(settings.MRAP_DOMAIN, path="/site%20v2"), stack.edge.resolver, log=print)
    try:
        assert request(edge, "GET", "/page%2B1.html")[2] == b"prefixed"
    finally:
        edge.close()


def swap_function(stack: LocalStack, pool: FunctionPool):
    original = stack.edge.function
    stack.edge.function = pool
    return original


def test_broken_function_result_is_a_502_from_the_edge(stack, tmp_path: Path) -> None:
    function_only(stack)
    (tmp_path / "lambda_function.py").write_text(
        "def lambda_handler(event, context):\n"
        "    request = event['Records'][0]['cf']['request']\n"
        "    request['headers']['via'] = [{'key': 'Via', 'value': 'changed'}]\n"
        "    return request\n"
    )
    with FunctionPool(tmp_path, size=1) as pool:
        original = swap_function(stack, pool)
        try:
            status, _, body = request(stack.edge, "GET", "/index.html")
        finally:
            stack.edge.function = original
    assert status == 502 and b"failed validation" in body and b"via" in body


@pytest.mark.parametrize(
    ("env", "code"),
    [
        (role_environment(secret_access_key="not-the-secret"), b"SignatureDoesNotMatch"),
        (role_environment(access_key_id="AKIAUNKNOWNKEYEXAMPLE"), b"InvalidAccessKeyId"),
        (role_environment(session_token="a-stale-token"), b"InvalidToken"),
    ],
)
def test_wrong_credentials_are_refused_by_the_mrap(stack, env, code: bytes) -> None:
    function_only(stack)
    with FunctionPool.from_zip(Path("lambda/deployment-package.zip"), size=1, env=env) as pool:
        original = swap_function(stack, pool)
        try:
            status, _, body = request(stack.edge, "GET", "/index.html")
        finally:
            stack.edge.function = original
    assert status in (400, 403) and code in body


def test_clock_skew_is_refused(stack) -> None:
    stack.mrap.clock = lambda: time.time() + 16 * 60
    status, _, body = request(stack.edge, "GET", "/index.html")
    assert status == 403 and b"RequestTimeTooSkewed" in body
    stack.mrap.clock = lambda: time.time() + 14 * 60
    assert request(stack.edge, "GET", "/index.html")[0] == 200


def test_nearest_bucket_wins(stack) -> None:
    stack.mrap.routes[0].latency_ms, stack.mrap.routes[1].latency_ms = 200.0, 5.0
    assert request(stack.edge, "GET", "/index.html")[2] == b"hello from s3 bucket two\n"


def test_passive_bucket_gets_no_traffic(stack) -> None:
    stack.mrap.set_traffic_dial(ONE, 0)
    assert request(stack.edge, "GET", "/index.html")[2] == b"hello from s3 bucket two\n"
    with pytest.raises(ValueError):
        stack.mrap.set_traffic_dial(TWO, 0)


def test_bucket_down_routes_to_the_other(stack) -> None:
    stack.mrap.mark_down(ONE)
    assert request(stack.edge, "GET", "/index.html")[2] == b"hello from s3 bucket two\n"


def test_primary_503_fails_over_to_the_secondary_unsigned(stack, log) -> None:
    stack.mrap.mark_down(ONE)
    stack.mrap.mark_down(TWO)
    since = len(log)
    status, _, body = request(stack.edge, "GET", "/index.html")
    assert (status, body) == (200, b"hello from the failover bucket\n")
    line = log.wait_for("-> 200 passed-through+failover", since)
    assert "mrap=503 ServiceUnavailable" in line  # the primary's answer, in the same access line


def test_concurrent_requests_are_all_answered(stack) -> None:
    keys = [f"load/{i}.txt" for i in range(20)]
    for key in keys:
        put_everywhere(stack, key, key.encode())

    def fetch(i: int) -> tuple[int, bytes, bytes]:
        key = keys[i % len(keys)]
        status, _, body = request(stack.edge, "GET", "/" + key)
        return status, body, key.encode()

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(fetch, range(300), timeout=120))
    assert len(results) == 300
    assert all(status == 200 and body == expected for status, body, expected in results)


def test_function_generated_405_is_returned_as_cloudfront_would(stack) -> None:
    function_only(stack)
    from local.cloudfront.server import Behavior

    every = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"})
    edge = Edge(stack.function, stack.edge.primary, stack.edge.resolver, Behavior(allowed_methods=every), log=print)
    try:
        status, headers, body = request(edge, "DELETE", "/index.html")
    finally:
        edge.close()
    assert status == 405 and headers["allow"] == "GET, HEAD, OPTIONS"
    assert headers["cache-control"] == "no-store" and b"MethodNotAllowed" in body


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/new.txt"), ("DELETE", "/index.html"), ("OPTIONS", "/index.html")]
)
def test_requests_the_mrap_policy_forbids(stack, method: str, path: str) -> None:
    """Straight to the MRAP endpoint, validly signed for the role: writes and OPTIONS (no
    MRAP operation) are refused."""
    function_only(stack)  # oac: tests/local/cloudfront/test_oac.py
    from mrap_edge.signer import SignerCache, sign_request

    signer = SignerCache().get(role_environment())
    signed = sign_request(signer, method, settings.MRAP_DOMAIN, path, "", "cf-id")
    conn = http.client.HTTPConnection(*stack.mrap.address, timeout=30)
    try:
        conn.request(method, path, headers={"Host": settings.MRAP_DOMAIN, "X-Amz-Cf-Id": "cf-id", **signed})
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    assert status == 403 and b"<Code>AccessDenied</Code>" in body


def test_unsigned_x_amz_header_is_refused_by_the_mrap(stack) -> None:
    function_only(stack)
    from mrap_edge.signer import SignerCache, sign_request

    signed = sign_request(SignerCache().get(role_environment()), "GET", settings.MRAP_DOMAIN, "/index.html", "", "id")
    conn = http.client.HTTPConnection(*stack.mrap.address, timeout=30)
    headers = {"Host": settings.MRAP_DOMAIN, "X-Amz-Cf-Id": "id", "X-Amz-Extra": "unsigned", **signed}
    try:
        conn.request("GET", "/index.html", headers=headers)
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    assert status == 403 and b"HeadersNotSigned" in body and b"x-amz-extra" in body
