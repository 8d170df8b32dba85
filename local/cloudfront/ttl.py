"""How long CloudFront keeps a response: the TTL rules of the cache policy, error caching
(where a 404's caching is decided), and serving a stale object while the origin fails.

Sources (CloudFront Developer Guide):
- Expiration.html: the Min/Default/Max TTL table; ``s-maxage`` over ``max-age`` over
  ``Expires``; ``no-cache``/``no-store``/``private`` honoured only when MinTTL is 0.
- HTTPStatusCodes.html: 404, 405, 410, 414, 500, 501, 502, 503, 504 always cached; 400,
  403, 412, 415 only with ``max-age``/``s-maxage``; a 5xx for an expired object still held
  serves that object instead.
- custom-error-pages-expiration.html: 10 s unless ``ErrorCachingMinTTL``;
  ``max-age``/``s-maxage``/``Expires`` win when longer, capped at MaxTTL;
  ``no-store``/``no-cache``/``private`` honoured only for 404, 410, 414 and 501; 416 is
  never cached even with an ErrorCachingMinTTL.
- http-3xx-status-codes.html: 307/308 cached only with a ``Cache-Control`` header.
- lambda-generating-http-responses-in-requests.html: generated responses of an
  origin-request function are cached like origin responses.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from .headers import Headers, header

DEFAULT_ERROR_CACHING_MIN_TTL = 10.0  # custom-error-pages-expiration.html
# 410: not in the guide's list, but custom-error-pages-expiration.html names it among the
# codes whose no-store is honoured, which only matters for a code that is cached.
ERRORS_ALWAYS_CACHED = frozenset({404, 405, 410, 414, 500, 501, 502, 503, 504})
ERRORS_CACHED_WITH_MAX_AGE = frozenset({400, 403, 412, 415})
ERRORS_HONOURING_NO_STORE = frozenset({404, 410, 414, 501})
# 2xx/3xx CloudFront stores. 206 is a simplification (partial objects are not stored
# here); 304 answers a conditional request and holds no object. 204: no AWS statement;
# RFC 9110 section 15.1 makes it cacheable by default, and CloudFront caches it in practice.
SUCCESS_CACHED = frozenset({200, 203, 204, 300, 301, 302, 303})
SUCCESS_NEEDING_CACHE_CONTROL = frozenset({307, 308})  # http-3xx-status-codes.html


def cache_control(headers: Iterable[tuple[str, str]]) -> dict[str, str | None]:
    """Directive (lower-case) -> argument (None when it has none)."""
    out: dict[str, str | None] = {}
    for part in (header(headers, "cache-control") or "").split(","):
        name, sep, arg = part.strip().partition("=")
        if name:
            out.setdefault(name.lower(), arg.strip().strip('"') if sep else None)
    return out


def _seconds(arg: str | None) -> float | None:
    try:
        return max(0.0, float(int(arg))) if arg is not None else None
    except ValueError:
        return None


def origin_lifetime(headers: Headers, directives: Mapping[str, str | None]) -> float | None:
    """s-maxage, else max-age, else Expires (relative to Date, else now); None = none given."""
    for name in ("s-maxage", "max-age"):
        if name in directives:
            value = _seconds(directives[name])
            return 0.0 if value is None else value  # a malformed value is stale at once
    expires = header(headers, "expires")
    if expires is None:
        return None
    try:
        when = parsedate_to_datetime(expires).timestamp()
        date = header(headers, "date")
        base = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError, IndexError):
        return 0.0  # an invalid Expires means "already expired" (RFC 9111 section 5.3)
    return max(0.0, when - base)


@dataclass(frozen=True)
class TtlRules:
    """The cache policy's Min/Default/Max TTL and the distribution's ErrorCachingMinTTLs."""

    min_ttl: float
    default_ttl: float
    max_ttl: float
    error_min_ttl: dict[int, float] = field(default_factory=dict)

    def ttl(self, status: int, headers: Headers, generated: bool) -> float:
        """Seconds to keep the response; 0 = do not cache. ``generated`` (a response the
        origin-request function made) is cached exactly like an origin response."""
        del generated  # same rules: lambda-generating-http-responses-in-requests.html
        directives = cache_control(headers)
        lifetime = origin_lifetime(headers, directives)
        if status >= 400:
            return self.error_ttl(status, directives, lifetime)
        if status in SUCCESS_NEEDING_CACHE_CONTROL and header(headers, "cache-control") is None:
            return 0.0
        if status not in SUCCESS_CACHED and status not in SUCCESS_NEEDING_CACHE_CONTROL:
            return 0.0
        if {"no-store", "no-cache", "private"} & directives.keys():
            return self.min_ttl  # 0 (not cached) unless MinTTL > 0 overrides them
        if self.min_ttl == 0 and "*" in (header(headers, "vary") or "").replace(" ", "").split(","):
            # Vary: * with MinTTL 0: every request goes to the origin (RequestAndResponseBehaviorCustomOrigin.html,
            # "Content negotiation"); storing it would only ever be a miss.
            return 0.0
        if lifetime is None:
            return max(self.min_ttl, self.default_ttl)
        return max(self.min_ttl, min(lifetime, self.max_ttl))

    def error_ttl(self, status: int, directives: Mapping[str, str | None], lifetime: float | None) -> float:
        """An error response's TTL (4xx/5xx: HTTPStatusCodes.html, custom-error-pages-expiration.html)."""
        has_max_age = "max-age" in directives or "s-maxage" in directives
        if status not in ERRORS_ALWAYS_CACHED and not (status in ERRORS_CACHED_WITH_MAX_AGE and has_max_age):
            return 0.0
        if status in ERRORS_HONOURING_NO_STORE and {"no-store", "no-cache", "private"} & directives.keys():
            return 0.0
        floor = self.error_min_ttl.get(status, DEFAULT_ERROR_CACHING_MIN_TTL)
        if lifetime is None:
            return floor
        return max(floor, min(lifetime, self.max_ttl))

    def stale_for(self, status: int) -> float | None:
        """When the origin answers ``status`` for an expired object still held: None = return
        the error (any 4xx), else serve the stale object for this many seconds (5xx: the
        error caching minimum TTL; 0 = this once). HTTPStatusCodes.html."""
        if status < 500:
            return None
        return self.error_min_ttl.get(status, DEFAULT_ERROR_CACHING_MIN_TTL)
