"""Revalidating an expired object still in the cache: CloudFront asks the origin with its
ETag / Last-Modified; a 304 makes it a RefreshHit (the object lives on with the 304's
headers), a 5xx serves the stale object (for the error caching minimum TTL).

Sources: Expiration.html, HTTPStatusCodes.html ("The requested object is in the edge cache").
"""

from __future__ import annotations

from typing import Any

from .answer import Answer
from .conditional import serve_from_entry
from .distribution import DistributionModel
from .headers import header
from .store import Cache, Entry

REFRESHED_HEADERS = ("etag", "last-modified", "cache-control", "expires")


def revalidation_headers(entry: Entry) -> dict[str, str]:
    """The conditional headers CloudFront sends when it revalidates an expired object."""
    out = {}
    etag = header(entry.headers, "etag")
    modified = header(entry.headers, "last-modified")
    if etag:
        out["if-none-match"] = etag
    if modified:
        out["if-modified-since"] = modified
    return out


def settle(cache: Cache, model: DistributionModel, key: Any, stale: Entry, answer: Answer,
           viewer: dict[str, str]) -> Answer | None:  # fmt: skip
    """The cached object again after a revalidation: 304 (RefreshHit), or 5xx (stale);
    None when the origin's answer stands (a new object, or a 4xx)."""
    entry, label = None, ""
    if answer.status == 304:
        fresh = {k.lower() for k, _ in answer.headers}
        merged = [(k, v) for k, v in stale.headers if k.lower() not in fresh | {"date"}]
        merged += [(k, v) for k, v in answer.headers if k.lower() in REFRESHED_HEADERS]
        entry = cache.refresh(key, model.ttl(stale.status, merged, False), merged)
        label = "refresh"
    elif answer.status >= 500:
        seconds = model.stale_for(answer.status)
        if seconds is not None:
            entry = cache.extend(key, seconds) or stale
            label = "stale"
    if entry is None:
        return None
    status, headers, body = serve_from_entry(entry, "GET", viewer, cache.clock())
    return Answer(status, list(headers), body, f"{answer.decision} origin={answer.status}", cache=label)
