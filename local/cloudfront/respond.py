"""Sending the answer to the viewer: the response headers policy, the headers CloudFront
adds (X-Cache, Via, X-Amz-Cf-Pop, X-Amz-Cf-Id, Server), and the body, whole or streamed.

Sources: aws-facts §10 ([CUSTO]: origin response headers CloudFront removes),
cache-hit-ratio-explained.html and standard-logs-reference.html (``Hit``, ``RefreshHit``,
``Miss``, ``Error`` ... ``from cloudfront``).
"""

from __future__ import annotations

from aiohttp import web

from .answer import Answer
from .distribution import DistributionModel
from .headers import EDGE_ID, POP
from .viewer import HOP_BY_HOP

# Origin response headers CloudFront removes (aws-facts §10, [CUSTO]).
STRIPPED_RESPONSE = HOP_BY_HOP | {"via", "set-cookie", "x-cache"}
CHUNK = 64 * 1024


def x_cache(status: int, hit: bool, refreshed: bool = False) -> str:
    """CloudFront's X-Cache value: errors say Error whether cached or not; an expired
    object the origin confirmed with a 304 is a RefreshHit."""
    if status >= 400:
        return "Error from cloudfront"
    if refreshed:
        return "RefreshHit from cloudfront"
    return "Hit from cloudfront" if hit else "Miss from cloudfront"


def viewer_response_headers(answer: Answer, distribution: DistributionModel, viewer: dict[str, str],
                            request_id: str, refused: bool) -> list[tuple[str, str]]:  # fmt: skip
    headers = [(k, v) for k, v in answer.headers if k.lower() not in STRIPPED_RESPONSE]
    if not refused:  # CloudFront's own refusals do not pass the response headers policy
        headers = distribution.response_headers(viewer, headers)
    headers += [
        ("Via", f"1.1 {EDGE_ID}.cloudfront.net (CloudFront)"),
        ("X-Cache", x_cache(answer.status, answer.cache in ("hit", "stale", "refresh"), answer.cache == "refresh")),
        ("X-Amz-Cf-Pop", POP),
        ("X-Amz-Cf-Id", request_id),
    ]
    if not any(k.lower() == "server" for k, _ in headers):
        headers.append(("Server", "CloudFront"))
    return headers


async def respond(request: web.BaseRequest, answer: Answer, headers: list[tuple[str, str]],
                  close: bool) -> tuple[web.StreamResponse, int]:  # fmt: skip
    """Send the answer; returns the response and the body bytes sent."""
    head = request.method == "HEAD"
    if answer.upstream is None and not head:
        # A whole body: aiohttp sends headers and body in one write.
        whole = web.Response(status=answer.status, body=answer.body)
        for name, value in headers:
            if name.lower() != "content-length":
                whole.headers.add(name, value)
        if close:
            whole.force_close()
        await whole.prepare(request)
        await whole.write_eof()
        return whole, len(answer.body)
    response = web.StreamResponse(status=answer.status)
    length: int | None = None
    for name, value in headers:
        if name.lower() == "content-length":
            length = int(value)
        else:
            response.headers.add(name, value)
    if close:
        response.force_close()
    if answer.upstream is None:
        response.content_length = len(answer.body) if length is None or not head else length
        await response.prepare(request)
        if not head and answer.body:
            await response.write(answer.body)
        await response.write_eof()
        return response, 0 if head else len(answer.body)
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    sent = 0
    if not head and answer.status not in (204, 304):
        async for chunk in answer.upstream.chunks():
            await response.write(chunk)
            sent += len(chunk)
    await response.write_eof()
    return response, sent
