"""The local edge rejects what CloudFront rejects (a 502 in production)."""

from __future__ import annotations

import copy

import pytest

from local.cloudfront.event import ValidationError, validate_result
from tests.conftest import make_event, request_of


def original() -> dict:
    return request_of(make_event(headers={"If-None-Match": ['"abc"']}))


def mutated(change) -> dict:
    result = copy.deepcopy(original())
    change(result)
    return result


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r["headers"].update(via=[{"key": "Via", "value": "x"}]), "read-only"),
        (lambda r: r["headers"].pop("accept-encoding"), "read-only"),
        (lambda r: r["headers"].pop("if-none-match"), "read-only"),
        (lambda r: r["headers"].update({"x-amz-cf-id": [{"key": "X-Amz-Cf-Id", "value": "x"}]}), "disallowed"),
        (lambda r: r["headers"].update(connection=[{"key": "Connection", "value": "close"}]), "disallowed"),
        (lambda r: r["headers"].update({"X-Big": [{"value": "x"}]}), "lower-case"),
        (lambda r: r["headers"].update(host={"key": "Host", "value": "x"}), "must be a list"),
        (lambda r: r["headers"].update(host=[{"key": "Other", "value": "x"}]), "does not match"),
        (lambda r: r["headers"].update(foo=[{"key": "Foo", "value": "a\nb"}]), "control character"),
        (lambda r: r.update(method="POST"), "read-only field"),
        (lambda r: r.update(uri="no-slash"), "uri"),
        (lambda r: r.update(uri="/a b"), "space"),
        (lambda r: r.update(querystring="?a=1"), "querystring"),
        (lambda r: r.update(uri="/" + "a" * 8200), "longer"),
        (lambda r: r["origin"]["custom"].update(path="/trailing/"), "origin path"),
        (lambda r: r["origin"]["custom"].update(domainName="host:443"), "domainName"),
        (lambda r: r["origin"]["custom"].update(port=8), "port"),
        (lambda r: r["origin"].update(s3={"domainName": "b"}), "exactly one"),
    ],
)
def test_invalid_results_are_rejected(change, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate_result(original(), mutated(change))


def test_the_untouched_request_is_valid() -> None:
    validate_result(original(), original())


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"status": 200}, "status"),
        ({"status": "99"}, "status"),
        ({"status": "200", "body": 5}, "body"),
        ({"status": "200", "bodyEncoding": "hex"}, "bodyEncoding"),
        ({"status": "204", "body": "x"}, "204"),
        ({"status": "200", "body": "x" * (1024 * 1024 + 1)}, "1 MB"),
    ],
)
def test_invalid_generated_responses_are_rejected(response: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate_result(original(), response)
