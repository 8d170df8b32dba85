"""The path, query string and headers that are both signed and sent.

S3 resolves a key by reading ``+`` in the path as a space and decoding ``%XX``; the
CRT signer signs the path verbatim.  So every path and query string is decoded the
way S3 decodes it, then re-encoded in one strict form (only ``A-Za-z0-9-._~`` and
``/`` stay literal) that means the same to S3, CloudFront and the signature.

Usage::

    canonical_path("/a+b%2Bc")               # "/a%20b%2Bc"
    canonical_query("b=2&a=x+y&flag")        # "a=x%20y&b=2&flag="
    forwarded_headers(headers, "host.example")
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from .event import Headers

# One pass over what the strict form changes: escapes, '+', and bytes to escape.
_PATH_TOKENS = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~/]")
_PARAM_TOKENS = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~]")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = [f"%{i:02X}" for i in range(256)]
_PATH_LITERAL = [chr(i) if i in _UNRESERVED or i == 0x2F else _HEX[i] for i in range(256)]
_PARAM_LITERAL = [chr(i) if i in _UNRESERVED else _HEX[i] for i in range(256)]
_HIGH_ESCAPE = re.compile(r"%[89A-Fa-f][0-9A-Fa-f]")


class PathError(ValueError):
    """The uri or query string cannot be decoded the way S3 decodes it."""


def _escape_token(piece: str, literal: list[str], what: str) -> str:
    if len(piece) == 3:  # %XX: normalised (%7e -> ~, %2f -> %2F) or made literal
        return literal[int(piece[1:], 16)]
    if piece == "+":
        return "%20"
    if piece == "%":
        raise PathError(f"{what} has a '%' that is not followed by two hex digits")
    try:
        return "".join(_HEX[b] for b in piece.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate
        raise PathError(f"{what} does not decode to UTF-8") from None


def _path_token(match: re.Match[str]) -> str:
    return _escape_token(match.group(), _PATH_LITERAL, "uri")


def _param_token(match: re.Match[str]) -> str:
    return _escape_token(match.group(), _PARAM_LITERAL, "query string")


def _strict(raw: str, tokens: re.Pattern[str], replace: Callable[[re.Match[str]], str], what: str) -> str:
    """Decode as S3 does (``+`` is a space, ``%XX`` a byte, UTF-8) and re-encode strictly.

    Only the tokens that change are visited: escapes, ``+``, and characters to escape.
    """
    if tokens.search(raw) is None:  # already strict: the common case
        return raw
    result = tokens.sub(replace, raw)
    if _HIGH_ESCAPE.search(raw):  # escaped bytes must still spell UTF-8, as S3 keys do
        try:
            unquote_to_bytes(result).decode("utf-8")
        except UnicodeDecodeError:
            raise PathError(f"{what} does not decode to UTF-8") from None
    return result


def canonical_path(raw: str) -> str:
    """Strictly re-encode a path; ``%2F`` becomes ``/`` (the same key to S3).

    No dot-segment or slash normalisation: S3 does none, so ``//`` and ``/./``
    name other keys than ``/``.
    """
    return _strict(raw, _PATH_TOKENS, _path_token, "uri")


def canonical_query(raw: str) -> str:
    """Decode each parameter, strictly re-encode it, and sort as SigV4 does.

    Bare flags (``?torrent``) become ``torrent=``, which S3 reads the same way.
    Sorting here means the string sent is byte-for-byte the string signed.
    Viewer ``X-Amz-*`` parameters (presigned-URL auth) are dropped: only our
    signature may authenticate the request, and S3 refuses two at once.
    """
    if not raw:
        return ""
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = _strict(name, _PARAM_TOKENS, _param_token, "query name")
        if name[:6].lower() == "x-amz-":  # %2D and friends are already decoded here
            continue
        pairs.append((name, _strict(value, _PARAM_TOKENS, _param_token, "query value")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def forwarded_headers(headers: Headers, host: str) -> Headers:
    """What CloudFront forwarded, minus the viewer's ``Authorization`` and ``x-amz-*``
    (only the signer may set those: a forged one must never reach S3), with ``Host``
    set to the origin.

    Read-only headers (Accept-Encoding, Via, If-None-Match, ...) are kept as they are.
    """
    kept = {
        name: entries
        for name, entries in headers.items()
        if (lower := name.lower()) != "authorization" and not lower.startswith("x-amz-")
    }
    kept["host"] = [{"key": "Host", "value": host}]
    return kept
