"""CloudFront-shaped results: the signed origin request, or a generated response.

Usage::

    signed_request(req, origin_path, uri, query, headers, signature, custom_headers)  # -> request dict
    bad_gateway("why")        # -> {"status": "502", ...}, never cached
    method_not_allowed("PUT") # -> {"status": "405", ...}
    refused(404, "why")       # -> {"status": "404", ...} (403, 404 or 414)
    options_no_content()      # -> {"status": "204"}: OPTIONS, answered at the edge
"""

from __future__ import annotations

import json
from typing import Any

from .decide import ALLOWED_METHODS
from .event import Headers, OriginRequest

# Every error status the function generates. The distribution's CustomErrorResponses
# cover each of them (tests/template), so none is cached longer than intended.
GENERATED_ERRORS = (403, 404, 405, 414, 502)
_REFUSALS = {403: ("Forbidden", "Forbidden"), 404: ("Not Found", "NotFound"), 414: ("URI Too Long", "UriTooLong")}


def signed_request(
    req: OriginRequest,
    origin_path: str,
    uri: str,
    query: str,
    headers: Headers,
    signature: dict[str, str],
    custom_headers: Headers,
) -> dict[str, Any]:
    """A new request dict; the event's own dicts are left as they were received.

    ``custom_headers`` are the origin's custom headers to send (the event's, or fewer).
    """
    out_headers = dict(headers)
    for name, value in signature.items():
        out_headers[name.lower()] = [{"key": name, "value": value}]
    result = dict(req.request)
    result.update(uri=uri, querystring=query, headers=out_headers)
    # Re-encoded path or fewer custom headers: a new origin object, never the event's.
    if origin_path != req.origin_path or custom_headers is not req.custom_headers:
        settings = {**req.request["origin"][req.origin_kind], "path": origin_path, "customHeaders": custom_headers}
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
        {"allow": [{"key": "Allow", "value": ALLOWED_METHODS}]},
    )


def refused(status: int, reason: str, request_id: str | None = None) -> dict[str, Any]:
    """A request that is never signed: 403 (a sub-resource), 404 (no key) or 414 (too long)."""
    description, error = _REFUSALS[status]
    body = {"error": error, "message": reason}
    if request_id:
        body["requestId"] = request_id
    return _generated(status, description, body)


def options_no_content() -> dict[str, Any]:
    """The answer to every OPTIONS request: an MRAP serves none (no OPTIONS, no CORS).

    No body (CloudFront refuses a 204 with one) and no CORS headers: the distribution's
    response headers policy adds those per viewer, when CORS is configured. The same
    for every viewer, so CloudFront may cache it.
    """
    return {
        "status": "204",
        "statusDescription": "No Content",
        "headers": {"allow": [{"key": "Allow", "value": ALLOWED_METHODS}]},
    }
