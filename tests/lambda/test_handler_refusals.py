"""What the function refuses, and the shape of each refusal."""

from __future__ import annotations

import json

import pytest

import lambda_function
from mrap_edge.canonical import PathError, canonical_path, canonical_query
from tests.conftest import REQUEST_ID, make_event

LONE_BYTES = [f"%{b:02X}" for b in range(0x80, 0x100)]
CONTINUATION = [f"%{b:02X}" for b in range(0x80, 0xC0)]


def handle(event: dict) -> dict:
    return lambda_function.lambda_handler(event, None)


@pytest.mark.parametrize("escape", LONE_BYTES)
def test_a_lone_high_byte_is_not_utf8_and_is_refused(escape: str) -> None:
    for text in (escape, escape.lower()):
        with pytest.raises(PathError, match="UTF-8"):
            canonical_path(f"/a{text}b")
        with pytest.raises(PathError, match="UTF-8"):
            canonical_query(f"k=a{text}")
        with pytest.raises(PathError, match="UTF-8"):
            canonical_query(f"a{text}=v")


@pytest.mark.parametrize("escape", ["%80", "%8f", "%9F", "%A0", "%BF"])
def test_a_lone_continuation_byte_gets_a_502_with_the_request_id(creds, escape: str) -> None:
    for event in (make_event(f"/k{escape}"), make_event("/k", f"q={escape}")):
        result = handle(event)
        assert result["status"] == "502"
        body = json.loads(result["body"])
        assert body == {"error": "BadGateway", "message": body["message"], "requestId": REQUEST_ID}
        assert "UTF-8" in body["message"]


@pytest.mark.parametrize("escape", CONTINUATION)
def test_a_continuation_byte_after_its_lead_is_valid(escape: str) -> None:
    assert canonical_path(f"/%C2{escape}") == f"/%C2{escape}"
    assert canonical_query(f"k=%c2{escape.lower()}") == f"k=%C2{escape}"


@pytest.mark.parametrize(
    "raw", ["/%E2%82", "/%F0%9F%90", "/%C0%AF", "/%ED%A0%80", "/%F4%90%80%80", "/%E2%82%AC%80", "/%E2%28%A1"]
)
def test_truncated_overlong_or_surrogate_sequences_are_refused(raw: str) -> None:
    with pytest.raises(PathError):
        canonical_path(raw)


def test_escaped_ascii_needs_no_utf8_check() -> None:
    assert canonical_path("/%41%7e%2d") == "/A~-"
    assert canonical_query("%41=%7E") == "A=~"


def test_502_body_keeps_the_request_id_for_every_failure(creds, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    cases = [make_event("/bad%zz")]
    for event in cases:
        body = json.loads(handle(event)["body"])
        assert body["requestId"] == REQUEST_ID
    monkeypatch.setattr(lambda_function, "sign_request", boom)
    body = json.loads(handle(make_event(request_id="another-id"))["body"])
    assert body == {
        "error": "BadGateway",
        "message": "the origin request could not be signed",
        "requestId": "another-id",
    }
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setattr(lambda_function, "SIGNERS", type(lambda_function.SIGNERS)())
    body = json.loads(handle(make_event())["body"])
    assert body["requestId"] == REQUEST_ID and "AWS_ACCESS_KEY_ID" in body["message"]


def test_malformed_event_502_has_no_request_id() -> None:
    result = handle({"Records": []})
    assert result["status"] == "502"
    assert json.loads(result["body"]) == {"error": "BadGateway", "message": "malformed origin-request event"}


def test_generated_502_is_a_valid_cloudfront_response(creds) -> None:
    result = handle(make_event("/%80"))
    assert result["statusDescription"] == "Bad Gateway" and result["bodyEncoding"] == "text"
    assert result["headers"]["content-type"] == [{"key": "Content-Type", "value": "application/json"}]
    assert result["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_405_names_the_method(creds, method: str) -> None:
    result = handle(make_event(method=method))
    assert result["status"] == "405" and result["statusDescription"] == "Method Not Allowed"
    assert json.loads(result["body"]) == {
        "error": "MethodNotAllowed",
        "message": f"{method} is not served from this origin",
    }
    assert result["headers"]["content-type"][0]["value"] == "application/json"


def test_generated_bodies_are_compact_json(creds) -> None:
    assert handle(make_event(method="PUT"))["body"] == (
        '{"error":"MethodNotAllowed","message":"PUT is not served from this origin"}'
    )
    assert handle({})["body"] == '{"error":"BadGateway","message":"malformed origin-request event"}'


def test_405_allow_header_keeps_its_case(creds) -> None:
    [entry] = handle(make_event(method="DELETE"))["headers"]["allow"]
    assert entry["key"] == "Allow" and "GET" in entry["value"]


@pytest.mark.parametrize(
    ("call", "raw", "message"),
    [
        (canonical_path, "/100%", "uri has a '%' that is not followed by two hex digits"),
        (canonical_path, "/\ud800", "uri does not decode to UTF-8"),
        (canonical_path, "/%C3%28", "uri does not decode to UTF-8"),
        (canonical_query, "k=%", "query string has a '%' that is not followed by two hex digits"),
        (canonical_query, "k=\udfff", "query string does not decode to UTF-8"),
        (canonical_query, "k=%80", "query value does not decode to UTF-8"),
        (canonical_query, "%80=v", "query name does not decode to UTF-8"),
    ],
)
def test_refusal_messages_name_the_part(call, raw: str, message: str) -> None:
    with pytest.raises(PathError) as err:
        call(raw)
    assert str(err.value) == message


def test_generated_answers_have_their_exact_shape(creds) -> None:
    """OPTIONS and a refusal, as CloudFront reads them (status line text included)."""
    from mrap_edge.responses import options_no_content, refused

    assert options_no_content()["statusDescription"] == "No Content"
    answer = refused(404, "why", "rid")
    assert (answer["status"], answer["statusDescription"]) == ("404", "Not Found")
    assert json.loads(answer["body"]) == {"error": "NotFound", "message": "why", "requestId": "rid"}
    assert json.loads(refused(414, "long")["body"]) == {"error": "UriTooLong", "message": "long"}
    assert refused(403, "acl")["statusDescription"] == "Forbidden"
