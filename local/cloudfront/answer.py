"""What the viewer gets for one request, as the edge's steps pass it along."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


class Body(Protocol):
    """An origin response body still to send (``origin.OriginBody``)."""

    length: int | None

    async def read_up_to(self, limit: int) -> tuple[bytes, bool]: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None: ...


@dataclass
class Answer:
    """A status, headers and a body (or an origin body still to stream), and what the
    access line reports: the decision that led here and the cache's part."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    decision: str = ""
    upstream: Body | None = None
    generated: bool = False
    cache: str = "-"  # hit / stale / refresh / miss / miss-too-big / - (not cacheable)

    def discard(self) -> None:
        if self.upstream is not None:
            self.upstream.release()
            self.upstream = None


def plain(status: int, text: bytes, decision: str) -> Answer:
    """A short text answer the edge makes itself (refusals, function and origin failures)."""
    return Answer(status, [("Content-Type", "text/plain")], text, decision)
