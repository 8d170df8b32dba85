"""Parse a CloudFront origin-request event into what the signer needs.

Usage::

    req = parse_event(event)          # raises EventError on a malformed event
    req.method, req.uri, req.domain   # "GET", "/a%20b", "x.mrap.accesspoint..."
    req.request                       # the untouched ``cf.request`` dict
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Headers = dict[str, list[dict[str, str]]]


class EventError(ValueError):
    """The event is not a well-formed CloudFront origin-request event."""


@dataclass(frozen=True, slots=True)
class OriginRequest:
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


def _require(container: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(container, dict):
        raise EventError(f"{where} is not an object")
    value = container.get(key)
    if not isinstance(value, kind):
        raise EventError(f"{where}.{key} is missing or not a {kind.__name__}")
    return value


def _header_map(value: Any, where: str) -> Headers:
    """Check CloudFront's ``{"name": [{"key": ..., "value": ...}]}`` shape."""
    if not isinstance(value, dict):
        raise EventError(f"{where} is not an object")
    for name, entries in value.items():
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("value"), str) for e in entries
        ):
            raise EventError(f"{where}[{name!r}] is not a list of {{key, value}}")
    return value


def parse_event(event: Any) -> OriginRequest:
    records = _require(event, "Records", list, "event")
    if not records:
        raise EventError("event.Records is empty")
    cf = _require(records[0], "cf", dict, "Records[0]")
    config = _require(cf, "config", dict, "cf")
    request = _require(cf, "request", dict, "cf")
    request_id = _require(config, "requestId", str, "cf.config")
    if not request_id:
        raise EventError("cf.config.requestId is empty")

    method = _require(request, "method", str, "request")
    uri = _require(request, "uri", str, "request")
    if not uri.startswith("/"):
        raise EventError("request.uri does not start with '/'")
    querystring = request.get("querystring", "")
    if not isinstance(querystring, str):
        raise EventError("request.querystring is not a string")
    headers = _header_map(request.get("headers", {}), "request.headers")

    origin = _require(request, "origin", dict, "request")
    kinds = [k for k in ("custom", "s3") if k in origin]
    if len(kinds) != 1:
        raise EventError("request.origin must hold exactly one of 'custom' or 's3'")
    kind = kinds[0]
    settings = _require(origin, kind, dict, "request.origin")
    domain = _require(settings, "domainName", str, f"origin.{kind}")
    origin_path = settings.get("path", "")
    if not isinstance(origin_path, str) or (origin_path and not origin_path.startswith("/")):
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
