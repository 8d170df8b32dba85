"""CloudFront's managed cache and origin request policies, by ID: a behavior may name one
instead of a policy of its own.

https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
"""

from __future__ import annotations

from typing import Any

MANAGED_CACHE_POLICIES: dict[str, dict[str, Any]] = {
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

_ALL = {"CookiesConfig": {"CookieBehavior": "all"}, "QueryStringsConfig": {"QueryStringBehavior": "all"}}
_NONE = {"CookiesConfig": {"CookieBehavior": "none"}, "QueryStringsConfig": {"QueryStringBehavior": "none"}}
MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict[str, Any]] = {
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
