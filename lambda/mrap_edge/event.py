"""Parse a CloudFront origin-request event into what the signer needs.

Usage::

    req = parse_event(event)          # raises EventError on a malformed event
    req.method, req.uri, req.domain   # "GET", "/a%20b", "x.mrap.accesspoint..."
    req.request                       # the untouched ``cf.request`` dict
"""

from __future__ import annotations

from typing import Any, NamedTuple

Headers = dict[str, list[dict[str, str]]]


class EventError(ValueError):
    """The event is not a well-formed CloudFront origin-request event."""


class OriginRequest(NamedTuple):
    """Immutable; a NamedTuple because it is built on every request."""

    request: dict[str, Any]
    request_id: str
    method: str
    uri: str
    querystring: str
    headers: Headers
    origin_kind: str  # "custom" or "s3"
    domain: str
    origin_path: str
    custom_headers: Headers


def _not_strings(**fields: Any) -> str:
    """The error message, built only when a check failed."""
    bad = [name.replace("__", ".") for name, value in fields.items() if not isinstance(value, str)]
    return f"{', '.join(bad)} missing or not a string"


def parse_event(event: Any) -> OriginRequest:
    # Plain lookups and one combined check on the hot path; messages only on failure.
    try:
        cf = event["Records"][0]["cf"]
        request_id = cf["config"]["requestId"]
        request = cf["request"]
        method, uri, origin = request["method"], request["uri"], request["origin"]
        querystring = request.get("querystring", "")
        headers = request.get("headers", {})
        kind = "custom" if "custom" in origin else "s3"
        settings = origin[kind]
        domain, origin_path = settings.get("domainName"), settings.get("path", "")
        custom_headers = settings.get("customHeaders", {})
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise EventError(f"no {exc} in the event's Records[0].cf config or request") from None
    if not (
        isinstance(request_id, str)
        and isinstance(method, str)
        and isinstance(uri, str)
        and isinstance(querystring, str)
        and isinstance(domain, str)
        and isinstance(origin_path, str)
    ):
        raise EventError(
            _not_strings(
                config__requestId=request_id,
                request__method=method,
                request__uri=uri,
                request__querystring=querystring,
                origin__domainName=domain,
                origin__path=origin_path,
            )
        )
    if not request_id:
        raise EventError("cf.config.requestId is empty")
    if not uri.startswith("/"):
        raise EventError("request.uri does not start with '/'")
    if len(origin) != 1:
        raise EventError("request.origin must hold exactly one of 'custom' or 's3'")
    if origin_path and not origin_path.startswith("/"):
        raise EventError(f"origin.{kind}.path must be '' or start with '/'")
    if not isinstance(headers, dict) or not isinstance(custom_headers, dict):
        raise EventError("request.headers and origin customHeaders must be objects")
    # Header entries are only read by name; their shape is CloudFront's to check.
    return OriginRequest(
        request, request_id, method, uri, querystring, headers, kind, domain, origin_path, custom_headers
    )
