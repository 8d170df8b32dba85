"""The distribution model read from the template (local/cloudfront/distribution.py): cached
methods, error caching, and the refusal of what it does not model."""

from __future__ import annotations

import pytest

from local.intrinsics import Resolver, TemplateError
from tests.local.cloudfront.conftest import TEMPLATE, behavior, fresh, model, with_orp


def test_cached_methods_come_from_the_template():
    cached = Resolver(TEMPLATE).resolve(behavior(TEMPLATE)["CachedMethods"])  # lambda-edge, the default mode
    assert model().cacheable_request("OPTIONS") == ("OPTIONS" in cached)
    t = fresh()
    behavior(t)["CachedMethods"] = ["GET", "HEAD"]
    m = model(t)
    assert m.cacheable_request("get") and m.cacheable_request("HEAD")
    assert not m.cacheable_request("OPTIONS")
    assert not m.cacheable_request("POST")


def test_unmodelled_policies_raise():
    with pytest.raises(TemplateError):
        model(with_orp(fresh(), "00000000-0000-0000-0000-000000000000"))
    t = fresh()
    del behavior(t)["CachePolicyId"]
    behavior(t)["ForwardedValues"] = {"QueryString": False}
    with pytest.raises(TemplateError, match="ForwardedValues"):
        model(t)


def test_the_templates_error_caching_is_read():
    config = TEMPLATE["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    expected = {e["ErrorCode"]: float(e["ErrorCachingMinTTL"]) for e in config.get("CustomErrorResponses") or []}
    assert model().error_min_ttl == expected
