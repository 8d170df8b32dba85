"""The response headers policy, applied to every viewer response (hit or miss): headers
removed, security headers, custom headers (each with its Override), and CORS.

Source: understanding-response-headers-policies.html (Override per header; CORS headers
only on CORS requests whose Origin is allowed; preflight headers only on preflights).
``ServerTimingHeadersConfig`` is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .headers import Headers, set_header, without

SECURITY_HEADERS = ("StrictTransportSecurity", "ContentTypeOptions", "FrameOptions", "ReferrerPolicy",
                    "XSSProtection", "ContentSecurityPolicy")  # fmt: skip


@dataclass(frozen=True)
class ResponseHeadersPolicy:
    config: Mapping[str, Any] = field(default_factory=dict)  # ResponseHeadersPolicyConfig; {} = none

    def apply(self, request_headers: Mapping[str, str], response_headers: Headers) -> Headers:
        policy = self.config
        out = list(response_headers)
        for item in (policy.get("RemoveHeadersConfig") or {}).get("Items") or []:
            out = without(out, item["Header"])
        security = policy.get("SecurityHeadersConfig") or {}
        for kind in SECURITY_HEADERS:
            if kind in security:
                name, value = security_header(kind, security[kind])
                out = set_header(out, name, value, bool(security[kind].get("Override")))
        for item in (policy.get("CustomHeadersConfig") or {}).get("Items") or []:
            out = set_header(out, item["Header"], str(item["Value"]), bool(item.get("Override")))
        cors = policy.get("CorsConfig")
        if cors:
            out = apply_cors(cors, request_headers, out)
        return out


def security_header(kind: str, c: Mapping[str, Any]) -> tuple[str, str]:
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


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or pattern.lower() == origin.lower():
            return True
        if "://*." in pattern:  # https://*.example.com: any subdomain
            scheme, rest = pattern.split("://*.", 1)
            o_scheme, _, o_host = origin.partition("://")
            if o_scheme.lower() == scheme.lower() and o_host.lower().endswith("." + rest.lower()):
                return True
    return False


def apply_cors(c: Mapping[str, Any], request: Mapping[str, str], headers: Headers) -> Headers:
    origin = request.get("origin")
    allowed = _items(c.get("AccessControlAllowOrigins"))
    if origin is None or not origin_allowed(origin, allowed):
        return headers  # not a CORS request, or an origin the policy does not allow
    override = bool(c.get("OriginOverride"))
    out = set_header(headers, "Access-Control-Allow-Origin", "*" if "*" in allowed else origin, override)
    if c.get("AccessControlAllowCredentials"):
        out = set_header(out, "Access-Control-Allow-Credentials", "true", override)
    # A preflight is an OPTIONS carrying Access-Control-Request-Method; only browsers'
    # preflights send that header, so it alone tells them apart here.
    preflight = "access-control-request-method" in request
    if preflight:
        methods = _items(c.get("AccessControlAllowMethods"))
        if "ALL" in methods:
            methods = ["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "HEAD"]
        out = set_header(out, "Access-Control-Allow-Methods", ", ".join(methods), override)
        allow_headers = _items(c.get("AccessControlAllowHeaders"))
        if allow_headers:
            out = set_header(out, "Access-Control-Allow-Headers", ", ".join(allow_headers), override)
        if c.get("AccessControlMaxAgeSec") is not None:
            out = set_header(out, "Access-Control-Max-Age", str(int(c["AccessControlMaxAgeSec"])), override)
    else:
        expose = _items(c.get("AccessControlExposeHeaders"))
        if expose:
            out = set_header(out, "Access-Control-Expose-Headers", ", ".join(expose), override)
    return out
