"""CloudFront's side of an origin-request trigger: the event it builds, the checks it
applies to the function's result, and the request it then sends to the origin.

Usage::

    event = origin_request_event("GET", "/a%20b", "", {"accept": ["*/*"]}, origin, "req-id")
    result = lambda_handler(event, None)
    validate_result(event["Records"][0]["cf"]["request"], result)   # raises ValidationError
    wire = wire_request(result, "req-id")                           # what reaches S3
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..s3.verifier import WireRequest

# Lambda@Edge: adding any of these makes CloudFront answer 502.
DISALLOWED = frozenset(
    {
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "proxy-connection", "trailer", "upgrade", "x-accel-buffering", "x-accel-charset",
        "x-accel-limit-rate", "x-accel-redirect", "x-amzn-auth", "x-amzn-cf-billing",
        "x-amzn-cf-id", "x-amzn-cf-xff", "x-amzn-errortype", "x-amzn-fle-profile",
        "x-amzn-header-count", "x-amzn-header-order", "x-amzn-lambda-integration-tag",
        "x-amzn-requestid", "x-cache", "x-forwarded-proto", "x-real-ip",
    }
)  # fmt: skip
DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")
# Read-only in origin-request events: must come back exactly as they were.
READ_ONLY = frozenset(
    {
        "accept-encoding", "content-length", "if-modified-since", "if-none-match",
        "if-range", "if-unmodified-since", "transfer-encoding", "via",
    }
)  # fmt: skip
MAX_URI_AND_QUERY = 8192
MAX_GENERATED_RESPONSE = 1024 * 1024
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class ValidationError(ValueError):
    """CloudFront would reject this result with a 502."""


def header_map(headers: dict[str, list[str]]) -> dict[str, list[dict[str, str]]]:
    return {name.lower(): [{"key": name, "value": v} for v in values] for name, values in headers.items()}


def origin_request_event(
    method: str,
    uri: str,
    querystring: str,
    headers: dict[str, list[str]],
    origin: dict[str, Any],
    request_id: str,
    client_ip: str = "127.0.0.1",
    distribution_domain: str = "d111111abcdef8.cloudfront.net",
    distribution_id: str = "EDFDVBD6EXAMPLE",
) -> dict[str, Any]:
    """The event CloudFront hands an origin-request trigger (header names lower-cased)."""
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": distribution_domain,
                        "distributionId": distribution_id,
                        "eventType": "origin-request",
                        "requestId": request_id,
                    },
                    "request": {
                        "clientIp": client_ip,
                        "headers": header_map(headers),
                        "method": method,
                        "origin": copy.deepcopy(origin),
                        "querystring": querystring,
                        "uri": uri,
                    },
                }
            }
        ]
    }


def custom_origin(domain: str, path: str = "", custom_headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "custom": {
            "customHeaders": header_map({k: [v] for k, v in (custom_headers or {}).items()}),
            "domainName": domain,
            "keepaliveTimeout": 5,
            "path": path,
            "port": 443,
            "protocol": "https",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }


def _check_header_map(headers: Any, where: str) -> None:
    if not isinstance(headers, dict):
        raise ValidationError(f"{where} must be an object")
    for name, entries in headers.items():
        if not isinstance(name, str) or name != name.lower():
            raise ValidationError(f"{where} key {name!r} must be lower-case")
        if not isinstance(entries, list):
            raise ValidationError(f"{where}[{name!r}] must be a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                raise ValidationError(f"{where}[{name!r}] entries need a string value")
            key = entry.get("key", name)
            if not isinstance(key, str) or key.lower() != name:
                raise ValidationError(f"{where}[{name!r}] has key {key!r} that does not match")
            if _BAD_VALUE.search(entry["value"]):
                raise ValidationError(f"{where}[{name!r}] has a control character")
        if name in DISALLOWED or name.startswith(DISALLOWED_PREFIXES):
            raise ValidationError(f"{where} has the disallowed header {name!r}")


def _validate_generated(result: dict[str, Any]) -> None:
    status = result.get("status")
    if not isinstance(status, str) or not status.isdigit() or not 200 <= int(status) <= 599:
        raise ValidationError(f"generated response status {status!r} is not a string in 200-599")
    _check_header_map(result.get("headers", {}), "response.headers")
    body = result.get("body", "")
    if not isinstance(body, str):
        raise ValidationError("generated response body must be a string")
    if result.get("bodyEncoding", "text") not in ("text", "base64"):
        raise ValidationError("bodyEncoding must be 'text' or 'base64'")
    if status == "204" and body:
        raise ValidationError("a 204 response cannot have a body")
    if len(json.dumps(result.get("headers", {}))) + len(body) > MAX_GENERATED_RESPONSE:
        raise ValidationError("generated response is larger than 1 MB")


def _validate_origin(origin: Any) -> None:
    if not isinstance(origin, dict) or len([k for k in ("custom", "s3") if k in origin]) != 1:
        raise ValidationError("origin must hold exactly one of custom or s3")
    kind = "custom" if "custom" in origin else "s3"
    settings = origin[kind]
    domain = settings.get("domainName")
    if not isinstance(domain, str) or not domain or len(domain) > 253 or ":" in domain:
        raise ValidationError("origin domainName is invalid")
    path = settings.get("path", "")
    if not isinstance(path, str) or len(path) > 255 or (path and (path[0] != "/" or path.endswith("/"))):
        raise ValidationError(f"origin path {path!r} is invalid")
    _check_header_map(settings.get("customHeaders", {}), "origin.customHeaders")
    if kind == "custom":
        if settings.get("protocol") not in ("http", "https"):
            raise ValidationError("origin protocol must be http or https")
        port = settings.get("port")
        if not isinstance(port, int) or not (port in (80, 443) or 1024 <= port <= 65535):
            raise ValidationError("origin port is invalid")


def validate_result(original: dict[str, Any], result: Any) -> None:
    """Apply the checks CloudFront applies to an origin-request function's result."""
    if not isinstance(result, dict):
        raise ValidationError("the function returned no object")
    if "status" in result:
        _validate_generated(result)
        return
    for field in ("method", "clientIp"):
        if result.get(field) != original.get(field):
            raise ValidationError(f"read-only field {field} was changed")
    uri = result.get("uri")
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise ValidationError("uri must be a string starting with '/'")
    query = result.get("querystring", "")
    if not isinstance(query, str) or query.startswith("?"):
        raise ValidationError("querystring must be a string without a leading '?'")
    if len(uri) + len(query) >= MAX_URI_AND_QUERY:
        raise ValidationError("uri and query string are longer than CloudFront allows")
    if _BAD_VALUE.search(uri) or " " in uri or _BAD_VALUE.search(query) or " " in query:
        raise ValidationError("uri or query string has a space or control character")
    headers = result.get("headers", {})
    _check_header_map(headers, "request.headers")
    before = original.get("headers", {})
    for name in READ_ONLY:
        if [e["value"] for e in before.get(name, [])] != [e["value"] for e in headers.get(name, [])]:
            raise ValidationError(f"read-only header {name!r} was changed, added or removed")
    _validate_origin(result.get("origin"))
    custom = result["origin"].get("custom", result["origin"].get("s3", {})).get("customHeaders", {})
    clash = set(custom) & set(headers)
    if clash:
        raise ValidationError(f"headers {sorted(clash)} are both origin custom and request headers")


def wire_request(result: dict[str, Any], request_id: str, body: bytes = b"") -> WireRequest:
    """The request CloudFront sends: origin path + uri, the headers, then X-Amz-Cf-Id."""
    kind = "custom" if "custom" in result["origin"] else "s3"
    settings = result["origin"][kind]
    headers = [(e.get("key", name), e["value"]) for name, entries in result["headers"].items() for e in entries]
    headers += [
        (e.get("key", name), e["value"]) for name, entries in settings.get("customHeaders", {}).items() for e in entries
    ]
    headers.append(("X-Amz-Cf-Id", request_id))
    return WireRequest(
        result["method"], settings.get("path", "") + result["uri"], result.get("querystring", ""), headers, body
    )
