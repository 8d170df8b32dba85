"""Origins as CloudFront describes them: ``custom`` and ``s3`` types, origin paths."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import lambda_function
from local.cloudfront.event import origin_request_event, validate_result, wire_request
from local.s3.sigv4a import s3_key_bytes
from tests.conftest import MRAP_DOMAIN, REQUEST_ID, check_signed, make_event, request_of


def handle(event: dict) -> dict:
    return lambda_function.lambda_handler(event, None)


def s3_origin(domain: str, path: str = "", custom_headers: dict[str, str] | None = None) -> dict[str, Any]:
    """``origin.s3`` as in the event reference: authMethod, customHeaders, domainName, path, region."""
    return {
        "s3": {
            "authMethod": "none",
            "customHeaders": {k.lower(): [{"key": k, "value": v}] for k, v in (custom_headers or {}).items()},
            "domainName": domain,
            "path": path,
            "region": "",
        }
    }


def s3_event(uri: str = "/index.html", query: str = "", method: str = "GET", **origin: Any) -> dict:
    headers = {"Host": [origin["domain"]], "Via": ["2.0 abc.cloudfront.net (CloudFront)"], "Accept-Encoding": ["gzip"]}
    return origin_request_event(method, uri, query, headers, s3_origin(**origin), REQUEST_ID)


def test_s3_type_origin_on_an_mrap_is_signed(creds) -> None:
    event = s3_event("/a+b", "partNumber=1", domain=MRAP_DOMAIN)
    result = handle(event)
    assert "authorization" in result["headers"]
    assert result["origin"] == request_of(event)["origin"]  # nothing to re-encode
    wire = check_signed(event, result, creds)
    assert s3_key_bytes(wire.path) == b"/a b"


def test_s3_type_origin_path_is_re_encoded_in_its_own_kind(creds) -> None:
    event = s3_event("/k", domain=MRAP_DOMAIN, path="/site+v2")
    result = handle(event)
    assert set(result["origin"]) == {"s3"}
    assert result["origin"]["s3"]["path"] == "/site%20v2"
    assert result["origin"]["s3"]["authMethod"] == "none"  # the other settings are kept
    assert check_signed(event, result, creds).path == "/site%20v2/k"


@pytest.mark.parametrize(
    "event",
    [
        s3_event(domain="my-bucket.s3.eu-west-1.amazonaws.com"),
        s3_event(domain="my-bucket.s3.eu-west-1.amazonaws.com", method="PUT"),
        s3_event(domain=MRAP_DOMAIN, custom_headers={"originTypeFailover": "true"}),
    ],
)
def test_s3_type_origins_pass_through_untouched(creds, event) -> None:
    before = copy.deepcopy(event)
    result = handle(event)
    assert result is request_of(event) and event == before
    validate_result(request_of(before), result)


@pytest.mark.parametrize(
    ("origin_path", "expected"),
    [
        ("/site+v2", "/site%20v2"),
        ("/site%2bv2", "/site%2Bv2"),
        ("/caf\u00e9", "/caf%C3%A9"),
        ("/%7Euser/a%20b", "/~user/a%20b"),
        ("/a%2Fb", "/a/b"),
        ("/x!y", "/x%21y"),
    ],
)
def test_non_canonical_origin_path_is_re_encoded_and_signed(creds, origin_path: str, expected: str) -> None:
    event = make_event("/k+1", origin_path=origin_path)
    result = handle(event)
    assert result["origin"]["custom"]["path"] == expected
    assert result["origin"]["custom"]["domainName"] == MRAP_DOMAIN  # the rest of the origin is kept
    assert request_of(event)["origin"]["custom"]["path"] == origin_path  # the event is not mutated
    wire = check_signed(event, result, creds)
    assert wire.path == expected + "/k%201"


def test_canonical_origin_path_keeps_the_events_origin(creds) -> None:
    event = make_event("/k", origin_path="/site/v2")
    result = handle(event)
    assert result["origin"] is request_of(event)["origin"]
    check_signed(event, result, creds)


def test_empty_origin_path_signs_the_uri_alone(creds) -> None:
    event = make_event("/k")
    result = handle(event)
    assert result["origin"] is request_of(event)["origin"]
    assert wire_request(result, REQUEST_ID).path == "/k"


@pytest.mark.parametrize("origin_path", ["/bad%zz", "/%80", "/100%"])
def test_undecodable_origin_path_gets_a_502(creds, origin_path: str) -> None:
    result = handle(make_event(origin_path=origin_path))
    assert result["status"] == "502"
    assert json.loads(result["body"])["requestId"] == REQUEST_ID
