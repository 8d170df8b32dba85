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
from urllib.parse import unquote_to_bytes

from .event import Headers

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Already in the strict form: nothing to decode or re-encode (the common case).
_STRICT_PATH = re.compile(r"[A-Za-z0-9\-._~/]*")
# Bytes that the strict form writes as %XX (in paths, ``/`` stays literal).
_PATH_ESCAPED = re.compile(rb"[^A-Za-z0-9\-._~/]")
_PARAM_ESCAPED = re.compile(rb"[^A-Za-z0-9\-._~]")
_HEX = {bytes([i]): b"%%%02X" % i for i in range(256)}


def _escape(byte: re.Match[bytes]) -> bytes:
    return _HEX[byte.group()]


def _encode(data: bytes, pattern: re.Pattern[bytes]) -> str:
    return pattern.sub(_escape, data).decode("ascii")


class PathError(ValueError):
    """The uri or query string cannot be decoded the way S3 decodes it."""


def _decode(raw: str, what: str) -> bytes:
    """S3's reading: ``+`` is a space, ``%XX`` a byte, and the result UTF-8."""
    if "%" in raw:
        if _BAD_ESCAPE.search(raw):
            raise PathError(f"{what} has a '%' that is not followed by two hex digits")
        data = unquote_to_bytes(raw.replace("+", " ").encode("utf-8", "surrogatepass"))
    else:
        data = raw.replace("+", " ").encode("utf-8", "surrogatepass")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise PathError(f"{what} does not decode to UTF-8") from None
    return data


def canonical_path(raw: str) -> str:
    """Strictly re-encode a path; ``%2F`` becomes ``/`` (the same key to S3).

    No dot-segment or slash normalisation: S3 does none, so ``//`` and ``/./``
    name other keys than ``/``.
    """
    if _STRICT_PATH.fullmatch(raw):
        return raw
    return _encode(_decode(raw, "uri"), _PATH_ESCAPED)


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
        decoded_name = _decode(name, "query name")
        if decoded_name[:6].lower() == b"x-amz-":
            continue
        pairs.append((_encode(decoded_name, _PARAM_ESCAPED), _encode(_decode(value, "query value"), _PARAM_ESCAPED)))
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
