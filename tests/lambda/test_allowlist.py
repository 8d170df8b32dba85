"""Guarded query parameters (response-*, versionId): refused unless the distribution allows them, never signed."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest

import lambda_function
from local.cloudfront.event import validate_result
from mrap_edge.allowlist import (
    ALLOW_HEADER,
    GUARDED,
    RESPONSE_OVERRIDES,
    VERSION_ID,
    allowed_parameters,
    check_parameters,
    without_allow_header,
)
from mrap_edge.logs import JsonLogger
from tests.conftest import ALLOW_ALL, REQUEST_ID, check_signed, make_event, request_of


def entries(*values: str) -> dict[str, list[dict[str, str]]]:
    """Origin custom headers as CloudFront puts them in the event."""
    return {ALLOW_HEADER: [{"key": "X-Mrap-Edge-Allow", "value": v} for v in values]}


# --- reading the header ----------------------------------------------------------------


def test_no_header_allows_nothing_signed_only() -> None:
    assert allowed_parameters({}) == frozenset()
    assert allowed_parameters({"originTypeFailover": [{"key": "originTypeFailover", "value": "versionId"}]}) == set()


def test_the_header_lists_the_allowed_names() -> None:
    assert allowed_parameters(entries("partNumber,versionId,response-content-type")) == {
        "versionId",
        "response-content-type",
    }


def test_every_signed_only_name_can_be_allowed() -> None:
    assert GUARDED == {VERSION_ID, *RESPONSE_OVERRIDES}
    assert allowed_parameters(entries(",".join(GUARDED))) == GUARDED
    # The six response-* overrides of GetObject's reference, and nothing else.
    assert set(RESPONSE_OVERRIDES) == {
        f"response-{h}"
        for h in ("cache-control", "content-disposition", "content-encoding", "content-language", "content-type")
    } | {"response-expires"}


def test_spaces_around_names_are_ignored() -> None:
    assert allowed_parameters(entries(" versionId , response-expires")) == {"versionId", "response-expires"}


def test_unknown_names_in_the_header_allow_nothing() -> None:
    # Only the known guarded names: a header naming another parameter grants nothing.
    assert allowed_parameters(entries("response-foo,acl,VersionId,*,")) == frozenset()


def test_several_header_entries_are_read_together() -> None:
    assert allowed_parameters(entries("versionId", "response-content-type")) == {"versionId", "response-content-type"}


@pytest.mark.parametrize(
    "headers",
    [
        {ALLOW_HEADER: "versionId"},  # not a list
        {ALLOW_HEADER: ["versionId"]},  # entries not objects
        {ALLOW_HEADER: [{"key": "X-Mrap-Edge-Allow"}]},  # no value
        {ALLOW_HEADER: [{"key": "X-Mrap-Edge-Allow", "value": 1}]},
    ],
)
def test_an_unreadable_header_allows_nothing(headers: dict) -> None:
    assert allowed_parameters(headers) == frozenset()


def test_an_unreadable_entry_does_not_hide_a_readable_one() -> None:
    headers = {ALLOW_HEADER: [{"key": "x"}, "junk", {"key": "X-Mrap-Edge-Allow", "value": "versionId"}]}
    assert allowed_parameters(headers) == {"versionId"}


# --- checking a canonical query -----------------------------------------------------------


@pytest.mark.parametrize("query", ["", "partNumber=2", "a=1&b=", "x-id=GetObject", "responsecontent=1", "version=2"])
def test_queries_without_signed_only_names_pass(query: str) -> None:
    assert check_parameters(query, frozenset()) is None


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_each_signed_only_name_is_refused_unless_allowed(name: str) -> None:
    refusal = check_parameters(f"a=1&{name}=x&z=2", frozenset())
    assert refusal is not None and refusal.status == 403
    assert repr(name) in refusal.reason
    assert check_parameters(f"a=1&{name}=x&z=2", frozenset({name})) is None
    others = GUARDED - {name}
    assert check_parameters(f"a=1&{name}=x", frozenset(others)) is not None


def test_the_refusal_names_the_template_parameter_that_allows_it() -> None:
    assert check_parameters("versionId=1", frozenset()).reason == (
        "query parameter 'versionId' is not allowed by this distribution (AllowVersionReads)"
    )
    assert check_parameters("response-content-type=a", frozenset()).reason == (
        "query parameter 'response-content-type' is not allowed by this distribution (AllowedResponseOverrides)"
    )


@pytest.mark.parametrize("name", ["VersionId", "VERSIONID", "Response-Content-Type", "RESPONSE-EXPIRES"])
def test_other_spellings_are_refused_even_when_the_name_is_allowed(name: str) -> None:
    assert check_parameters(f"{name}=1", GUARDED) is not None


@pytest.mark.parametrize("name", ["response-foo", "response-", "response-content-type-x"])
def test_unknown_response_names_are_never_allowed(name: str) -> None:
    assert check_parameters(f"{name}=1", GUARDED) is not None


def test_a_bare_flag_is_checked_by_its_name() -> None:
    assert check_parameters("versionId=", frozenset()) is not None
    assert check_parameters("versionId", frozenset()) is not None


# --- the header never reaches the origin ------------------------------------------------


def test_without_allow_header_drops_only_that_header() -> None:
    other = {"originTypeFailover": [{"key": "originTypeFailover", "value": "true"}]}
    assert without_allow_header({**entries("versionId"), **other}) == other


def test_without_allow_header_keeps_the_same_object_when_there_is_none() -> None:
    headers = {"x-other": [{"key": "X-Other", "value": "1"}]}
    assert without_allow_header(headers) is headers


# --- the handler ------------------------------------------------------------------------


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(lambda_function, "LOG", JsonLogger("DEBUG", stream))
    return stream


def never_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("signed a request that must never be signed")

    monkeypatch.setattr(lambda_function, "sign_request", boom)


def handle(event: dict) -> dict:
    return lambda_function.lambda_handler(event, None)


DEFAULT_REFUSED = [
    "versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    "response-content-type=text%2Fhtml",
    "response-content-disposition=attachment%3B%20filename%3Devil.exe",
    "response-cache-control=max-age%3D999999",
    "response-expires=Thu%2C%2001%20Jan%202099",
    "response-content-encoding=gzip",
    "response-content-language=fr",
    "partNumber=1&versionId=zzyyxx",
    "response%2Dcontent-type=text%2Fhtml",  # the name is decoded before it is checked
    "%72esponse-content-type=text%2Fhtml",
    "version%49d=abcdef",
    "VersionId=qwerty",
]


@pytest.mark.parametrize("query", DEFAULT_REFUSED)
def test_by_default_signed_only_parameters_get_a_403_and_are_never_signed(
    creds, monkeypatch, log_lines, query: str
) -> None:
    never_sign(monkeypatch)
    event = make_event("/index.html", query)
    result = handle(event)
    validate_result(request_of(event), result)
    assert result["status"] == "403"
    assert result["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    body = json.loads(result["body"])
    assert body["error"] == "Forbidden" and body["requestId"] == REQUEST_ID
    (line,) = log_lines.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["status"] == 403 and entry["reason"] == body["message"] and "not allowed" in entry["reason"]
    value = query.rpartition("=")[2]
    assert value not in line  # the query's values are never logged


def test_part_number_is_signed_without_any_header(creds) -> None:
    event = make_event("/index.html", "partNumber=2")
    wire = check_signed(event, handle(event), creds)
    assert wire.query == "partNumber=2"


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_an_allowed_parameter_is_signed_and_another_is_refused(creds, name: str) -> None:
    event = make_event("/k", f"{name}=v1&partNumber=1", custom_headers={ALLOW_HEADER: f"partNumber,{name}"})
    wire = check_signed(event, handle(event), creds)
    assert sorted(wire.query.split("&")) == sorted([f"{name}=v1", "partNumber=1"])
    other = next(iter(sorted(GUARDED - {name})))
    event = make_event("/k", f"{name}=v1&{other}=v2", custom_headers={ALLOW_HEADER: f"partNumber,{name}"})
    assert handle(event)["status"] == "403"


def test_a_viewer_request_header_allows_nothing(creds, monkeypatch) -> None:
    # Only the origin's custom header counts: a viewer cannot send its own allowlist.
    never_sign(monkeypatch)
    event = make_event("/k", "versionId=1", headers={"X-Mrap-Edge-Allow": ["versionId"]})
    assert handle(event)["status"] == "403"


def test_the_allowlist_header_never_reaches_the_origin(creds) -> None:
    custom = {**ALLOW_ALL, "X-Other": "kept"}
    event = make_event("/k", "versionId=" + quote("a b"), custom_headers=custom)
    result = handle(event)
    assert ALLOW_HEADER not in result["origin"]["custom"]["customHeaders"]
    assert result["origin"]["custom"]["customHeaders"]["x-other"] == [{"key": "X-Other", "value": "kept"}]
    assert ALLOW_HEADER in request_of(event)["origin"]["custom"]["customHeaders"]  # the event is left as it was
    wire = check_signed(event, result, creds)
    assert ALLOW_HEADER not in {name.lower() for name, _ in wire.headers}
    assert ("X-Other", "kept") in wire.headers


def test_the_allowlist_header_is_dropped_under_an_origin_path_too(creds) -> None:
    event = make_event("/k", "", origin_path="/site+v2", custom_headers=ALLOW_ALL)
    result = handle(event)
    assert result["origin"]["custom"]["path"] == "/site%20v2"
    assert result["origin"]["custom"]["customHeaders"] == {}
    check_signed(event, result, creds)


def test_without_the_header_the_origin_is_the_events_own(creds) -> None:
    event = make_event("/k", "partNumber=1")
    result = handle(event)
    assert result["origin"] is request_of(event)["origin"]
    check_signed(event, result, creds)


def test_a_sub_resource_is_still_refused_when_everything_is_allowed(creds, monkeypatch) -> None:
    never_sign(monkeypatch)
    result = handle(make_event("/k", "versionId=1&tagging", custom_headers=ALLOW_ALL))
    assert result["status"] == "403" and "sub-resource" in json.loads(result["body"])["message"]
