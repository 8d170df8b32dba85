"""Header lists as the edge keeps them (``[(name, value), ...]``, names as received):
look one up, remove one, set one the way a policy's Override says."""

from __future__ import annotations

from collections.abc import Iterable

Headers = list[tuple[str, str]]


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """All values of ``name`` (lower-case) joined with ", "; None when absent."""
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def without(headers: Headers, name: str) -> Headers:
    return [(k, v) for k, v in headers if k.lower() != name.lower()]


def set_header(headers: Headers, name: str, value: str, override: bool) -> Headers:
    """Override: replace the origin's header; else add only when the origin sent none."""
    if any(k.lower() == name.lower() for k, _ in headers):
        if not override:
            return headers
        headers = without(headers, name)
    return [*headers, (name, value)]


# The edge's own names in the headers it writes (Via, X-Amz-Cf-Pop).
EDGE_ID = "0123456789abcdef0123456789abcdef"
POP = "LCL1-P1"
