"""The response headers policy (local/cloudfront/response_headers.py): security headers,
custom and removed headers, CORS."""

from __future__ import annotations

import pytest

from local.cloudfront.distribution import DistributionModel
from tests.local.cloudfront.conftest import TEMPLATE, fresh, headers_of, model, response_policy


def test_security_headers_from_the_template():
    security = response_policy(TEMPLATE)["SecurityHeadersConfig"]
    out = model().response_headers({}, [("Content-Type", "text/plain")])
    hsts = security["StrictTransportSecurity"]
    assert headers_of(out, "Strict-Transport-Security") == [
        f"max-age={hsts['AccessControlMaxAgeSec']}" + ("; includeSubDomains" if hsts.get("IncludeSubdomains") else "")
        + ("; preload" if hsts.get("Preload") else "")
    ]  # fmt: skip
    assert headers_of(out, "X-Content-Type-Options") == ["nosniff"]
    assert headers_of(out, "X-Frame-Options") == [security["FrameOptions"]["FrameOption"]]
    assert headers_of(out, "Referrer-Policy") == [security["ReferrerPolicy"]["ReferrerPolicy"]]
    assert headers_of(out, "Content-Type") == ["text/plain"]


@pytest.mark.parametrize(("override", "expected"), [(True, "DENY"), (False, "SAMEORIGIN")])
def test_override_decides_whose_header_wins(override, expected):
    t = fresh()
    response_policy(t)["SecurityHeadersConfig"]["FrameOptions"] = {"FrameOption": "DENY", "Override": override}
    out = model(t).response_headers({}, [("x-frame-options", "SAMEORIGIN")])
    assert headers_of(out, "X-Frame-Options") == [expected]


def test_custom_and_removed_headers():
    t = fresh()
    response_policy(t)["CustomHeadersConfig"] = {
        "Items": [
            {"Header": "X-Site", "Value": "demo", "Override": False},
            {"Header": "Cache-Control", "Value": "max-age=5", "Override": True},
        ]
    }
    response_policy(t)["RemoveHeadersConfig"] = {"Items": [{"Header": "x-amz-meta-secret"}]}
    out = model(t).response_headers(
        {}, [("X-Site", "origin"), ("Cache-Control", "max-age=1"), ("x-amz-meta-secret", "s")]
    )
    assert headers_of(out, "X-Site") == ["origin"]
    assert headers_of(out, "Cache-Control") == ["max-age=5"]
    assert headers_of(out, "x-amz-meta-secret") == []


def with_cors(origins: list[str], override: bool = True, credentials: bool = False) -> DistributionModel:
    t = fresh()
    response_policy(t)["CorsConfig"] = {
        "AccessControlAllowCredentials": credentials,
        "AccessControlAllowHeaders": {"Items": ["*"]},
        "AccessControlAllowMethods": {"Items": ["GET", "HEAD"]},
        "AccessControlAllowOrigins": {"Items": origins},
        "AccessControlExposeHeaders": {"Items": ["ETag", "Content-Range"]},
        "AccessControlMaxAgeSec": 600,
        "OriginOverride": override,
    }
    return model(t)


def test_cors_only_for_an_allowed_origin():
    m = with_cors(["https://app.example.com", "https://*.example.org"])
    out = m.response_headers({"origin": "https://app.example.com"}, [])
    assert headers_of(out, "Access-Control-Allow-Origin") == ["https://app.example.com"]
    assert headers_of(out, "Access-Control-Expose-Headers") == ["ETag, Content-Range"]
    assert headers_of(out, "Access-Control-Allow-Methods") == []  # preflight only
    assert headers_of(m.response_headers({"origin": "https://cdn.example.org"}, []), "Access-Control-Allow-Origin")
    for origin in ("https://evil.example", "http://app.example.com", "https://example.org"):
        out = m.response_headers({"origin": origin}, [])
        assert not any(k.lower().startswith("access-control-") for k, _ in out), origin
    assert headers_of(m.response_headers({}, []), "Access-Control-Allow-Origin") == []  # not a CORS request


def test_cors_preflight_and_star():
    m = with_cors(["*"])
    out = m.response_headers({"origin": "https://x.example", "access-control-request-method": "GET"}, [])
    assert headers_of(out, "Access-Control-Allow-Origin") == ["*"]
    assert headers_of(out, "Access-Control-Allow-Methods") == ["GET, HEAD"]
    assert headers_of(out, "Access-Control-Allow-Headers") == ["*"]
    assert headers_of(out, "Access-Control-Max-Age") == ["600"]
    assert headers_of(out, "Access-Control-Expose-Headers") == []


@pytest.mark.parametrize(("override", "expected"), [(True, "https://a.example"), (False, "https://origin.example")])
def test_cors_origin_override(override, expected):
    m = with_cors(["https://a.example"], override=override)
    out = m.response_headers(
        {"origin": "https://a.example"}, [("Access-Control-Allow-Origin", "https://origin.example")]
    )
    assert headers_of(out, "Access-Control-Allow-Origin") == [expected]


def test_no_cors_config_means_no_cors_headers():
    t = fresh()
    response_policy(t).pop("CorsConfig", None)
    out = model(t).response_headers({"origin": "https://a.example", "access-control-request-method": "GET"}, [])
    assert not any(k.lower().startswith("access-control-") for k, _ in out)
