"""The handler end to end: CloudFront's validation, then S3's verification of the wire request."""

from __future__ import annotations

import copy
import io
import json

import pytest

import lambda_function
from local.cloudfront.event import validate_result
from local.s3.sigv4a import s3_key_bytes
from local.s3.verifier import Credential, S3Error
from mrap_edge.logs import JsonLogger
from tests.conftest import (
    AKID,
    ALLOW_ALL,
    MRAP_DOMAIN,
    REQUEST_ID,
    SECRET,
    TOKEN,
    check_signed,
    make_event,
    request_of,
)

RESERVED = "!'()*@:,;=$&"


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(lambda_function, "LOG", JsonLogger("DEBUG", stream))
    return stream


def handle(event: dict) -> dict:
    return lambda_function.lambda_handler(event, None)


KEY_CASES = [
    ("/index.html", "index.html"),
    ("/with%20space.txt", "with space.txt"),
    ("/with space.txt", "with space.txt"),
    ("/plus+is+space", "plus is space"),
    ("/real%2Bplus", "real+plus"),
    ("/%E6%97%A5%E6%9C%AC/%F0%9F%90%8D.png", "日本/🐍.png"),
    ("/日本/🐍.png", "日本/🐍.png"),
    ("/percent%25sign", "percent%sign"),
    ("/encoded%2Fslash", "encoded/slash"),
    ("//double//slash", "/double//slash"),
    ("/./dot/../segments", "./dot/../segments"),
    ("/trailing/", "trailing/"),
    ("/" + "k" * 1000, "k" * 1000),
    ("/" + "é" * 400, "é" * 400),
]
KEY_CASES += [(f"/r{c}x", f"r{c}x") for c in RESERVED]
KEY_CASES += [(f"/e%{ord(c):02X}x", f"e{c}x") for c in RESERVED]


@pytest.mark.parametrize(("uri", "key"), KEY_CASES)
def test_keys_are_signed_and_resolve_to_the_same_object(creds, uri: str, key: str) -> None:
    event = make_event(uri)
    wire = check_signed(event, handle(event), creds)
    assert s3_key_bytes(wire.path) == b"/" + key.encode()


def test_origin_path_is_part_of_what_is_signed(creds) -> None:
    event = make_event("/a+b", origin_path="/site%20v2")
    result = handle(event)
    assert result["origin"]["custom"]["path"] == "/site%20v2"
    wire = check_signed(event, result, creds)
    assert wire.path == "/site%20v2/a%20b"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", {"versionId": ["3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"]}),
        (
            "response-content-disposition=attachment%3B%20filename%3D%22a%20b.pdf%22",
            {"response-content-disposition": ['attachment; filename="a b.pdf"']},
        ),
        ("partNumber=3", {"partNumber": ["3"]}),
        ("flag", {"flag": [""]}),
        ("a=1&a=2&a=", {"a": ["", "1", "2"]}),
        ("empty=&x=y", {"empty": [""], "x": ["y"]}),
        ("q=a+b&r=c%2Bd", {"q": ["a b"], "r": ["c+d"]}),
        ("%E2%82%AC=%E2%82%AC", {"€": ["€"]}),
    ],
)
def test_query_strings_are_kept_and_signed(creds, query: str, expected: dict) -> None:
    from urllib.parse import unquote

    event = make_event("/k", query, custom_headers=ALLOW_ALL)  # a distribution that allows them all
    wire = check_signed(event, handle(event), creds)
    got: dict[str, list[str]] = {}
    for part in wire.query.split("&"):
        name, _, value = part.partition("=")
        got.setdefault(unquote(name), []).append(unquote(value))
    assert {k: sorted(v) for k, v in got.items()} == expected


def test_conditional_and_range_headers_are_kept(creds) -> None:
    viewer = {
        "Range": ["bytes=0-99"],
        "If-Match": ['"etag-1"'],
        "If-None-Match": ['"etag-2"'],
        "If-Modified-Since": ["Wed, 21 Oct 2015 07:28:00 GMT"],
        "If-Unmodified-Since": ["Wed, 21 Oct 2025 07:28:00 GMT"],
        "Cache-Control": ["no-cache"],
        "Origin": ["https://www.example.com"],
    }
    event = make_event(headers=viewer)
    result = handle(event)
    check_signed(event, result, creds)
    for name, values in viewer.items():
        assert [e["value"] for e in result["headers"][name.lower()]] == values
    for name in ("via", "accept-encoding", "user-agent", "x-forwarded-for"):
        assert result["headers"][name] == request_of(event)["headers"][name]


def test_forged_viewer_auth_headers_do_not_survive(creds) -> None:
    forged = {
        "Authorization": ["AWS4-HMAC-SHA256 Credential=AKIAFORGED/x"],
        "X-Amz-Date": ["20000101T000000Z"],
        "X-Amz-Security-Token": ["forged-token"],
        "X-Amz-Content-SHA256": ["UNSIGNED-PAYLOAD"],
        "X-Amz-Server-Side-Encryption-Customer-Key": ["forged"],
    }
    event = make_event(headers=forged)
    result = handle(event)
    check_signed(event, result, creds)
    headers = result["headers"]
    assert "x-amz-security-token" not in headers
    assert "x-amz-server-side-encryption-customer-key" not in headers
    assert headers["x-amz-date"][0]["value"] != "20000101T000000Z"
    assert "AKIAFORGED" not in headers["authorization"][0]["value"]


def test_session_token_is_sent_and_signed(session_creds) -> None:
    event = make_event()
    result = handle(event)
    check_signed(event, result, session_creds)
    assert result["headers"]["x-amz-security-token"] == [{"key": "X-Amz-Security-Token", "value": TOKEN}]
    assert "x-amz-security-token" in result["headers"]["authorization"][0]["value"]


def test_cf_id_is_signed_but_not_returned(creds) -> None:
    event = make_event()
    result = handle(event)
    auth = result["headers"]["authorization"][0]["value"]
    assert "SignedHeaders=host;x-amz-cf-id;x-amz-content-sha256;x-amz-date;x-amz-region-set," in auth
    assert "x-amz-cf-id" not in result["headers"]
    assert result["headers"]["host"] == [{"key": "Host", "value": MRAP_DOMAIN}]


def test_a_different_cf_id_fails_verification(creds) -> None:
    from local.cloudfront.event import wire_request
    from local.s3.verifier import verify_s3_request

    event = make_event()
    wire = wire_request(handle(event), "another-request-id")
    with pytest.raises(S3Error) as err:
        verify_s3_request(wire, creds, now=__import__("time").time())
    assert err.value.code == "SignatureDoesNotMatch"


def test_wrong_secret_fails_verification(creds) -> None:
    event = make_event()
    result = handle(event)
    with pytest.raises(S3Error) as err:
        check_signed(event, result, {AKID: Credential(AKID, "not-the-secret")})
    assert err.value.code == "SignatureDoesNotMatch"


def test_rotated_credentials_are_picked_up(creds, monkeypatch) -> None:
    check_signed(make_event(), handle(make_event()), creds)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAROTATED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rotated-secret")
    event = make_event()
    result = handle(event)
    check_signed(event, result, {"AKIAROTATED": Credential("AKIAROTATED", "rotated-secret")})


def test_signer_is_reused_while_credentials_stay(creds) -> None:
    handle(make_event())
    first = lambda_function.SIGNERS._signer
    handle(make_event())
    assert lambda_function.SIGNERS._signer is first


@pytest.mark.parametrize(
    "event",
    [
        make_event(custom_headers={"originTypeFailover": "true"}),
        make_event(domain="failover-bucket.s3.eu-west-1.amazonaws.com"),
        make_event(domain="failover-bucket.s3.eu-west-1.amazonaws.com", method="POST"),
    ],
)
def test_pass_through_returns_the_request_exactly_as_received(creds, event, log_lines) -> None:
    before = copy.deepcopy(request_of(event))
    result = handle(event)
    assert result is request_of(event)
    assert result == before
    assert json.loads(log_lines.getvalue().splitlines()[-1])["event"] == "passed-through"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_get_a_generated_405(creds, method: str) -> None:
    event = make_event(method=method)
    result = handle(event)
    assert result["status"] == "405"
    assert result["headers"]["allow"][0]["value"] == "GET, HEAD, OPTIONS"
    assert result["headers"]["cache-control"][0]["value"] == "no-store"


def _assert_bad_gateway(result: dict, log_lines: io.StringIO) -> dict:
    assert result["status"] == "502"
    assert result["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    assert "headers" in result and "uri" not in result  # a response, never a forwarded request
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert logged and logged[-1]["level"] == "ERROR"
    text = log_lines.getvalue() + json.dumps(result)
    for secret in (SECRET, TOKEN, "Signature="):
        assert secret not in text
    return logged[-1]


@pytest.mark.parametrize("event", [None, {}, {"Records": [{"cf": {}}]}, "text", 42])
def test_malformed_events_get_a_502(creds, event, log_lines) -> None:
    entry = _assert_bad_gateway(handle(event), log_lines)
    assert "malformed" in entry["reason"]


@pytest.mark.parametrize("uri", ["/bad%zz", "/100%", "/%C3%28"])
def test_unparseable_uri_gets_a_502(creds, uri: str, log_lines) -> None:
    entry = _assert_bad_gateway(handle(make_event(uri)), log_lines)
    assert entry["request_id"] == REQUEST_ID


def test_missing_credentials_get_a_502(monkeypatch, log_lines) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    entry = _assert_bad_gateway(handle(make_event()), log_lines)
    assert "AWS_ACCESS_KEY_ID" in entry["reason"]


def test_unexpected_failure_gets_a_502_without_a_trace(creds, monkeypatch, log_lines) -> None:
    def boom(*args, **kwargs):
        raise KeyError(SECRET)

    monkeypatch.setattr(lambda_function, "sign_request", boom)
    result = handle(make_event())
    entry = _assert_bad_gateway(result, log_lines)
    assert "Traceback" not in result["body"]
    assert entry["reason"] == "unexpected KeyError"


def test_signed_request_logs_no_secret(session_creds, log_lines) -> None:
    event = make_event("/k", "X-Amz-Signature=leak&token=leak")
    assert handle(event)["querystring"] == "token=leak"
    result = handle(event)
    check_signed(event, result, session_creds)
    text = log_lines.getvalue()
    assert json.loads(text.splitlines()[-1])["event"] == "signed"
    for secret in (SECRET, TOKEN, "Signature=", "leak", "token=", result["headers"]["authorization"][0]["value"]):
        assert secret not in text


def test_the_event_is_not_mutated(creds) -> None:
    event = make_event("/a+b", "b=1&a=2", headers={"X-Amz-Date": ["forged"]}, origin_path="/p")
    before = copy.deepcopy(event)
    handle(event)
    assert event == before


def _never_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("signed a request that must never be signed")

    monkeypatch.setattr(lambda_function, "sign_request", boom)


def _assert_refused(event: dict, status: str, log_lines: io.StringIO) -> dict:
    result = handle(event)
    validate_result(request_of(event), result)  # CloudFront accepts it
    assert result["status"] == status and "uri" not in result  # a response, never a forwarded request
    assert result["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    lines = log_lines.getvalue().splitlines()
    assert len(lines) == 1  # one JSON line per refusal
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING" and entry["status"] == int(status) and entry["request_id"] == REQUEST_ID
    body = json.loads(result["body"])
    assert body["requestId"] == REQUEST_ID and body["message"] == entry["reason"]
    return entry


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("query", ["", "list-type=2", "versions", "versionId=3"])
def test_bucket_level_requests_get_a_generated_404(creds, monkeypatch, log_lines, method: str, query: str) -> None:
    _never_sign(monkeypatch)
    entry = _assert_refused(make_event("/", query, method=method), "404", log_lines)
    assert "no object key" in entry["reason"]
    assert query not in json.dumps(entry) or not query  # the query string is never logged


def test_a_key_under_an_origin_path_is_signed_not_refused(creds) -> None:
    event = make_event("/", origin_path="/site")
    wire = check_signed(event, handle(event), creds)
    assert wire.path == "/site/"


@pytest.mark.parametrize("query", ["acl", "tagging=", "versionId=1&torrent", "uploadId=abc", "attributes", "ACL"])
def test_sub_resource_queries_get_a_generated_403(creds, monkeypatch, log_lines, query: str) -> None:
    _never_sign(monkeypatch)
    entry = _assert_refused(make_event("/index.html", query), "403", log_lines)
    assert "sub-resource" in entry["reason"]
    assert "abc" not in log_lines.getvalue()


def test_options_gets_a_bare_204_and_is_never_signed(creds, monkeypatch, log_lines) -> None:
    _never_sign(monkeypatch)
    viewer = {"Origin": ["https://app.example.com"], "Access-Control-Request-Method": ["GET"]}
    event = make_event("/index.html", method="OPTIONS", headers=viewer)
    result = handle(event)
    validate_result(request_of(event), result)
    assert result["status"] == "204" and not result.get("body")
    assert result["headers"] == {"allow": [{"key": "Allow", "value": "GET, HEAD, OPTIONS"}]}  # no CORS of its own
    assert json.loads(log_lines.getvalue().splitlines()[-1])["event"] == "answered"
    assert handle(make_event("/", method="OPTIONS"))["status"] == "204"  # even where a GET is refused


def test_options_to_the_failover_origin_passes_through(creds) -> None:
    event = make_event(method="OPTIONS", custom_headers={"originTypeFailover": "true"})
    assert handle(event) is request_of(event)


def test_a_uri_that_strict_encoding_makes_too_long_gets_a_generated_414(creds, monkeypatch, log_lines) -> None:
    uri = "/" + "!" * 2731  # 2,732 characters from the viewer, 8,194 once each "!" is "%21"
    _never_sign(monkeypatch)
    entry = _assert_refused(make_event(uri), "414", log_lines)
    assert entry["uri"] == uri[:256]


def _uri_encoding_to(length: int) -> str:
    """A viewer uri that strict encoding turns into ``length`` characters ("!" -> "%21")."""
    n, m = divmod(length - 1, 3)
    return "/" + "!" * n + "k" * m


def test_the_longest_url_cloudfront_accepts_is_signed(creds) -> None:
    # origin path + uri + "?" + query = 8,191 characters once encoded: still accepted.
    query = "versionId=" + "v" * 100
    uri = _uri_encoding_to(8191 - len("/p") - 1 - len(query))
    event = make_event(uri, query, origin_path="/p", custom_headers=ALLOW_ALL)
    wire = check_signed(event, handle(event), creds)
    assert len(wire.path) + 1 + len(wire.query) == 8191


def test_a_url_one_character_longer_gets_a_414(creds) -> None:
    query = "versionId=" + "v" * 101
    event = make_event(_uri_encoding_to(8191 - len("/p") - 1 - 100 - 10), query, origin_path="/p")
    assert handle(event)["status"] == "414"
