"""The edge's cache store: entries by ``CacheKey``, LRU by bytes, thread-safe; expired
entries stay until replaced, purged or evicted so they can be revalidated
(``revalidation.py``); invalidations (Invalidation.html: paths start with ``/``, ``*``
only at the end). ``keep`` is what a miss stores: full answers for as long as the TTL
rules (``ttl.py``) say, bodies up to the edge's bound (bigger ones stream through).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .answer import Answer
from .cache_key import CacheKey
from .origin_request import partial_or_conditional
from .viewer import ViewerRequest

if TYPE_CHECKING:
    from .distribution import DistributionModel


@dataclass
class Entry:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    stored_at: float
    ttl: float

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) + 4 for k, v in self.headers) + 64


def age(entry: Entry, now: float) -> int:
    """Seconds the entry has been in the cache (the ``Age`` header of a hit)."""
    return max(0, int(now - entry.stored_at))


def _key_size(key: Any) -> int:
    return len(repr(key))


def _matches(pattern: str, uri: str) -> bool:
    if pattern.endswith("*"):
        return uri.startswith(pattern[:-1])
    return uri == pattern


class Cache:
    """LRU by bytes, thread-safe. Keys are ``CacheKey`` (its ``uri`` is what purges match)."""

    def __init__(self, model: DistributionModel, clock: Callable[[], float] = time.monotonic,
                 max_bytes: int = 256 * 2**20) -> None:  # fmt: skip
        self.model = model
        self.clock = clock
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Any, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: Any) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size + _key_size(key)

    def get(self, key: Any) -> Entry | None:
        """The live entry (and marks it recently used); None when absent or expired. An
        expired entry stays (see ``stale``) until it is replaced, purged or evicted."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self.clock() >= entry.stored_at + entry.ttl:
                return None
            self._entries.move_to_end(key)
            return entry

    def stale(self, key: Any) -> Entry | None:
        """The expired entry for the key, if still held: what CloudFront revalidates with
        ``revalidation_headers`` and serves while the origin answers 5xx."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self.clock() < entry.stored_at + entry.ttl:
                return None
            return entry

    def refresh(self, key: Any, ttl: float, headers: list[tuple[str, str]] | None = None) -> Entry | None:
        """The origin answered 304 to a revalidation (X-Cache: RefreshHit): the entry lives
        ``ttl`` more seconds from now (``model.ttl`` of its headers updated with the 304's),
        its Age starts again, and ``headers`` (if given) replace the stored ones."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._drop(key)
            new = Entry(entry.status, list(headers) if headers is not None else entry.headers, entry.body,
                        self.clock(), ttl)  # fmt: skip
            self._store(key, new)
            return new

    def extend(self, key: Any, seconds: float) -> Entry | None:
        """The origin answered 5xx for an expired entry: CloudFront serves the stale object
        and keeps serving it for the error caching minimum TTL (HTTPStatusCodes.html, "The
        requested object is in the edge cache"). Its Age keeps counting from the first store."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            now = self.clock()
            new = Entry(entry.status, entry.headers, entry.body, entry.stored_at, (now - entry.stored_at) + seconds)
            self._entries[key] = new
            return new

    def put(self, key: Any, entry: Entry) -> None:
        """Store (replacing any entry for the key); a TTL of 0 or an entry larger than the
        whole cache stores nothing. Makes room by dropping expired entries first, then the
        least recently used ones."""
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if entry.ttl > 0:
                self._store(key, entry)

    def _store(self, key: Any, entry: Entry) -> None:
        size = entry.size + _key_size(key)
        if size > self.max_bytes:
            return
        if self._bytes + size > self.max_bytes:
            now = self.clock()
            for old in [k for k, e in self._entries.items() if now >= e.stored_at + e.ttl]:
                self._drop(old)
        while self._bytes + size > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))
        self._entries[key] = entry
        self._bytes += size

    def purge(self, paths: list[str] | None = None) -> int:
        """An invalidation: everything, or the entries whose path matches one of ``paths``
        ("/a/b.txt" exactly, "/a/*" by prefix, "/*" all; every query string variant).
        Returns how many live entries went (expired ones matching are dropped too, uncounted,
        so the count matches what ``snapshot`` listed)."""
        with self._lock:
            now = self.clock()
            doomed = [k for k in self._entries if paths is None or any(_matches(p, _uri(k)) for p in paths)]
            live = sum(1 for k in doomed if now < self._entries[k].stored_at + self._entries[k].ttl)
            for key in doomed:
                self._drop(key)
            return live

    def snapshot(self) -> list[dict]:
        now = self.clock()
        with self._lock:
            items = list(self._entries.items())
        return [
            {
                "key": _describe(k),
                "status": e.status,
                "age": age(e, now),
                "ttl": e.ttl,
                "bytes": e.size + _key_size(k),
            }
            for k, e in items
            if now < e.stored_at + e.ttl
        ]


def _uri(key: Any) -> str:
    if isinstance(key, CacheKey):
        return key.uri
    if isinstance(key, tuple) and len(key) > 1 and isinstance(key[1], str):
        return key[1]
    return str(key)


def _describe(key: Any) -> str:
    if not isinstance(key, CacheKey):
        return repr(key)
    text = f"{key.method} {key.uri}"
    if key.query:
        text += "?" + "&".join(f"{n}={v}" for n, v in key.query)
    extras = [f"{n}: {v}" for n, v in key.headers] + [f"cookie {n}={v}" for n, v in key.cookies]
    if key.accept_encoding:
        extras.append(f"accept-encoding: {key.accept_encoding}")
    return text + (f" [{'; '.join(extras)}]" if extras else "")


async def keep(cache: Cache, key: Any, viewer: ViewerRequest, answer: Answer, max_body: int) -> None:
    """Store a full answer to a GET (or another cached method, never HEAD: no body) for as
    long as the TTL rules say, when its body fits ``max_body``; a larger body streams
    through uncached (``answer.cache`` says ``miss-too-big``)."""
    if viewer.method == "HEAD" or answer.status in (206, 304) or partial_or_conditional(viewer.headers):
        return  # partial and conditional answers are not cached (README: simplification)
    ttl = cache.model.ttl(answer.status, answer.headers, answer.generated)
    if ttl <= 0:
        return
    if answer.upstream is not None:
        length = answer.upstream.length
        if length is not None and length > max_body:
            answer.cache = "miss-too-big"
            return  # streams through uncached
        body, whole = await answer.upstream.read_up_to(max_body + 1)
        if len(body) > max_body or not whole:
            # No length and bigger than the bound: serve what was read, then the rest.
            answer.cache = "miss-too-big"
            return
        answer.discard()
        answer.body = body
    cache.put(key, Entry(answer.status, list(answer.headers), answer.body, cache.clock(), ttl))
