"""What reaches the function and the origin (local/cloudfront/origin_request.py): the cache
key's parameters plus what the origin request policy adds, without keying on it."""

from __future__ import annotations

from tests.local.cloudfront.conftest import fresh, key, model, with_orp


def test_forwarded_query_is_the_key_params_in_viewer_order():
    m = model(with_orp(fresh(), None))
    assert m.forwarded_query("utm=1&versionId=a%2Bb&x&partNumber=2") == "versionId=a%2Bb&partNumber=2"
    assert m.forwarded_query("") == ""


def test_origin_request_policy_adds_query_strings_without_keying_on_them():
    query = {"QueryStringBehavior": "whitelist", "QueryStrings": ["trace"]}
    m = model(with_orp(fresh(), {"QueryStringsConfig": query, "HeadersConfig": {"HeaderBehavior": "none"},
                                 "CookiesConfig": {"CookieBehavior": "none"}}))  # fmt: skip
    assert m.forwarded_query("trace=1&versionId=2&utm=3") == "trace=1&versionId=2"
    assert key(m, query="trace=1") == key(m, query="trace=2")


def test_without_origin_request_policy_only_key_headers_are_forwarded():
    m = model(with_orp(fresh(), None))
    viewer = {"origin": "https://a.example", "host": "d.example", "authorization": "x", "accept-encoding": "gzip"}
    assert m.forwarded_headers(viewer) == {"accept-encoding": "gzip"}


def test_origin_request_policy_headers_are_forwarded_but_not_keyed():
    cors = {"HeaderBehavior": "whitelist", "Headers": ["Origin", "Access-Control-Request-Method"]}
    m = model(with_orp(fresh(), {"HeadersConfig": cors, "CookiesConfig": {"CookieBehavior": "none"},
                                 "QueryStringsConfig": {"QueryStringBehavior": "none"}}))  # fmt: skip
    forwarded = m.forwarded_headers({"Origin": "https://a.example", "host": "d.example", "x-other": "1"})
    assert forwarded == {"origin": "https://a.example"}
    assert key(m, origin="https://a.example") == key(m, origin="https://b.example")


def test_all_viewer_and_all_except_host():
    all_viewer = model(with_orp(fresh(), "216adef6-5c7f-47e4-b989-5492eafa07d3"))
    viewer = {"host": "d.example", "x-a": "1", "cookie": "a=1"}
    assert all_viewer.forwarded_headers(viewer) == {"host": "d.example", "x-a": "1", "cookie": "a=1"}
    except_host = model(with_orp(fresh(), "b689b0a8-53d0-40ab-baf2-68738e2966ac"))
    assert except_host.forwarded_headers(viewer) == {"x-a": "1", "cookie": "a=1"}
    assert except_host.forwarded_query("z=1&versionId=2") == "z=1&versionId=2"
