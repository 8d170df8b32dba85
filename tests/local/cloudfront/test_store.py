"""The cache store (local/cloudfront/store.py): expiry, stale entries, eviction by bytes,
invalidation patterns, the snapshot the control API lists, thread safety."""

from __future__ import annotations

import threading

from local.cloudfront.store import Cache, Entry, age
from tests.local.cloudfront.conftest import Clock, fresh, key, model, with_errors


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
