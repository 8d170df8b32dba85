"""Receiving a viewer request as CloudFront does, before any cache lookup or function:
the request target as raw bytes (raw UTF-8 is the same key as its %-encoding;
absolute-form accepted), the viewer headers a function could ever see, and the
refusals CloudFront makes first (a method the behavior does not allow, a GET/HEAD
with a body).

Sources: aws-facts §3 ([R-ALL]: headers never exposed to functions), RFC 9112 §3.2
(absolute-form).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from aiohttp import web

from .answer import Answer, plain
from .event import DISALLOWED, DISALLOWED_PREFIXES

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
     "te", "trailer", "transfer-encoding", "upgrade"}
)  # fmt: skip
# Never exposed to functions (aws-facts §3, [R-ALL]); hop-by-hop headers are the connection's.
HIDDEN = DISALLOWED | HOP_BY_HOP
HIDDEN_PREFIXES = (*DISALLOWED_PREFIXES, "x-accel-", "proxy-")
METHOD_REFUSED = (
    b"This distribution is not configured to allow the HTTP request method that was used for this request.\n"
)
BODY_REFUSED = b"403 ERROR: The request could not be satisfied. Bad request: a GET or HEAD request with a body.\n"
# CloudFront's quotas (cloudfront-limits.html, "General quotas"): "Maximum length of a
# request or an origin response, including headers and query strings, but not including
# the body content: 20,480 bytes" and "Maximum length of a URL: 8,192 bytes".
MAX_HEAD = 20_480
MAX_URL = 8_192
HEAD_TOO_LARGE = (
    b"413 ERROR: The request could not be satisfied. Request Entity Too Large: the request line and headers "
    b"are over 20,480 bytes, or the URL over 8,192.\n"
)


@dataclass
class ViewerRequest:
    method: str
    uri: str  # as received (the access line's)
    query: str
    headers: dict[str, str]  # lower-case names, repeats joined; hidden ones dropped
    client: str
    refusal: Answer | None = None  # CloudFront's answer before anything else runs
    close: bool = False  # close the connection after answering
    path: str = ""  # the object asked for: ``uri``, or the default root object for "/"

    @property
    def target(self) -> str:
        return f"{self.uri}?{self.query}" if self.query else self.uri


def hidden(name: str) -> bool:
    return name in HIDDEN or name.startswith(HIDDEN_PREFIXES)


def encode_target(raw: bytes) -> str:
    """Raw request-target bytes as a URI string: bytes outside printable ASCII become
    %XX (so raw UTF-8 is the same key as its %-encoding, never mojibake)."""
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def split_target(raw: bytes) -> tuple[str, str]:
    """(uri, query) of an origin-form or absolute-form request target."""
    if not raw.startswith(b"/") and b"://" in raw[:16]:
        rest = raw.split(b"://", 1)[1]
        cuts = [i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0]
        raw = rest[min(cuts) :] if cuts else b""
        if not raw.startswith(b"/"):
            raw = b"/" + raw
    raw = raw.split(b"#", 1)[0]
    uri, _, query = raw.partition(b"?")
    return encode_target(uri), encode_target(query)


def has_body_headers(request: web.BaseRequest) -> bool:
    length = request.headers.get("Content-Length", "0").strip()
    return "Transfer-Encoding" in request.headers or length not in ("", "0")


def viewer_headers(request: web.BaseRequest) -> dict[str, str]:
    """Viewer headers a function could ever see: lower-case names, repeats joined."""
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if hidden(lower):
            continue
        out[lower] = f"{out[lower]},{value}" if lower in out else value
    return out


def head_size(request: web.BaseRequest, target: bytes) -> int:
    """Bytes of the request line and headers as received (the body is not counted)."""
    line = len(request.method) + 1 + len(target) + len(" HTTP/1.1\r\n")
    return line + sum(len(name) + 2 + len(value) + 2 for name, value in request.raw_headers) + 2


def too_large() -> web.Response:
    """CloudFront's 413 for a request line longer than the whole head may be (the server
    answers it before any handler runs)."""
    response = web.Response(status=413, body=HEAD_TOO_LARGE, content_type="text/plain")
    response.headers.update({"Server": "CloudFront", "X-Cache": "Error from cloudfront"})
    return response


def receive(request: web.BaseRequest, allowed_methods: Collection[str], default_root_object: str) -> ViewerRequest:
    """The viewer request as the edge works on it, with CloudFront's refusal if it has one."""
    target = request.raw_path.encode("utf-8", "surrogateescape")
    uri, query = split_target(target)
    viewer = ViewerRequest(request.method, uri, query, viewer_headers(request), request.remote or "127.0.0.1")
    viewer.path = "/" + default_root_object if uri == "/" and default_root_object else uri  # as CloudFront does
    if len(target) > MAX_URL or head_size(request, target) > MAX_HEAD:
        viewer.refusal = plain(413, HEAD_TOO_LARGE, "refused-too-large")
        viewer.close = True
    elif request.method not in allowed_methods:
        viewer.refusal = plain(403, METHOD_REFUSED, "refused-method")
    elif request.method in ("GET", "HEAD") and (request.body_exists or has_body_headers(request)):
        # CloudFront's 403, and the connection closes: aiohttp frames a GET body, but
        # its pure-Python parser reads a HEAD request as bodiless whatever its framing
        # headers say, so bytes after a HEAD are parsed as the next request; closing
        # here drops any such pipelined request unserved.
        viewer.refusal = plain(403, BODY_REFUSED, "refused-body")
        viewer.close = True
    return viewer
