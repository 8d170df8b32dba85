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


def _header_map(value: Any, where: str) -> Headers:
    """CloudFront's ``{"name": [{"key": ..., "value": ...}]}`` map.

    Only the names are read (to drop viewer auth headers); the entries go back to
    CloudFront as they came, so their shape is CloudFront's to check.
    """
    if not isinstance(value, dict):
        raise EventError(f"{where} is not an object")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"{where} is missing or not a string")
    return value


def parse_event(event: Any) -> OriginRequest:
    # Plain lookups on the hot path; any missing or mistyped level lands here.
    try:
        cf = event["Records"][0]["cf"]
        config, request = cf["config"], cf["request"]
        request_id = config["requestId"]
        method, uri = request["method"], request["uri"]
        origin = request["origin"]
    except (KeyError, IndexError, TypeError) as exc:
        raise EventError(f"no {exc} in the event's Records[0].cf config or request") from None
    if not isinstance(request, dict) or not isinstance(origin, dict):
        raise EventError("cf.request and its origin must be objects")
    if not _string(request_id, "cf.config.requestId"):
        raise EventError("cf.config.requestId is empty")
    _string(method, "request.method")
    if not _string(uri, "request.uri").startswith("/"):
        raise EventError("request.uri does not start with '/'")
    querystring = _string(request.get("querystring", ""), "request.querystring")
    headers = _header_map(request.get("headers", {}), "request.headers")

    if len(origin) != 1 or ("custom" not in origin and "s3" not in origin):
        raise EventError("request.origin must hold exactly one of 'custom' or 's3'")
    kind = "custom" if "custom" in origin else "s3"
    settings = origin[kind]
    if not isinstance(settings, dict):
        raise EventError(f"request.origin.{kind} is not an object")
    domain = _string(settings.get("domainName"), f"origin.{kind}.domainName")
    origin_path = _string(settings.get("path", ""), f"origin.{kind}.path")
    if origin_path and not origin_path.startswith("/"):
        raise EventError(f"origin.{kind}.path must be '' or start with '/'")
    custom_headers = _header_map(settings.get("customHeaders", {}), f"origin.{kind}.customHeaders")

    return OriginRequest(
        request=request,
        request_id=request_id,
        method=method,
        uri=uri,
        querystring=querystring,
        headers=headers,
        origin_kind=kind,
        domain=domain,
        origin_path=origin_path,
        custom_headers=custom_headers,
    )
