"""Range and conditional requests answered from a cached full object.

Sources: RangeGETs.html (ranges served from the cached object; ranges out of order,
overlapping or invalid get 200 with the whole object), RequestAndResponseBehaviorCustomOrigin.html
("Caching": without an ETag CloudFront ignores If-None-Match). Partial (206) responses
are not stored here: ranges are served only from a stored full object (README: simplification).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from .headers import header as _header
from .store import Entry, age


def _parse_ranges(value: str, length: int) -> list[tuple[int, int]] | None:
    """Byte ranges as (first, last) inclusive; None when the header is malformed, out of
    order or overlapping (CloudFront then serves the whole object, RangeGETs.html);
    [] when syntactically valid but none is satisfiable (416)."""
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    satisfiable: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        first_s, dash, last_s = part.partition("-")
        if not dash or not (first_s or last_s) or not all(s.isdigit() for s in (first_s, last_s) if s):
            return None
        if first_s:
            first = int(first_s)
            last = int(last_s) if last_s else None
            if last is not None and last < first:
                return None
        else:  # suffix: the last N bytes
            n = int(last_s)
            first, last = max(0, length - n), length - 1
            if n == 0:
                first = length  # unsatisfiable
        end = length - 1 if last is None else min(last, length - 1)
        if ranges and first <= ranges[-1][1]:
            return None  # out of order or overlapping
        ranges.append((first, last if last is not None else length - 1))
        if first < length and end >= first:
            satisfiable.append((first, end))
    return satisfiable


def _etag_matches(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    if header.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == weak for tag in header.split(","))


def serve_from_entry(
    entry: Entry, method: str, request_headers: dict[str, str], now: float
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Range (206 slice / whole object for a malformed range / 416) and conditional requests
    (If-None-Match / If-Modified-Since -> 304) answered from a cached full object, plus Age.
    A HEAD gets the headers with no body."""
    head = method.upper() == "HEAD"
    headers = [(k, v) for k, v in entry.headers if k.lower() not in ("age", "content-length")]
    headers.append(("Age", str(age(entry, now))))
    body = entry.body
    if entry.status == 200:
        etag = _header(entry.headers, "etag")
        inm = request_headers.get("if-none-match")
        ims = request_headers.get("if-modified-since")
        not_modified = False
        # Without an ETag CloudFront ignores If-None-Match (RequestAndResponseBehaviorCustomOrigin.html, "Caching").
        if inm is not None and etag is not None:
            not_modified = _etag_matches(inm, etag)
        elif ims is not None:
            modified = _header(entry.headers, "last-modified")
            try:
                not_modified = modified is not None and (
                    parsedate_to_datetime(modified).timestamp() <= parsedate_to_datetime(ims).timestamp()
                )
            except (TypeError, ValueError, IndexError):
                not_modified = False
        if not_modified:
            keep = ("etag", "last-modified", "cache-control", "expires", "date", "vary", "age",
                    "content-location")  # fmt: skip
            return 304, [(k, v) for k, v in headers if k.lower() in keep], b""
        range_header = request_headers.get("range")
        if range_header is not None and method.upper() in ("GET", "HEAD"):
            if_range = request_headers.get("if-range")
            if if_range is None or _if_range_holds(if_range, entry):
                ranges = _parse_ranges(range_header, len(body))
                if ranges == []:
                    headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
                    headers.append(("Content-Range", f"bytes */{len(body)}"))
                    headers.append(("Content-Length", "0"))
                    return 416, headers, b""
                if ranges:
                    return _partial(headers, body, ranges, head)
    headers.append(("Content-Length", str(len(body))))
    return entry.status, headers, b"" if head else body


def _if_range_holds(if_range: str, entry: Entry) -> bool:
    etag = _header(entry.headers, "etag")
    if if_range.strip().startswith(('"', "W/")):
        return etag is not None and not etag.startswith("W/") and if_range.strip() == etag
    modified = _header(entry.headers, "last-modified")
    return modified is not None and modified.strip() == if_range.strip()


def _partial(
    headers: list[tuple[str, str]], body: bytes, ranges: list[tuple[int, int]], head: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    total = len(body)
    if len(ranges) == 1:
        first, last = ranges[0]
        part = body[first : last + 1]
        out = [*headers, ("Content-Range", f"bytes {first}-{last}/{total}"), ("Content-Length", str(len(part)))]
        return 206, out, b"" if head else part
    boundary = "CloudFrontLocalByteRanges"
    content_type = _header(headers, "content-type") or "application/octet-stream"
    chunks = []
    for first, last in ranges:
        head_lines = f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {first}-{last}/{total}"
        chunks.append(f"{head_lines}\r\n\r\n".encode() + body[first : last + 1])
    payload = b"".join(chunks) + f"\r\n--{boundary}--\r\n".encode()
    out = [(k, v) for k, v in headers if k.lower() != "content-type"]
    out += [("Content-Type", f"multipart/byteranges; boundary={boundary}"), ("Content-Length", str(len(payload)))]
    return 206, out, b"" if head else payload
