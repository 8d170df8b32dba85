"""The cache key (local/cloudfront/cache_key.py): which query strings, headers, cookies and
Accept-Encoding split entries, as the template's cache policy says."""

from __future__ import annotations

import pytest

from tests.local.cloudfront.conftest import fresh, key, key_params, model


def test_key_is_path_plus_the_whitelisted_query_strings():
    m = model()
    assert key(m, "/a.txt") != key(m, "/b.txt")
    assert key(m, query="versionId=1") != key(m, query="versionId=2")
    assert key(m, query="versionId=1&utm=x") == key(m, query="versionId=1")  # not whitelisted
    assert key(m, query="VersionId=1") == key(m)  # names are case-sensitive
    # Order is part of the key (CloudFront keys on query strings as sent).
    assert key(m, query="versionId=1&partNumber=2") != key(m, query="partNumber=2&versionId=1")


@pytest.mark.parametrize(("behavior_", "names", "same", "different"), [
    ("none", [], [("a=1", "a=2")], []),
    ("all", [], [], [("a=1", "a=2"), ("a=1", "b=1")]),
    ("allExcept", ["utm"], [("a=1&utm=1", "a=1&utm=2")], [("a=1", "a=2")]),
    ("whitelist", ["a"], [("a=1&b=1", "a=1&b=2")], [("a=1", "a=2")]),
])  # fmt: skip
def test_query_string_behaviors(behavior_, names, same, different):
    t = fresh()
    key_params(t)["QueryStringsConfig"] = {
        "QueryStringBehavior": behavior_,
        **({"QueryStrings": names} if names else {}),
    }
    m = model(t)
    for a, b in same:
        assert key(m, query=a) == key(m, query=b)
    for a, b in different:
        assert key(m, query=a) != key(m, query=b)


def test_headers_are_keyed_only_when_the_policy_names_them():
    m = model()
    assert key(m, x_custom="1", user_agent="a") == key(m, x_custom="2", user_agent="b")
    t = fresh()
    key_params(t)["HeadersConfig"] = {"HeaderBehavior": "whitelist", "Headers": ["X-Custom"]}
    m = model(t)
    assert key(m, x_custom="1") != key(m, x_custom="2")
    assert key(m, x_custom="1", user_agent="a") == key(m, x_custom="1", user_agent="b")
    assert m.forwarded_headers({"x-custom": "1", "user-agent": "a"}).get("x-custom") == "1"


@pytest.mark.parametrize(("config", "splits", "ignored"), [
    ({"CookieBehavior": "none"}, [], ["session", "theme"]),
    ({"CookieBehavior": "whitelist", "Cookies": ["theme"]}, ["theme"], ["session"]),
    ({"CookieBehavior": "allExcept", "Cookies": ["session"]}, ["theme"], ["session"]),
    ({"CookieBehavior": "all"}, ["theme", "session"], []),
])  # fmt: skip
def test_cookies(config, splits, ignored):
    t = fresh()
    key_params(t)["CookiesConfig"] = config
    m = model(t)
    base = "theme=dark; session=abc"
    for name in splits:
        assert key(m, cookie=base) != key(m, cookie=base.replace(f"{name}=", f"{name}=x"))
    for name in ignored:
        assert key(m, cookie=base) == key(m, cookie=base.replace(f"{name}=", f"{name}=x"))
        assert name not in m.forwarded_headers({"cookie": base}).get("cookie", "")


@pytest.mark.parametrize(("gzip", "brotli", "viewer", "normalised"), [
    (True, True, "gzip, deflate, br", "br,gzip"),
    (True, True, "br;q=1.0, gzip;q=0.8, *;q=0.1", "br,gzip"),
    (True, True, "gzip", "gzip"),
    (True, True, "br", "br"),
    (True, True, "deflate", "identity"),
    (True, True, "br;q=0, gzip", "gzip"),
    (True, True, None, None),
    (True, False, "gzip, br", "gzip"),
    (False, False, "gzip, br", None),
])  # fmt: skip
def test_accept_encoding_is_normalised_keyed_and_forwarded(gzip, brotli, viewer, normalised):
    t = fresh()
    key_params(t).update(EnableAcceptEncodingGzip=gzip, EnableAcceptEncodingBrotli=brotli)
    m = model(t)
    headers = {} if viewer is None else {"accept-encoding": viewer}
    assert m.cache_key("GET", "/a", "", headers).accept_encoding == normalised
    assert m.forwarded_headers(headers).get("accept-encoding") == normalised


def test_same_normalised_encoding_is_one_entry():
    m = model()
    assert key(m, accept_encoding="gzip, deflate, br") == key(m, accept_encoding="br,gzip")
    assert key(m, accept_encoding="gzip") != key(m, accept_encoding="br,gzip")


def test_head_shares_get_entries_and_options_has_its_own():
    m = model()
    assert key(m, method="HEAD") == key(m, method="GET")
    assert key(m, method="OPTIONS") != key(m, method="GET")
