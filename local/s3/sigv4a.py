"""An independent SigV4A verifier (AWS4-ECDSA-P256-SHA256), written from the spec.

It shares no code with the signer: its own key derivation (NIST SP 800-108 counter
mode, HMAC-SHA256), its own canonicalisation and an ECDSA check with
``cryptography``.  No botocore or awscrt is imported here.

Two canonicalisation modes:

- ``S3``: what S3 computes from the request it received.  The path is decoded
  (``+`` is a space, ``%XX`` a byte) and re-encoded strictly, with no dot-segment
  normalisation; query parameters likewise.
- ``GENERIC``: aws-c-auth's default for other services (double URI encoding,
  optional path normalisation); used to check the verifier against the aws-c-auth
  test suite.

Usage::

    public = derive_public_key("AKIDEXAMPLE", "secret")
    creq = canonical_request("GET", "/a b", "", headers, ["host", "x-amz-date"], EMPTY_SHA256)
    sts = string_to_sign("20150830T123600Z", "20150830/s3/aws4_request", creq)
    verify_signature(public, sts, signature_hex)   # True / False
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Order of the P-256 group.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")


class Mode(Enum):
    S3 = "s3"
    GENERIC = "generic"


# --- step 0: key derivation -------------------------------------------------------


@lru_cache(maxsize=64)
def derive_private_value(access_key_id: str, secret_access_key: str) -> int:
    """The ECDSA private scalar d for a credential pair (aws-c-auth key_derivation.c)."""
    key = ("AWS4A" + secret_access_key).encode()
    label = ALGORITHM.encode()
    for counter in range(1, 255):
        fixed = label + b"\x00" + access_key_id.encode() + bytes([counter]) + (256).to_bytes(4, "big")
        k0 = int.from_bytes(hmac.new(key, (1).to_bytes(4, "big") + fixed, hashlib.sha256).digest(), "big")
        if k0 <= P256_N - 2:
            return k0 + 1
    raise ValueError("no valid SigV4A key for these credentials")


def derive_public_key(access_key_id: str, secret_access_key: str) -> ec.EllipticCurvePublicKey:
    d = derive_private_value(access_key_id, secret_access_key)
    return ec.derive_private_key(d, ec.SECP256R1()).public_key()


# --- step 1: canonical request ------------------------------------------------------


def uri_encode(data: bytes, keep_slash: bool) -> str:
    """RFC 3986 encoding: unreserved bytes literal, everything else ``%XX`` upper-case."""
    out = []
    for byte in data:
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def percent_decode(data: bytes) -> bytes:
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def s3_key_bytes(raw_path: str) -> bytes:
    """How S3 reads a request path: ``+`` is a space, ``%XX`` a byte."""
    return percent_decode(raw_path.encode().replace(b"+", b" "))


def normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal plus empty-segment collapse (aws-c-auth's normalise)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    result = "/" + "/".join(segments)
    if segments and path.endswith("/"):
        result += "/"
    return result


def canonical_uri(raw_path: str, mode: Mode, normalize: bool = False) -> str:
    if mode is Mode.S3:
        return uri_encode(s3_key_bytes(raw_path), keep_slash=True)
    path = normalize_path(raw_path) if normalize else raw_path
    return uri_encode(path.encode(), keep_slash=True) or "/"


def query_params(raw_query: str, mode: Mode) -> list[tuple[bytes, bytes]]:
    """Decoded (name, value) pairs; S3 reads ``+`` as a space in query strings too."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        raw_name, raw_value = name.encode(), value.encode()
        if mode is Mode.S3:
            raw_name, raw_value = raw_name.replace(b"+", b" "), raw_value.replace(b"+", b" ")
        pairs.append((percent_decode(raw_name), percent_decode(raw_value)))
    return pairs


def canonical_query(pairs: list[tuple[bytes, bytes]], exclude: frozenset[bytes] = frozenset()) -> str:
    encoded = sorted(
        (uri_encode(name, keep_slash=False), uri_encode(value, keep_slash=False))
        for name, value in pairs
        if name not in exclude
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_header_value(values: list[str]) -> str:
    return ",".join(re.sub(r"\s+", " ", value.strip()) for value in values)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: dict[str, list[str]],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    """SigV4 layout; ``headers`` maps lower-case names to their values in order."""
    lines = [method, uri, query]
    lines += [f"{name}:{canonical_header_value(headers.get(name, []))}" for name in signed_headers]
    lines += ["", ";".join(signed_headers), payload_hash]
    return "\n".join(lines)


# --- step 2: string to sign -----------------------------------------------------------


def credential_scope(amz_date: str, service: str) -> str:
    """SigV4A scopes have no Region: ``<yyyymmdd>/<service>/aws4_request``."""
    return f"{amz_date[:8]}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, creq: str) -> str:
    digest = hashlib.sha256(creq.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


# --- step 3: signature ----------------------------------------------------------------


def verify_signature(public_key: ec.EllipticCurvePublicKey, sts: str, signature_hex: str) -> bool:
    """ECDSA-P256 over SHA-256 of the string to sign, DER-encoded signature."""
    try:
        public_key.verify(bytes.fromhex(signature_hex), sts.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- the Authorization header -----------------------------------------------------------

_AUTH = re.compile(
    r"^AWS4-ECDSA-P256-SHA256 +Credential=(?P<akid>[^/,\s]+)/(?P<scope>[^,\s]+), *"
    r"SignedHeaders=(?P<signed>[^,\s]+), *Signature=(?P<sig>[0-9a-fA-F]+)$"
)


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    scope: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    match = _AUTH.match(value.strip())
    if not match:
        return None
    return Authorization(
        access_key_id=match["akid"],
        scope=match["scope"],
        signed_headers=match["signed"].split(";"),
        signature=match["sig"],
    )
