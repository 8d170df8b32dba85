"""CloudFront's cache as the template configures it: each rule, checked on copies of the
real cloudformation.template with the one setting under test made explicit."""

from __future__ import annotations

import copy
import threading
from email.utils import formatdate
from typing import Any

import pytest

from local.cloudfront.cache_key import CacheKey
from local.cloudfront.conditional import serve_from_entry
from local.cloudfront.distribution import DistributionModel
from local.cloudfront.respond import x_cache
from local.cloudfront.revalidation import revalidation_headers
from local.cloudfront.store import Cache, Entry, age
from local.intrinsics import TemplateError
from local.names import LocalNames
from local.template import load_template

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


# --- the cache key -------------------------------------------------------------------


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


def test_cached_methods_come_from_the_template():
    assert model().cacheable_request("OPTIONS") == ("OPTIONS" in behavior(TEMPLATE)["CachedMethods"])
    t = fresh()
    behavior(t)["CachedMethods"] = ["GET", "HEAD"]
    m = model(t)
    assert m.cacheable_request("get") and m.cacheable_request("HEAD")
    assert not m.cacheable_request("OPTIONS")
    assert not m.cacheable_request("POST")


# --- what reaches the function and the origin -------------------------------------


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


def test_unmodelled_policies_raise():
    with pytest.raises(TemplateError):
        model(with_orp(fresh(), "00000000-0000-0000-0000-000000000000"))
    t = fresh()
    del behavior(t)["CachePolicyId"]
    behavior(t)["ForwardedValues"] = {"QueryString": False}
    with pytest.raises(TemplateError, match="ForwardedValues"):
        model(t)


# --- TTL of successes ----------------------------------------------------------------


def cc(value: str) -> list[tuple[str, str]]:
    return [("Cache-Control", value)]


@pytest.mark.parametrize(("min_ttl", "headers", "ttl"), [
    (0, [], 86400),                                   # DefaultTTL when the origin says nothing
    (0, cc("max-age=60"), 60),
    (0, cc("max-age=99999999999"), 31536000),         # clamped to MaxTTL
    (0, cc("max-age=60, s-maxage=120"), 120),         # s-maxage wins at the edge
    (0, cc("public, max-age=0"), 0),
    (30, cc("max-age=5"), 30),                        # raised to MinTTL
    (30, cc("max-age=60"), 60),
    (0, cc("no-store"), 0),
    (0, cc("no-cache"), 0),
    (0, cc("private, max-age=60"), 0),
    (30, cc("no-store"), 30),                         # MinTTL > 0 overrides no-store
    (30, cc("private"), 30),
    (0, [("Expires", formatdate(1_000_600, usegmt=True)), ("Date", formatdate(1_000_000, usegmt=True))], 600),
    (0, [("Expires", "0"), ("Date", formatdate(1_000_000, usegmt=True))], 0),  # invalid = expired
    (0, [*cc("max-age=60"), ("Expires", formatdate(1_000_600, usegmt=True))], 60),  # max-age over Expires
])  # fmt: skip
def test_success_ttl(min_ttl, headers, ttl):
    assert model(with_ttls(fresh(), min_ttl)).ttl(200, headers, generated=False) == ttl


def test_vary_star_is_not_stored_while_min_ttl_is_0():
    assert model(with_ttls(fresh(), 0)).ttl(200, [("Vary", "Origin, *")], generated=False) == 0
    assert model(with_ttls(fresh(), 0)).ttl(200, [("Vary", "Origin")], generated=False) == 86400
    assert model(with_ttls(fresh(), 5)).ttl(200, [("Vary", "*")], generated=False) == 86400


def test_default_ttl_below_min_ttl_is_raised():
    assert model(with_ttls(fresh(), 100, default=10)).ttl(200, [], generated=False) == 100


@pytest.mark.parametrize(("status", "headers", "cached"), [
    (200, [], True), (203, [], True), (204, [], True), (301, [], True), (302, [], True),
    (206, [], False),                  # partial objects are not stored (a stated simplification)
    (304, [], False), (201, [], False), (100, [], False),
    (307, [], False), (307, cc("max-age=60"), True), (308, [], False), (308, cc("public"), True),
])  # fmt: skip
def test_which_successes_are_cached(status, headers, cached):
    assert (model(with_ttls(fresh(), 0)).ttl(status, headers, generated=False) > 0) is cached


# --- TTL of errors -------------------------------------------------------------------


@pytest.mark.parametrize(("status", "headers", "codes", "ttl"), [
    (502, [], {}, 10),                                  # the 10 s default
    (502, cc("no-store"), {}, 10),                      # no-store ignored for 502
    (500, cc("private"), {}, 10),
    (503, cc("no-cache"), {}, 10),
    (404, cc("no-store"), {}, 0),                       # ... honoured for 404, 410, 414, 501
    (410, cc("no-cache"), {}, 0),
    (414, cc("private"), {}, 0),
    (501, cc("no-store"), {}, 0),
    (502, [], {"e502": 0}, 0),                          # ErrorCachingMinTTL from the template
    (502, cc("no-store"), {"e502": 0}, 0),
    (404, [], {"e404": 30}, 30),
    (404, cc("max-age=60"), {"e404": 30}, 60),          # the longer of header and minimum
    (404, cc("max-age=5"), {"e404": 30}, 30),
    (404, cc("s-maxage=99999999999"), {}, 31536000),    # header capped at MaxTTL
    (403, [], {}, 0),                                   # 400/403/412/415 need max-age
    (403, cc("max-age=20"), {}, 20),
    (400, cc("s-maxage=20"), {"e400": 0}, 20),
    (403, cc("no-store"), {"e403": 30}, 0),
    (416, [], {"e416": 10}, 0),                         # never cached, whatever the template says
    (401, [], {}, 0), (429, cc("max-age=60"), {}, 0),
])  # fmt: skip
def test_error_ttl(status, headers, codes, ttl):
    assert model(with_errors(with_ttls(fresh(), 0), **codes)).ttl(status, headers, generated=False) == ttl


def test_generated_responses_are_cached_like_origin_responses():
    m = model(with_errors(fresh(), e502=7))
    for status, headers in [(502, cc("no-store")), (200, cc("max-age=60")), (405, []), (404, cc("no-store"))]:
        assert m.ttl(status, headers, generated=True) == m.ttl(status, headers, generated=False)
    assert m.ttl(502, cc("no-store"), generated=True) == 7


def test_the_templates_error_caching_is_read():
    config = TEMPLATE["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    expected = {e["ErrorCode"]: float(e["ErrorCachingMinTTL"]) for e in config.get("CustomErrorResponses") or []}
    assert model().error_min_ttl == expected


# --- response headers policy ----------------------------------------------------------


def headers_of(out: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in out if k.lower() == name.lower()]


def test_security_headers_from_the_template():
    security = response_policy(TEMPLATE)["SecurityHeadersConfig"]
    out = model().response_headers({}, [("Content-Type", "text/plain")])
    hsts = security["StrictTransportSecurity"]
    assert headers_of(out, "Strict-Transport-Security") == [
        f"max-age={hsts['AccessControlMaxAgeSec']}" + ("; includeSubDomains" if hsts.get("IncludeSubdomains") else "")
        + ("; preload" if hsts.get("Preload") else "")
    ]  # fmt: skip
    assert headers_of(out, "X-Content-Type-Options") == ["nosniff"]
    assert headers_of(out, "X-Frame-Options") == [security["FrameOptions"]["FrameOption"]]
    assert headers_of(out, "Referrer-Policy") == [security["ReferrerPolicy"]["ReferrerPolicy"]]
    assert headers_of(out, "Content-Type") == ["text/plain"]


@pytest.mark.parametrize(("override", "expected"), [(True, "DENY"), (False, "SAMEORIGIN")])
def test_override_decides_whose_header_wins(override, expected):
    t = fresh()
    response_policy(t)["SecurityHeadersConfig"]["FrameOptions"] = {"FrameOption": "DENY", "Override": override}
    out = model(t).response_headers({}, [("x-frame-options", "SAMEORIGIN")])
    assert headers_of(out, "X-Frame-Options") == [expected]


def test_custom_and_removed_headers():
    t = fresh()
    response_policy(t)["CustomHeadersConfig"] = {
        "Items": [
            {"Header": "X-Site", "Value": "demo", "Override": False},
            {"Header": "Cache-Control", "Value": "max-age=5", "Override": True},
        ]
    }
    response_policy(t)["RemoveHeadersConfig"] = {"Items": [{"Header": "x-amz-meta-secret"}]}
    out = model(t).response_headers(
        {}, [("X-Site", "origin"), ("Cache-Control", "max-age=1"), ("x-amz-meta-secret", "s")]
    )
    assert headers_of(out, "X-Site") == ["origin"]
    assert headers_of(out, "Cache-Control") == ["max-age=5"]
    assert headers_of(out, "x-amz-meta-secret") == []


def with_cors(origins: list[str], override: bool = True, credentials: bool = False) -> DistributionModel:
    t = fresh()
    response_policy(t)["CorsConfig"] = {
        "AccessControlAllowCredentials": credentials,
        "AccessControlAllowHeaders": {"Items": ["*"]},
        "AccessControlAllowMethods": {"Items": ["GET", "HEAD"]},
        "AccessControlAllowOrigins": {"Items": origins},
        "AccessControlExposeHeaders": {"Items": ["ETag", "Content-Range"]},
        "AccessControlMaxAgeSec": 600,
        "OriginOverride": override,
    }
    return model(t)


def test_cors_only_for_an_allowed_origin():
    m = with_cors(["https://app.example.com", "https://*.example.org"])
    out = m.response_headers({"origin": "https://app.example.com"}, [])
    assert headers_of(out, "Access-Control-Allow-Origin") == ["https://app.example.com"]
    assert headers_of(out, "Access-Control-Expose-Headers") == ["ETag, Content-Range"]
    assert headers_of(out, "Access-Control-Allow-Methods") == []  # preflight only
    assert headers_of(m.response_headers({"origin": "https://cdn.example.org"}, []), "Access-Control-Allow-Origin")
    for origin in ("https://evil.example", "http://app.example.com", "https://example.org"):
        out = m.response_headers({"origin": origin}, [])
        assert not any(k.lower().startswith("access-control-") for k, _ in out), origin
    assert headers_of(m.response_headers({}, []), "Access-Control-Allow-Origin") == []  # not a CORS request


def test_cors_preflight_and_star():
    m = with_cors(["*"])
    out = m.response_headers({"origin": "https://x.example", "access-control-request-method": "GET"}, [])
    assert headers_of(out, "Access-Control-Allow-Origin") == ["*"]
    assert headers_of(out, "Access-Control-Allow-Methods") == ["GET, HEAD"]
    assert headers_of(out, "Access-Control-Allow-Headers") == ["*"]
    assert headers_of(out, "Access-Control-Max-Age") == ["600"]
    assert headers_of(out, "Access-Control-Expose-Headers") == []


@pytest.mark.parametrize(("override", "expected"), [(True, "https://a.example"), (False, "https://origin.example")])
def test_cors_origin_override(override, expected):
    m = with_cors(["https://a.example"], override=override)
    out = m.response_headers(
        {"origin": "https://a.example"}, [("Access-Control-Allow-Origin", "https://origin.example")]
    )
    assert headers_of(out, "Access-Control-Allow-Origin") == [expected]


def test_no_cors_config_means_no_cors_headers():
    t = fresh()
    response_policy(t).pop("CorsConfig", None)
    out = model(t).response_headers({"origin": "https://a.example", "access-control-request-method": "GET"}, [])
    assert not any(k.lower().startswith("access-control-") for k, _ in out)


# --- the store -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry(body: bytes = b"x", ttl: float = 60, at: float = 1000.0, status: int = 200) -> Entry:
    return Entry(status, [("ETag", '"e1"'), ("Content-Type", "text/plain")], body, at, ttl)


def test_get_put_and_expiry():
    clock = Clock()
    cache = Cache(model(), clock=clock)
    k = key(cache.model)
    assert cache.get(k) is None
    cache.put(k, entry(ttl=10))
    assert cache.get(k).body == b"x"
    clock.now += 9.9
    assert cache.get(k) is not None
    clock.now += 0.1
    assert cache.get(k) is None
    assert cache.snapshot() == []  # only live entries are listed
    assert cache.stale(k).body == b"x"  # held for a revalidation until replaced or evicted
    assert cache.purge() == 0  # counts live entries, as GET /cache lists them
    assert len(cache) == 0 and cache.bytes == 0


def test_revalidation_refresh_hit():
    clock = Clock()
    cache = Cache(model(), clock=clock)
    k = key(cache.model)
    cache.put(k, Entry(200, [("ETag", '"e1"'), ("Last-Modified", MODIFIED)], b"x", clock.now, 10))
    assert cache.stale(k) is None  # still live
    clock.now += 15
    old = cache.stale(k)
    assert revalidation_headers(old) == {"if-none-match": '"e1"', "if-modified-since": MODIFIED}
    fresh_entry = cache.refresh(k, 30, [*old.headers, ("Cache-Control", "max-age=30")])
    assert cache.get(k) is fresh_entry and age(fresh_entry, clock.now) == 0
    assert ("Cache-Control", "max-age=30") in fresh_entry.headers
    assert cache.bytes == fresh_entry.size + len(repr(k))
    assert x_cache(200, hit=True, refreshed=True) == "RefreshHit from cloudfront"
    clock.now += 30
    assert cache.get(k) is None
    assert cache.refresh(key(cache.model, "/absent"), 30) is None


def test_stale_object_served_while_the_origin_fails():
    clock = Clock()
    m = model(with_errors(fresh(), e502=0, e503=20))
    cache = Cache(m, clock=clock)
    k = key(m)
    cache.put(k, entry(ttl=10))
    clock.now += 12
    assert m.stale_for(404) is None and m.stale_for(403) is None  # a 4xx is returned as is
    assert m.stale_for(500) == 10  # the 10 s default
    assert m.stale_for(502) == 0  # served this once
    assert m.stale_for(503) == 20
    served = cache.extend(k, m.stale_for(503))
    clock.now += 19
    assert cache.get(k) is served and age(served, clock.now) == 31  # Age counts from the first store
    clock.now += 1
    assert cache.get(k) is None


def test_expired_entries_make_room_first():
    clock = Clock()
    one = Entry(200, [], b"a" * 400, clock.now, 60)
    cache = Cache(model(), clock=clock, max_bytes=3 * (one.size + 200))
    keys = [key(cache.model, f"/{i}") for i in range(4)]
    cache.put(keys[0], Entry(200, [], b"a" * 400, clock.now, 5))  # expires first, though used last
    cache.put(keys[1], Entry(200, [], b"a" * 400, clock.now, 60))
    cache.put(keys[2], Entry(200, [], b"a" * 400, clock.now, 60))
    assert cache.get(keys[0]) is not None  # LRU order now 1, 2, 0
    clock.now += 10
    cache.get(keys[1])  # LRU order 2, 0, 1: plain LRU would drop 2
    cache.put(keys[3], Entry(200, [], b"a" * 400, clock.now, 60))
    assert cache.stale(keys[0]) is None and cache.get(keys[0]) is None
    assert all(cache.get(k) is not None for k in keys[1:])


def test_zero_ttl_is_not_stored_and_replaces():
    cache = Cache(model(), clock=Clock())
    k = key(cache.model)
    cache.put(k, entry(ttl=0))
    assert len(cache) == 0 and cache.bytes == 0
    assert cache.get(k) is None
    cache.put(k, entry(ttl=60))
    cache.put(k, entry(ttl=0))  # a later uncacheable answer drops the old one
    assert cache.get(k) is None


def test_lru_eviction_by_bytes():
    clock = Clock()
    one = Entry(200, [], b"a" * 400, 1000.0, 60)
    cache = Cache(model(), clock=clock, max_bytes=3 * (one.size + 200))
    keys = [key(cache.model, f"/{i}") for i in range(4)]
    for k in keys[:3]:
        cache.put(k, Entry(200, [], b"a" * 400, 1000.0, 60))
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[3], Entry(200, [], b"a" * 400, 1000.0, 60))
    assert cache.get(keys[1]) is None  # the least recently used went
    assert all(cache.get(k) is not None for k in (keys[0], keys[2], keys[3]))
    assert cache.bytes <= cache.max_bytes
    huge = Entry(200, [], b"a" * cache.max_bytes, 1000.0, 60)
    cache.put(key(cache.model, "/huge"), huge)
    assert cache.get(key(cache.model, "/huge")) is None
    assert cache.get(keys[0]) is not None  # nothing evicted for an entry that cannot fit


def test_purge_patterns():
    cache = Cache(model(), clock=Clock())
    m = cache.model
    for uri, query in [("/a.txt", ""), ("/a.txt", "versionId=1"), ("/img/1.png", ""), ("/img/2.png", ""), ("/b", "")]:
        cache.put(key(m, uri, query), entry())
    assert cache.purge(["/a.txt"]) == 2  # every query string variant
    assert cache.purge(["/img/*"]) == 2
    assert cache.purge(["/nothing"]) == 0
    assert len(cache) == 1
    cache.put(key(m, "/c"), entry())
    assert cache.purge(["/*"]) == 2
    cache.put(key(m, "/d"), entry())
    assert cache.purge() == 1
    assert cache.bytes == 0


def test_snapshot():
    clock = Clock()
    cache = Cache(model(), clock=clock)
    cache.put(key(cache.model, "/a.txt", "versionId=1"), entry(b"hello", ttl=30))
    clock.now += 5
    (item,) = cache.snapshot()
    assert item["status"] == 200 and item["age"] == 5 and item["ttl"] == 30 and item["bytes"] > 5
    assert "/a.txt?versionId=1" in item["key"]


def test_thread_safety():
    cache = Cache(model(), clock=Clock(), max_bytes=20_000)
    m = cache.model

    def work(n: int) -> None:
        for i in range(300):
            k = key(m, f"/{(n * 7 + i) % 50}")
            cache.put(k, Entry(200, [], b"z" * 300, 1000.0, 60))
            cache.get(k)
            if i % 97 == 0:
                cache.purge([f"/{i % 10}*"])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.bytes <= cache.max_bytes
    assert cache.bytes == sum(i["bytes"] for i in cache.snapshot())


# --- serving a hit -------------------------------------------------------------------

BODY = bytes(range(100))
MODIFIED = formatdate(1_000_000, usegmt=True)


def stored() -> Entry:
    headers = [("ETag", '"abc"'), ("Last-Modified", MODIFIED), ("Content-Type", "application/octet-stream"),
               ("Content-Length", "100"), ("Age", "3")]  # fmt: skip
    return Entry(200, headers, BODY, 1000.0, 60)


def serve(method: str = "GET", **headers: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return serve_from_entry(stored(), method, {k.replace("_", "-"): v for k, v in headers.items()}, now=1012.7)


def test_whole_object_with_age():
    status, headers, body = serve()
    assert (status, body) == (200, BODY)
    assert headers_of(headers, "Age") == ["12"]
    assert headers_of(headers, "Content-Length") == ["100"]
    assert age(stored(), 1012.7) == 12
    status, head_headers, body = serve("HEAD")
    assert (status, body) == (200, b"")
    assert headers_of(head_headers, "Content-Length") == ["100"]


@pytest.mark.parametrize(("range_", "first", "last"), [
    ("bytes=0-9", 0, 9),
    ("bytes=90-", 90, 99),
    ("bytes=-10", 90, 99),
    ("bytes=95-500", 95, 99),
    ("bytes=-500", 0, 99),
])  # fmt: skip
def test_range_from_the_cached_object(range_, first, last):
    status, headers, body = serve(range=range_)
    assert status == 206
    assert body == BODY[first : last + 1]
    assert headers_of(headers, "Content-Range") == [f"bytes {first}-{last}/100"]
    assert headers_of(headers, "Content-Length") == [str(last - first + 1)]


@pytest.mark.parametrize(
    "range_", ["bytes=abc", "items=0-1", "bytes=5-1", "bytes=", "bytes=20-30,0-5", "bytes=0-10,5-20"]
)
def test_malformed_range_gets_the_whole_object(range_):
    status, _, body = serve(range=range_)
    assert (status, body) == (200, BODY)


def test_unsatisfiable_range_is_416():
    status, headers, body = serve(range="bytes=100-200")
    assert (status, body) == (416, b"")
    assert headers_of(headers, "Content-Range") == ["bytes */100"]


def test_multiple_ranges_are_multipart():
    status, headers, body = serve(range="bytes=0-1,10-11")
    assert status == 206
    (content_type,) = headers_of(headers, "Content-Type")
    assert content_type.startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-1/100" in body and b"Content-Range: bytes 10-11/100" in body
    assert BODY[10:12] in body


@pytest.mark.parametrize(("headers", "status"), [
    ({"if_none_match": '"abc"'}, 304),
    ({"if_none_match": 'W/"abc"'}, 304),
    ({"if_none_match": '"x", "abc"'}, 304),
    ({"if_none_match": "*"}, 304),
    ({"if_none_match": '"other"'}, 200),
    ({"if_modified_since": MODIFIED}, 304),
    ({"if_modified_since": formatdate(1_000_100, usegmt=True)}, 304),
    ({"if_modified_since": formatdate(999_000, usegmt=True)}, 200),
    ({"if_modified_since": "garbage"}, 200),
    ({"if_none_match": '"other"', "if_modified_since": MODIFIED}, 200),  # If-None-Match takes precedence
])  # fmt: skip
def test_conditional_requests(headers, status):
    got, out, body = serve(**headers)
    assert got == status
    if status == 304:
        assert body == b"" and headers_of(out, "ETag") == ['"abc"'] and headers_of(out, "Content-Type") == []


def test_if_none_match_is_ignored_without_an_etag():
    plain = Entry(200, [("Last-Modified", MODIFIED)], BODY, 1000.0, 60)
    assert serve_from_entry(plain, "GET", {"if-none-match": "*"}, 1001.0)[0] == 200
    assert serve_from_entry(plain, "GET", {"if-none-match": "*", "if-modified-since": MODIFIED}, 1001.0)[0] == 304


@pytest.mark.parametrize(("if_range", "status"), [('"abc"', 206), ('"old"', 200), (MODIFIED, 206)])
def test_if_range(if_range, status):
    assert serve(range="bytes=0-1", if_range=if_range)[0] == status


def test_errors_are_served_as_stored():
    error = Entry(404, [("Content-Type", "application/xml")], b"<Error/>", 1000.0, 10)
    status, headers, body = serve_from_entry(error, "GET", {"range": "bytes=0-1", "if-none-match": "*"}, 1001.0)
    assert (status, body) == (404, b"<Error/>")
    assert headers_of(headers, "Age") == ["1"]


def test_x_cache():
    assert x_cache(200, hit=True) == "Hit from cloudfront"
    assert x_cache(200, hit=False) == "Miss from cloudfront"
    assert x_cache(304, hit=True) == "Hit from cloudfront"
    assert x_cache(404, hit=True) == "Error from cloudfront"
    assert x_cache(502, hit=False) == "Error from cloudfront"
