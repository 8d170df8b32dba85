"""How long CloudFront keeps a response (local/cloudfront/ttl.py): the cache policy's TTLs,
the origin's Cache-Control and Expires, and the error caching rules."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from tests.local.cloudfront.conftest import fresh, model, with_errors, with_ttls


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
