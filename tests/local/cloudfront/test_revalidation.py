"""Revalidating an expired entry (local/cloudfront/revalidation.py): the conditional headers
sent to the origin and the refreshed entry a 304 leaves."""

from __future__ import annotations

from local.cloudfront.respond import x_cache
from local.cloudfront.revalidation import revalidation_headers
from local.cloudfront.store import Cache, Entry, age
from tests.local.cloudfront.conftest import MODIFIED, Clock, key, model


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
