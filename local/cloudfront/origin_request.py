"""What a miss sends towards the origin (and so what the origin-request function sees):
the query strings, headers and cookies the cache policy and origin request policy
forward, the viewer's Range and conditional headers, and what CloudFront adds itself.

Sources: controlling-origin-requests.html (an origin request policy adds values without
keying on them; with none only the cache key's values are forwarded), RangeGETs.html
(Range always reaches the origin), aws-facts §3 (headers never exposed to functions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .cache_key import KeyPolicy, Selector, parse_cookies, selectors, split_query
from .headers import EDGE_ID
from .viewer import hidden

# CloudFront sets or rewrites these itself.
CLOUDFRONT_MANAGED = frozenset({"host", "via", "x-forwarded-for", "user-agent", "accept-encoding", "content-length"})
# CloudFront forwards Range requests to the origin whatever the policies say, and a
# viewer's conditional headers reach the origin-request event (they are among its
# read-only headers): https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RangeGETs.html
PASS_THROUGH = ("range", "if-range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")


def partial_or_conditional(viewer: Mapping[str, str]) -> bool:
    """A Range or conditional request: it goes to the origin as sent and is never stored."""
    return any(name in viewer for name in PASS_THROUGH)


@dataclass(frozen=True)
class OriginRequestPolicy:
    query: Selector
    headers: Selector
    cookies: Selector

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OriginRequestPolicy:
        return cls(**selectors(config))


@dataclass(frozen=True)
class Forwarding:
    """The cache policy's values plus the origin request policy's (if the behavior has one)."""

    key: KeyPolicy
    orp: OriginRequestPolicy | None

    def query(self, query: str) -> str:
        """The query string the function/origin sees: cache-key params + ORP params, in order."""
        keep = []
        for name, _value, raw in split_query(query):
            if self.key.query.picks(name) or (self.orp is not None and self.orp.query.picks(name)):
                keep.append(raw)
        return "&".join(keep)

    def headers(self, viewer: Mapping[str, str]) -> dict[str, str]:
        """Viewer headers (lower-case names) the cache policy + ORP forward. CloudFront's own
        headers (Host, Via, X-Forwarded-For, User-Agent, X-Amz-Cf-Id) are the edge's."""
        out: dict[str, str] = {}
        for name, value in viewer.items():
            name = name.lower()
            if name in ("accept-encoding", "cookie"):
                continue
            if self.key.keys_header(name) or (self.orp is not None and self.orp.headers.picks(name)):
                out[name] = value
        encoding = self.key.accept_encoding(viewer.get("accept-encoding"))
        if encoding is not None:
            out["accept-encoding"] = encoding
        cookies = [
            f"{n}={v}"
            for n, v in parse_cookies(viewer.get("cookie"))
            if self.key.cookies.picks(n) or (self.orp is not None and self.orp.cookies.picks(n))
        ]
        if cookies:
            out["cookie"] = "; ".join(cookies)
        return out


def origin_headers(forwarding: Forwarding, viewer: Mapping[str, str], client: str) -> dict[str, list[str]]:
    """The origin request's headers in the event's shape: what the policies forward, the
    viewer's Range/conditional headers, then Via, X-Forwarded-For and User-Agent."""
    forwarded = forwarding.headers(viewer)
    for name in PASS_THROUGH:
        if name in viewer:
            forwarded[name] = viewer[name]
    headers: dict[str, list[str]] = {}
    for name, value in forwarded.items():
        if name not in CLOUDFRONT_MANAGED and not hidden(name):
            headers[name] = [value]
    via = viewer.get("via")
    ours = f"2.0 {EDGE_ID}.cloudfront.net (CloudFront)"
    headers["via"] = [f"{via}, {ours}" if via else ours]
    xff = viewer.get("x-forwarded-for")
    headers["x-forwarded-for"] = [f"{xff}, {client}" if xff else client]
    headers["user-agent"] = ["Amazon CloudFront"]
    encoding = forwarded.get("accept-encoding")  # normalised by the cache policy's gzip/brotli switches
    if encoding:
        headers["accept-encoding"] = [encoding]
    return headers
