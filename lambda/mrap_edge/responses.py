"""CloudFront-shaped results: the signed origin request, or a generated response.

Usage::

    signed_request(req, path, query, headers, signature_headers)  # -> request dict
    bad_gateway("why")        # -> {"status": "502", ...}, never cached
    method_not_allowed("PUT") # -> {"status": "405", ...}
"""

from __future__ import annotations

import json
from typing import Any

from .event import Headers, OriginRequest


def signed_request(
    req: OriginRequest,
    origin_path: str,
    uri: str,
    query: str,
    headers: Headers,
    signature: dict[str, str],
) -> dict[str, Any]:
    """A new request dict; the event's own dicts are left as they were received."""
    out_headers = dict(headers)
    for name, value in signature.items():
        out_headers[name.lower()] = [{"key": name, "value": value}]
    result = dict(req.request)
    result.update(uri=uri, querystring=query, headers=out_headers)
    if origin_path != req.origin_path:  # re-encoded: a new origin object, never the event's
        settings = {**req.request["origin"][req.origin_kind], "path": origin_path}
        result["origin"] = {req.origin_kind: settings}
    return result


def _generated(status: int, description: str, body: dict[str, str], extra: Headers | None = None) -> dict[str, Any]:
    headers: Headers = {
        "content-type": [{"key": "Content-Type", "value": "application/json"}],
        # Generated origin-request responses are cached unless told otherwise.
        "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
    }
    headers.update(extra or {})
    return {
        "status": str(status),
        "statusDescription": description,
        "headers": headers,
        "body": json.dumps(body, separators=(",", ":")),
        "bodyEncoding": "text",
    }


def bad_gateway(reason: str, request_id: str | None = None) -> dict[str, Any]:
    body = {"error": "BadGateway", "message": reason}
    if request_id:
        body["requestId"] = request_id
    return _generated(502, "Bad Gateway", body)


def method_not_allowed(method: str) -> dict[str, Any]:
    return _generated(
        405,
        "Method Not Allowed",
        {"error": "MethodNotAllowed", "message": f"{method} is not served from this origin"},
        {"allow": [{"key": "Allow", "value": "GET, HEAD, OPTIONS"}]},
    )
