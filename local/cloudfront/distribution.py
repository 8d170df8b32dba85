"""The distribution as the template declares it: the default cache behavior's methods,
its cache policy (cache key, TTLs), origin request policy, response headers policy, and
the distribution's ``CustomErrorResponses``. Nothing here hard-codes their values.

Usage (the edge)::

    model = DistributionModel.from_template(load_template())
    key = model.cache_key(method, uri, query, viewer_headers)          # cache_key.py
    query_for_origin = model.forwarded_query(query)                     # origin_request.py
    ttl = model.ttl(status, headers, generated)                         # ttl.py
    headers = model.response_headers(viewer_headers, headers)          # response_headers.py

Custom error pages (``ResponsePagePath``) are exposed as ``error_pages`` but not fetched;
one behavior (the default one) is modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..intrinsics import TemplateError
from ..names import DEFAULT_NAMES, LocalNames, LocalResolver
from .cache_key import CacheKey, KeyPolicy
from .headers import Headers
from .managed_policies import MANAGED_CACHE_POLICIES, MANAGED_ORIGIN_REQUEST_POLICIES
from .origin_request import Forwarding, OriginRequestPolicy
from .response_headers import ResponseHeadersPolicy
from .ttl import TtlRules


@dataclass
class DistributionModel:
    cached_methods: frozenset[str]
    allowed_methods: frozenset[str]
    key: KeyPolicy
    forwarding: Forwarding
    ttls: TtlRules
    response_policy: ResponseHeadersPolicy = field(default_factory=ResponseHeadersPolicy)
    error_pages: dict[int, tuple[str, int]] = field(default_factory=dict)  # code -> (page path, response code)

    @classmethod
    def from_template(cls, template: dict, names: LocalNames = DEFAULT_NAMES) -> DistributionModel:
        r = LocalResolver(template, names)
        distributions = [k for k, v in r.resources.items() if v.get("Type") == "AWS::CloudFront::Distribution"]
        if len(distributions) != 1:
            raise TemplateError(f"expected one AWS::CloudFront::Distribution, found {len(distributions)}")
        config = (r.resources[distributions[0]].get("Properties") or {}).get("DistributionConfig") or {}
        behavior = {k: _branch(r, v) for k, v in (_branch(r, config.get("DefaultCacheBehavior")) or {}).items()}
        for name in ("CachedMethods", "AllowedMethods"):
            if name in behavior:
                behavior[name] = r.resolve(behavior[name])
        if "CachePolicyId" not in behavior:
            raise TemplateError("the default behavior has no CachePolicyId (legacy ForwardedValues is not modelled)")
        cache_policy = _policy(r, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy", "CachePolicyConfig",
                               MANAGED_CACHE_POLICIES)  # fmt: skip
        orp = None
        if behavior.get("OriginRequestPolicyId") is not None:
            orp_config = _policy(r, behavior["OriginRequestPolicyId"], "AWS::CloudFront::OriginRequestPolicy",
                              "OriginRequestPolicyConfig", MANAGED_ORIGIN_REQUEST_POLICIES)  # fmt: skip
            orp = OriginRequestPolicy.from_config(orp_config)
        rhp: dict[str, Any] = {}
        if behavior.get("ResponseHeadersPolicyId") is not None:
            rhp = _policy(r, behavior["ResponseHeadersPolicyId"], "AWS::CloudFront::ResponseHeadersPolicy",
                          "ResponseHeadersPolicyConfig", {})  # fmt: skip
        key = KeyPolicy.from_config(cache_policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {})
        errors = r.resolve(config.get("CustomErrorResponses") or [])
        if isinstance(errors, Mapping):  # the API's {"Quantity", "Items"} shape
            errors = errors.get("Items") or []
        min_ttl = float(cache_policy.get("MinTTL", 0))
        default_ttl = float(cache_policy.get("DefaultTTL", max(86400.0, min_ttl)))
        ttls = TtlRules(
            min_ttl=min_ttl,
            default_ttl=default_ttl,
            max_ttl=float(cache_policy.get("MaxTTL", max(31536000.0, default_ttl))),
            error_min_ttl={
                int(e["ErrorCode"]): float(e["ErrorCachingMinTTL"])
                for e in errors
                if e.get("ErrorCachingMinTTL") is not None
            },
        )
        return cls(
            cached_methods=frozenset(m.upper() for m in behavior.get("CachedMethods") or ["GET", "HEAD"]),
            allowed_methods=frozenset(m.upper() for m in behavior.get("AllowedMethods") or ["GET", "HEAD"]),
            key=key,
            forwarding=Forwarding(key, orp),
            ttls=ttls,
            response_policy=ResponseHeadersPolicy(rhp),
            error_pages={
                int(e["ErrorCode"]): (e["ResponsePagePath"], int(e.get("ResponseCode") or e["ErrorCode"]))
                for e in errors
                if e.get("ResponsePagePath")
            },
        )

    @property
    def error_min_ttl(self) -> dict[int, float]:
        """ErrorCachingMinTTL by status code, as the template's CustomErrorResponses say."""
        return self.ttls.error_min_ttl

    def cacheable_request(self, method: str) -> bool:
        """GET and HEAD are always cached; OPTIONS when CachedMethods names it."""
        return method.upper() in self.cached_methods

    def cache_key(self, method: str, uri: str, query: str, headers: dict[str, str]) -> CacheKey:
        return self.key.key(method, uri, query, headers)

    def forwarded_query(self, query: str) -> str:
        return self.forwarding.query(query)

    def forwarded_headers(self, viewer: dict[str, str]) -> dict[str, str]:
        return self.forwarding.headers(viewer)

    def ttl(self, status: int, headers: Headers, generated: bool) -> float:
        return self.ttls.ttl(status, headers, generated)

    def stale_for(self, status: int) -> float | None:
        return self.ttls.stale_for(status)

    def response_headers(self, request_headers: dict[str, str], response_headers: Headers) -> Headers:
        """The response headers policy applied to one viewer response (hit or miss)."""
        return self.response_policy.apply(request_headers, response_headers)


def _branch(r: LocalResolver, node: Any) -> Any:
    """Pick Fn::If branches (AWS::NoValue = None) without resolving the rest: policy IDs are
    Refs to resources that have no local value of their own."""
    while isinstance(node, Mapping) and set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        node = yes if r.condition(name) else no
    if isinstance(node, Mapping) and node == {"Ref": "AWS::NoValue"}:
        return None
    return node


def _policy(r: LocalResolver, ref: Any, kind: str, config_key: str, managed: Mapping[str, Any]) -> dict[str, Any]:
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
