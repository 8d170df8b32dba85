"""CloudFront's cache for one behavior, derived from cloudformation.template.

The cache policy, origin request policy, response headers policy, ``CachedMethods`` and
``CustomErrorResponses`` are read from the template (intrinsics resolved by ``local.intrinsics``);
nothing here hard-codes their values.

Usage (the edge)::

    model = DistributionModel.from_template(load_template())
    cache = Cache(model)
    key = model.cache_key(method, uri, query, viewer_headers)
    entry = cache.get(key) if model.cacheable_request(method) else None
    if entry:                                       # X-Cache: Hit from cloudfront
        status, headers, body = serve_from_entry(entry, method, viewer_headers, now)
    else:                                           # Miss: the function sees only these
        query_for_origin = model.forwarded_query(query)
        headers_for_origin = model.forwarded_headers(viewer_headers)
        ... status, headers, body from the origin or a generated response ...
        ttl = model.ttl(status, headers, generated)
        if method == "GET" and ttl > 0: cache.put(key, Entry(status, headers, body, now, ttl))
    headers = model.response_headers(viewer_headers, headers)   # every response, hit or miss
    headers.append(("X-Cache", x_cache(status, hit)))

Sources (CloudFront Developer Guide unless a full URL is given):
- cache key and forwarding: controlling-the-cache-key.html, controlling-origin-requests.html,
  https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ParametersInCacheKeyAndForwardedToOrigin.html
  ("values in the cache key are also included in requests to the origin"; an origin request
  policy adds values without keying on them; with no origin request policy only the cache
  key's values are forwarded).
- Accept-Encoding normalisation: ServingCompressedFiles.html (with gzip/brotli enabled the
  viewer's header is normalised, put in the cache key and sent to the origin).
- TTLs: Expiration.html (the Min/Default/Max TTL table; ``s-maxage`` over ``max-age`` over
  ``Expires``; ``no-cache``/``no-store``/``private`` honoured only when MinTTL is 0).
- Errors: HTTPStatusCodes.html (404, 405, 410, 414, 500, 501, 502, 503, 504 always cached;
  400, 403, 412, 415 only with ``max-age``/``s-maxage``), custom-error-pages-expiration.html
  (10 s unless ``ErrorCachingMinTTL``; ``max-age``/``s-maxage``/``Expires`` win when longer,
  capped at MaxTTL; ``no-store``/``no-cache``/``private`` honoured only for 404, 410, 414 and
  501; 416 is never cached even with an ErrorCachingMinTTL).
- 3xx: http-3xx-status-codes.html (307/308 cached only with a ``Cache-Control`` header).
- Generated responses of an origin-request function are cached like origin responses:
  lambda-generating-http-responses-in-requests.html.
- Methods: HTTPStatusCodes.html ("always caches responses to GET and HEAD ... can also
  cache OPTIONS").
- Range: RangeGETs.html (ranges served from the cached object; ranges out of order,
  overlapping or invalid get 200 with the whole object).
- X-Cache / Age: cache-hit-ratio-explained.html, standard-logs-reference.html
  (``Hit``, ``RefreshHit``, ``Miss``, ``Error`` ... ``from cloudfront``).
- Response headers policy: understanding-response-headers-policies.html (Override per
  header; CORS headers only on CORS requests whose Origin is allowed; preflight headers
  only on preflights).
- Invalidation: Invalidation.html (paths start with ``/``; ``*`` only at the end).

Expired entries stay until replaced or evicted: ``Cache.stale`` / ``revalidation_headers`` /
``Cache.refresh`` (a 304: ``RefreshHit``) and ``DistributionModel.stale_for`` /
``Cache.extend`` (a 5xx: the stale object is served) let the edge revalidate as CloudFront does.

Simplifications (stated in the README): partial (206) responses and HEAD misses are not
stored, ranges are served only from a stored full object;
custom error pages (``ResponsePagePath``) are exposed as ``error_pages`` but not fetched;
``ServerTimingHeadersConfig`` is not modelled; one behavior (the default one).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from ..iam.policy import LocalNames, TemplateError, _Resolver

# --- managed policies (a behavior may name one by ID instead of Ref) -------------------
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
_MANAGED_CACHE = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": {  # CachingOptimized
        "MinTTL": 1, "DefaultTTL": 86400, "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": "none"}, "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"}}},
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {  # CachingOptimizedForUncompressedObjects
        "MinTTL": 1, "DefaultTTL": 86400, "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False, "EnableAcceptEncodingBrotli": False,
            "HeadersConfig": {"HeaderBehavior": "none"}, "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"}}},
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {  # CachingDisabled
        "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False, "EnableAcceptEncodingBrotli": False,
            "HeadersConfig": {"HeaderBehavior": "none"}, "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"}}},
}  # fmt: skip
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
_ALL = {"CookiesConfig": {"CookieBehavior": "all"}, "QueryStringsConfig": {"QueryStringBehavior": "all"}}
_NONE = {"CookiesConfig": {"CookieBehavior": "none"}, "QueryStringsConfig": {"QueryStringBehavior": "none"}}
_MANAGED_ORP = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": {"HeadersConfig": {"HeaderBehavior": "allViewer"}, **_ALL},
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": {"HeadersConfig": {"HeaderBehavior": "allExcept",
        "Headers": ["Host"]}, **_ALL},
    "59781a5b-3903-41f3-afcb-af62929ccde1": {"HeadersConfig": {"HeaderBehavior": "whitelist",
        "Headers": ["Origin"]}, **_NONE},
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": {"HeadersConfig": {"HeaderBehavior": "whitelist",
        "Headers": ["Origin", "Access-Control-Request-Headers", "Access-Control-Request-Method"]}, **_NONE},
    "acba4595-bd28-49b8-b9fe-13317c0390fa": {"HeadersConfig": {"HeaderBehavior": "whitelist",
        "Headers": ["User-Agent", "Referer"]}, **_NONE},
}  # fmt: skip

_NAMES = LocalNames()
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


class CacheKey(NamedTuple):
    method: str  # "GET" (GET and HEAD share entries) or "OPTIONS"
    uri: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[tuple[str, str], ...]
    accept_encoding: str | None


@dataclass(frozen=True)
class _Selector:
    """A policy's choice of names: none / whitelist / allExcept / all (/ allViewer...)."""

    behavior: str
    names: frozenset[str]  # lower-case for headers; as written for query strings and cookies

    def picks(self, name: str) -> bool:
        if self.behavior == "none":
            return False
        if self.behavior in ("all", "allViewer", "allViewerAndWhitelistCloudFront"):
            return True
        if self.behavior == "whitelist":
            return name in self.names
        if self.behavior == "allExcept":
            return name not in self.names
        raise TemplateError(f"policy behavior {self.behavior} is not modelled")


def _selector(config: Mapping[str, Any] | None, kind: str, lower: bool) -> _Selector:
    config = config or {}
    behavior = config.get(f"{kind}Behavior", "none")
    names = config.get(f"{kind}s") or []
    if isinstance(names, Mapping):  # the API's {"Quantity": n, "Items": [...]} shape
        names = names.get("Items") or []
    if behavior not in ("none", "whitelist", "allExcept", "all", "allViewer", "allViewerAndWhitelistCloudFront"):
        raise TemplateError(f"{kind}Behavior {behavior} is not modelled")
    return _Selector(behavior, frozenset(n.lower() if lower else n for n in names))


def _split_query(query: str) -> list[tuple[str, str, str]]:
    """(name, value, raw item) for each ``&``-separated item, as the viewer sent it."""
    out = []
    for item in query.split("&") if query else []:
        if item == "":
            continue
        name, _, value = item.partition("=")
        out.append((name, value, item))
    return out


def _cookies(header: str | None) -> list[tuple[str, str]]:
    out = []
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if name and sep:
            out.append((name, value))
    return out


def normalise_accept_encoding(value: str | None, gzip: bool, brotli: bool) -> str | None:
    """The Accept-Encoding CloudFront keys on and forwards (None = the viewer sent none)."""
    if value is None or not (gzip or brotli):
        return None
    codings = set()
    for part in value.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = next((p.split("=", 1)[1] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(q) <= 0:
                continue
        except ValueError:
            continue
        codings.add(coding.lower())
    accepted = [c for c, on in (("br", brotli), ("gzip", gzip)) if on and c in codings]
    return ",".join(accepted) if accepted else "identity"


# --- Cache-Control ---------------------------------------------------------------------


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def cache_control(headers: Iterable[tuple[str, str]]) -> dict[str, str | None]:
    """Directive (lower-case) -> argument (None when it has none)."""
    out: dict[str, str | None] = {}
    for part in (_header(headers, "cache-control") or "").split(","):
        name, sep, arg = part.strip().partition("=")
        if name:
            out.setdefault(name.lower(), arg.strip().strip('"') if sep else None)
    return out


def _seconds(arg: str | None) -> float | None:
    try:
        return max(0.0, float(int(arg))) if arg is not None else None
    except ValueError:
        return None


def _origin_lifetime(headers: list[tuple[str, str]], directives: Mapping[str, str | None]) -> float | None:
    """s-maxage, else max-age, else Expires (relative to Date, else now); None = none given."""
    for name in ("s-maxage", "max-age"):
        if name in directives:
            value = _seconds(directives[name])
            return 0.0 if value is None else value  # a malformed value is stale at once
    expires = _header(headers, "expires")
    if expires is None:
        return None
    try:
        when = parsedate_to_datetime(expires).timestamp()
        date = _header(headers, "date")
        base = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError, IndexError):
        return 0.0  # an invalid Expires means "already expired" (RFC 9111 section 5.3)
    return max(0.0, when - base)


# --- the distribution ------------------------------------------------------------------


_SECURITY_HEADERS = ("StrictTransportSecurity", "ContentTypeOptions", "FrameOptions", "ReferrerPolicy",
                     "XSSProtection", "ContentSecurityPolicy")  # fmt: skip


@dataclass
class DistributionModel:
    cached_methods: frozenset[str]
    allowed_methods: frozenset[str]
    min_ttl: float
    default_ttl: float
    max_ttl: float
    gzip: bool
    brotli: bool
    key_query: _Selector
    key_headers: _Selector
    key_cookies: _Selector
    orp_query: _Selector | None
    orp_headers: _Selector | None
    orp_cookies: _Selector | None
    error_min_ttl: dict[int, float] = field(default_factory=dict)
    error_pages: dict[int, tuple[str, int]] = field(default_factory=dict)  # code -> (page path, response code)
    response_policy: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_template(cls, template: dict, names: LocalNames = _NAMES) -> DistributionModel:
        r = _Resolver(template, names)
        distributions = [k for k, v in r.resources.items() if v.get("Type") == "AWS::CloudFront::Distribution"]
        if len(distributions) != 1:
            raise TemplateError(f"expected one AWS::CloudFront::Distribution, found {len(distributions)}")
        config = (r.resources[distributions[0]].get("Properties") or {}).get("DistributionConfig") or {}
        behavior = {k: _branch(r, v) for k, v in (_branch(r, config.get("DefaultCacheBehavior")) or {}).items()}
        for key in ("CachedMethods", "AllowedMethods"):
            if key in behavior:
                behavior[key] = r.resolve(behavior[key])
        if "CachePolicyId" not in behavior:
            raise TemplateError("the default behavior has no CachePolicyId (legacy ForwardedValues is not modelled)")
        cache_policy = _policy(r, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy", "CachePolicyConfig",
                               _MANAGED_CACHE)  # fmt: skip
        orp = None
        if behavior.get("OriginRequestPolicyId") is not None:
            orp = _policy(r, behavior["OriginRequestPolicyId"], "AWS::CloudFront::OriginRequestPolicy",
                          "OriginRequestPolicyConfig", _MANAGED_ORP)  # fmt: skip
        rhp: dict[str, Any] = {}
        if behavior.get("ResponseHeadersPolicyId") is not None:
            rhp = _policy(r, behavior["ResponseHeadersPolicyId"], "AWS::CloudFront::ResponseHeadersPolicy",
                          "ResponseHeadersPolicyConfig", {})  # fmt: skip
        params = cache_policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
        errors = r.resolve(config.get("CustomErrorResponses") or [])
        if isinstance(errors, Mapping):  # the API's {"Quantity", "Items"} shape
            errors = errors.get("Items") or []
        min_ttl = float(cache_policy.get("MinTTL", 0))
        default_ttl = float(cache_policy.get("DefaultTTL", max(86400.0, min_ttl)))
        return cls(
            cached_methods=frozenset(m.upper() for m in behavior.get("CachedMethods") or ["GET", "HEAD"]),
            allowed_methods=frozenset(m.upper() for m in behavior.get("AllowedMethods") or ["GET", "HEAD"]),
            min_ttl=min_ttl,
            default_ttl=default_ttl,
            max_ttl=float(cache_policy.get("MaxTTL", max(31536000.0, default_ttl))),
            gzip=bool(params.get("EnableAcceptEncodingGzip", False)),
            brotli=bool(params.get("EnableAcceptEncodingBrotli", False)),
            key_query=_selector(params.get("QueryStringsConfig"), "QueryString", lower=False),
            key_headers=_selector(params.get("HeadersConfig"), "Header", lower=True),
            key_cookies=_selector(params.get("CookiesConfig"), "Cookie", lower=False),
            orp_query=_selector(orp.get("QueryStringsConfig"), "QueryString", lower=False) if orp else None,
            orp_headers=_selector(orp.get("HeadersConfig"), "Header", lower=True) if orp else None,
            orp_cookies=_selector(orp.get("CookiesConfig"), "Cookie", lower=False) if orp else None,
            error_min_ttl={
                int(e["ErrorCode"]): float(e["ErrorCachingMinTTL"])
                for e in errors
                if e.get("ErrorCachingMinTTL") is not None
            },
            error_pages={
                int(e["ErrorCode"]): (e["ResponsePagePath"], int(e.get("ResponseCode") or e["ErrorCode"]))
                for e in errors
                if e.get("ResponsePagePath")
            },
            response_policy=rhp,
        )

    # --- requests ----------------------------------------------------------------------

    def cacheable_request(self, method: str) -> bool:
        """GET and HEAD are always cached; OPTIONS when CachedMethods names it."""
        return method.upper() in self.cached_methods

    def cache_key(self, method: str, uri: str, query: str, headers: dict[str, str]) -> CacheKey:
        """Path + the query strings, headers and cookies the cache policy names (order and
        case of query strings as the viewer sent them: CloudFront keys on them verbatim)."""
        method = method.upper()
        query_items = tuple((n, v) for n, v, _ in _split_query(query) if self.key_query.picks(n))
        header_items = tuple(sorted((k.lower(), v) for k, v in headers.items() if self._key_header(k.lower())))
        cookie_items = tuple(sorted((n, v) for n, v in _cookies(headers.get("cookie")) if self.key_cookies.picks(n)))
        encoding = normalise_accept_encoding(headers.get("accept-encoding"), self.gzip, self.brotli)
        return CacheKey("GET" if method == "HEAD" else method, uri, query_items, header_items, cookie_items, encoding)

    def _key_header(self, name: str) -> bool:
        # Accept-Encoding is keyed by the gzip/brotli switches; cookies by CookiesConfig.
        return name not in ("accept-encoding", "cookie") and self.key_headers.picks(name)

    def forwarded_query(self, query: str) -> str:
        """The query string the function/origin sees: cache-key params + ORP params, in order."""
        keep = []
        for name, _value, raw in _split_query(query):
            if self.key_query.picks(name) or (self.orp_query is not None and self.orp_query.picks(name)):
                keep.append(raw)
        return "&".join(keep)

    def forwarded_headers(self, viewer: dict[str, str]) -> dict[str, str]:
        """Viewer headers (lower-case names) the cache policy + ORP forward. CloudFront's own
        headers (Host, Via, X-Forwarded-For, User-Agent, X-Amz-Cf-Id) are the edge's."""
        out: dict[str, str] = {}
        for name, value in viewer.items():
            name = name.lower()
            if name in ("accept-encoding", "cookie"):
                continue
            if self._key_header(name) or (self.orp_headers is not None and self.orp_headers.picks(name)):
                out[name] = value
        encoding = normalise_accept_encoding(viewer.get("accept-encoding"), self.gzip, self.brotli)
        if encoding is not None:
            out["accept-encoding"] = encoding
        cookies = [
            f"{n}={v}"
            for n, v in _cookies(viewer.get("cookie"))
            if self.key_cookies.picks(n) or (self.orp_cookies is not None and self.orp_cookies.picks(n))
        ]
        if cookies:
            out["cookie"] = "; ".join(cookies)
        return out

    # --- responses ---------------------------------------------------------------------

    def ttl(self, status: int, headers: list[tuple[str, str]], generated: bool) -> float:
        """Seconds to keep the response; 0 = do not cache. ``generated`` (a response the
        origin-request function made) is cached exactly like an origin response."""
        del generated  # same rules: lambda-generating-http-responses-in-requests.html
        directives = cache_control(headers)
        lifetime = _origin_lifetime(headers, directives)
        if status >= 400:
            return self._error_ttl(status, directives, lifetime)
        if status in SUCCESS_NEEDING_CACHE_CONTROL and _header(headers, "cache-control") is None:
            return 0.0
        if status not in SUCCESS_CACHED and status not in SUCCESS_NEEDING_CACHE_CONTROL:
            return 0.0
        if {"no-store", "no-cache", "private"} & directives.keys():
            return self.min_ttl  # 0 (not cached) unless MinTTL > 0 overrides them
        if self.min_ttl == 0 and "*" in (_header(headers, "vary") or "").replace(" ", "").split(","):
            # Vary: * with MinTTL 0: every request goes to the origin (RequestAndResponseBehaviorCustomOrigin.html,
            # "Content negotiation"); storing it would only ever be a miss.
            return 0.0
        if lifetime is None:
            return max(self.min_ttl, self.default_ttl)
        return max(self.min_ttl, min(lifetime, self.max_ttl))

    def _error_ttl(self, status: int, directives: Mapping[str, str | None], lifetime: float | None) -> float:
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

    def response_headers(
        self, request_headers: dict[str, str], response_headers: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The response headers policy applied to one viewer response (hit or miss)."""
        policy = self.response_policy
        out = list(response_headers)
        for item in (policy.get("RemoveHeadersConfig") or {}).get("Items") or []:
            out = _without(out, item["Header"])
        security = policy.get("SecurityHeadersConfig") or {}
        for kind in _SECURITY_HEADERS:
            if kind in security:
                name, value = _security_header(kind, security[kind])
                out = _set(out, name, value, bool(security[kind].get("Override")))
        for item in (policy.get("CustomHeadersConfig") or {}).get("Items") or []:
            out = _set(out, item["Header"], str(item["Value"]), bool(item.get("Override")))
        cors = policy.get("CorsConfig")
        if cors:
            out = _cors(cors, request_headers, out)
        return out


def _branch(r: _Resolver, node: Any) -> Any:
    """Pick Fn::If branches (AWS::NoValue = None) without resolving the rest: policy IDs are
    Refs to resources that have no local value of their own."""
    while isinstance(node, Mapping) and set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        node = yes if r.condition(name) else no
    if isinstance(node, Mapping) and node == {"Ref": "AWS::NoValue"}:
        return None
    return node


def _policy(r: _Resolver, ref: Any, kind: str, config_key: str, managed: Mapping[str, Any]) -> dict[str, Any]:
    """The policy config a behavior's ``*PolicyId`` names: a Ref to the template's resource or a managed ID."""
    if isinstance(ref, Mapping) and set(ref) == {"Ref"}:
        resource = r.resources.get(ref["Ref"])
        if resource is None or resource.get("Type") != kind:
            raise TemplateError(f"{ref['Ref']} is not an {kind}")
        return r.resolve((resource.get("Properties") or {}).get(config_key) or {})
    value = r.resolve(ref)
    if isinstance(value, str) and value in managed:
        return managed[value]
    raise TemplateError(f"policy {value!r} is neither a Ref to an {kind} nor a modelled managed policy")


def _without(headers: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != name.lower()]


def _set(headers: list[tuple[str, str]], name: str, value: str, override: bool) -> list[tuple[str, str]]:
    """Override: replace the origin's header; else add only when the origin sent none."""
    if any(k.lower() == name.lower() for k, _ in headers):
        if not override:
            return headers
        headers = _without(headers, name)
    return [*headers, (name, value)]


def _security_header(kind: str, c: Mapping[str, Any]) -> tuple[str, str]:
    if kind == "StrictTransportSecurity":
        value = f"max-age={int(c['AccessControlMaxAgeSec'])}"
        value += "; includeSubDomains" if c.get("IncludeSubdomains") else ""
        value += "; preload" if c.get("Preload") else ""
        return "Strict-Transport-Security", value
    if kind == "ContentTypeOptions":
        return "X-Content-Type-Options", "nosniff"
    if kind == "FrameOptions":
        return "X-Frame-Options", str(c["FrameOption"])
    if kind == "ReferrerPolicy":
        return "Referrer-Policy", str(c["ReferrerPolicy"])
    if kind == "ContentSecurityPolicy":
        return "Content-Security-Policy", str(c["ContentSecurityPolicy"])
    # XSSProtection
    if not c.get("Protection"):
        return "X-XSS-Protection", "0"
    value = "1"
    value += "; mode=block" if c.get("ModeBlock") else ""
    value += f"; report={c['ReportUri']}" if c.get("ReportUri") else ""
    return "X-XSS-Protection", value


def _items(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        value = value.get("Items") or []
    return [str(v) for v in value or []]


def _origin_allowed(origin: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or pattern.lower() == origin.lower():
            return True
        if "://*." in pattern:  # https://*.example.com: any subdomain
            scheme, rest = pattern.split("://*.", 1)
            o_scheme, _, o_host = origin.partition("://")
            if o_scheme.lower() == scheme.lower() and o_host.lower().endswith("." + rest.lower()):
                return True
    return False


def _cors(c: Mapping[str, Any], request: Mapping[str, str], headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    origin = request.get("origin")
    allowed = _items(c.get("AccessControlAllowOrigins"))
    if origin is None or not _origin_allowed(origin, allowed):
        return headers  # not a CORS request, or an origin the policy does not allow
    override = bool(c.get("OriginOverride"))
    out = _set(headers, "Access-Control-Allow-Origin", "*" if "*" in allowed else origin, override)
    if c.get("AccessControlAllowCredentials"):
        out = _set(out, "Access-Control-Allow-Credentials", "true", override)
    # A preflight is an OPTIONS carrying Access-Control-Request-Method; only browsers'
    # preflights send that header, so it alone tells them apart here.
    preflight = "access-control-request-method" in request
    if preflight:
        methods = _items(c.get("AccessControlAllowMethods"))
        if "ALL" in methods:
            methods = ["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "HEAD"]
        out = _set(out, "Access-Control-Allow-Methods", ", ".join(methods), override)
        allow_headers = _items(c.get("AccessControlAllowHeaders"))
        if allow_headers:
            out = _set(out, "Access-Control-Allow-Headers", ", ".join(allow_headers), override)
        if c.get("AccessControlMaxAgeSec") is not None:
            out = _set(out, "Access-Control-Max-Age", str(int(c["AccessControlMaxAgeSec"])), override)
    else:
        expose = _items(c.get("AccessControlExposeHeaders"))
        if expose:
            out = _set(out, "Access-Control-Expose-Headers", ", ".join(expose), override)
    return out


# --- the cache -------------------------------------------------------------------------


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


def x_cache(status: int, hit: bool, refreshed: bool = False) -> str:
    """CloudFront's X-Cache value: errors say Error whether cached or not; an expired
    object the origin confirmed with a 304 is a RefreshHit."""
    if status >= 400:
        return "Error from cloudfront"
    if refreshed:
        return "RefreshHit from cloudfront"
    return "Hit from cloudfront" if hit else "Miss from cloudfront"


def revalidation_headers(entry: Entry) -> dict[str, str]:
    """The conditional headers CloudFront sends when it revalidates an expired object."""
    out = {}
    etag = _header(entry.headers, "etag")
    modified = _header(entry.headers, "last-modified")
    if etag:
        out["if-none-match"] = etag
    if modified:
        out["if-modified-since"] = modified
    return out


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


# --- serving a hit ---------------------------------------------------------------------


def _parse_ranges(value: str, length: int) -> list[tuple[int, int]] | None:
    """Byte ranges as (first, last) inclusive; None when the header is malformed, out of
    order or overlapping (CloudFront then serves the whole object, RangeGETs.html);
    [] when syntactically valid but none is satisfiable (416)."""
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    satisfiable: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        first_s, dash, last_s = part.partition("-")
        if not dash or not (first_s or last_s) or not all(s.isdigit() for s in (first_s, last_s) if s):
            return None
        if first_s:
            first = int(first_s)
            last = int(last_s) if last_s else None
            if last is not None and last < first:
                return None
        else:  # suffix: the last N bytes
            n = int(last_s)
            first, last = max(0, length - n), length - 1
            if n == 0:
                first = length  # unsatisfiable
        end = length - 1 if last is None else min(last, length - 1)
        if ranges and first <= ranges[-1][1]:
            return None  # out of order or overlapping
        ranges.append((first, last if last is not None else length - 1))
        if first < length and end >= first:
            satisfiable.append((first, end))
    return satisfiable


def _etag_matches(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    if header.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == weak for tag in header.split(","))


def serve_from_entry(
    entry: Entry, method: str, request_headers: dict[str, str], now: float
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Range (206 slice / whole object for a malformed range / 416) and conditional requests
    (If-None-Match / If-Modified-Since -> 304) answered from a cached full object, plus Age.
    A HEAD gets the headers with no body."""
    head = method.upper() == "HEAD"
    headers = [(k, v) for k, v in entry.headers if k.lower() not in ("age", "content-length")]
    headers.append(("Age", str(age(entry, now))))
    body = entry.body
    if entry.status == 200:
        etag = _header(entry.headers, "etag")
        inm = request_headers.get("if-none-match")
        ims = request_headers.get("if-modified-since")
        not_modified = False
        # Without an ETag CloudFront ignores If-None-Match (RequestAndResponseBehaviorCustomOrigin.html, "Caching").
        if inm is not None and etag is not None:
            not_modified = _etag_matches(inm, etag)
        elif ims is not None:
            modified = _header(entry.headers, "last-modified")
            try:
                not_modified = modified is not None and (
                    parsedate_to_datetime(modified).timestamp() <= parsedate_to_datetime(ims).timestamp()
                )
            except (TypeError, ValueError, IndexError):
                not_modified = False
        if not_modified:
            keep = ("etag", "last-modified", "cache-control", "expires", "date", "vary", "age",
                    "content-location")  # fmt: skip
            return 304, [(k, v) for k, v in headers if k.lower() in keep], b""
        range_header = request_headers.get("range")
        if range_header is not None and method.upper() in ("GET", "HEAD"):
            if_range = request_headers.get("if-range")
            if if_range is None or _if_range_holds(if_range, entry):
                ranges = _parse_ranges(range_header, len(body))
                if ranges == []:
                    headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
                    headers.append(("Content-Range", f"bytes */{len(body)}"))
                    headers.append(("Content-Length", "0"))
                    return 416, headers, b""
                if ranges:
                    return _partial(headers, body, ranges, head)
    headers.append(("Content-Length", str(len(body))))
    return entry.status, headers, b"" if head else body


def _if_range_holds(if_range: str, entry: Entry) -> bool:
    etag = _header(entry.headers, "etag")
    if if_range.strip().startswith(('"', "W/")):
        return etag is not None and not etag.startswith("W/") and if_range.strip() == etag
    modified = _header(entry.headers, "last-modified")
    return modified is not None and modified.strip() == if_range.strip()


def _partial(
    headers: list[tuple[str, str]], body: bytes, ranges: list[tuple[int, int]], head: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    total = len(body)
    if len(ranges) == 1:
        first, last = ranges[0]
        part = body[first : last + 1]
        out = [*headers, ("Content-Range", f"bytes {first}-{last}/{total}"), ("Content-Length", str(len(part)))]
        return 206, out, b"" if head else part
    boundary = "CloudFrontLocalByteRanges"
    content_type = _header(headers, "content-type") or "application/octet-stream"
    chunks = []
    for first, last in ranges:
        head_lines = f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {first}-{last}/{total}"
        chunks.append(f"{head_lines}\r\n\r\n".encode() + body[first : last + 1])
    payload = b"".join(chunks) + f"\r\n--{boundary}--\r\n".encode()
    out = [(k, v) for k, v in headers if k.lower() != "content-type"]
    out += [("Content-Type", f"multipart/byteranges; boundary={boundary}"), ("Content-Length", str(len(payload)))]
    return 206, out, b"" if head else payload
