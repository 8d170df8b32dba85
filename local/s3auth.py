"""What S3 checks before serving a SigV4A-signed request to a Multi-Region Access Point.

Usage::

    creds = {"AKIDEXAMPLE": Credential("AKIDEXAMPLE", "secret", token=None)}
    verify_s3_request(WireRequest("GET", "/key", "", headers), creds, now=time.time())
    # returns the access key id, or raises S3Error (code, message, status, details)
"""

from __future__ import annotations

import calendar
import hashlib
import time
from dataclasses import dataclass, field

from . import sigv4a

MAX_SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str
    token: str | None = None


@dataclass
class WireRequest:
    """A request as it reaches the origin: raw path and query, headers in order."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header_map(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in self.headers:
            out.setdefault(name.lower(), []).append(value)
        return out


@dataclass
class S3Error(Exception):
    code: str
    message: str
    status: int = 403
    details: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def parse_amz_date(value: str) -> float:
    try:
        return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def verify_s3_request(req: WireRequest, credentials: dict[str, Credential], now: float) -> str:
    headers = req.header_map()
    auth_values = headers.get("authorization", [])
    if not auth_values:
        raise S3Error("AccessDenied", "Anonymous requests are not supported by Multi-Region Access Points")
    if len(auth_values) != 1:
        raise S3Error("InvalidArgument", "Only one Authorization header is allowed", 400)
    auth = sigv4a.parse_authorization(auth_values[0])
    if auth is None:
        raise S3Error(
            "AuthorizationHeaderMalformed",
            "Multi-Region Access Points require an AWS4-ECDSA-P256-SHA256 (SigV4A) Authorization header",
            400,
        )

    credential = credentials.get(auth.access_key_id)
    if credential is None:
        raise S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")

    amz_date = (headers.get("x-amz-date") or [""])[0]
    signed_at = parse_amz_date(amz_date)
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            details={"RequestTime": amz_date, "MaxAllowedSkewMilliseconds": str(MAX_SKEW_SECONDS * 1000)},
        )
    expected_scope = sigv4a.credential_scope(amz_date, "s3")
    if auth.scope != expected_scope:
        raise S3Error(
            "AuthorizationHeaderMalformed", f"The credential scope must be {expected_scope!r}, not {auth.scope!r}", 400
        )

    signed = auth.signed_headers
    if signed != sorted(set(signed)) or "host" not in signed:
        raise S3Error("AccessDenied", "SignedHeaders must be sorted, unique and include host")
    unsigned = sorted(name for name in headers if name.startswith("x-amz-") and name not in signed)
    if unsigned:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            details={"HeadersNotSigned": ", ".join(unsigned)},
        )
    missing = [name for name in signed if name not in headers]
    if missing:
        raise S3Error("AccessDenied", f"Signed headers are missing from the request: {', '.join(missing)}")
    if "x-amz-region-set" not in headers:
        raise S3Error("AuthorizationHeaderMalformed", "SigV4A requests must sign X-Amz-Region-Set", 400)

    payload_hash = (headers.get("x-amz-content-sha256") or [""])[0]
    if not payload_hash:
        raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400)
    if payload_hash != sigv4a.UNSIGNED_PAYLOAD and payload_hash != hashlib.sha256(req.body).hexdigest():
        raise S3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match", 400)

    if credential.token is not None:
        tokens = headers.get("x-amz-security-token", [])
        if tokens != [credential.token]:
            raise S3Error("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)

    creq = sigv4a.canonical_request(
        req.method,
        sigv4a.canonical_uri(req.path, sigv4a.Mode.S3),
        sigv4a.canonical_query(sigv4a.query_params(req.query, sigv4a.Mode.S3)),
        headers,
        signed,
        payload_hash,
    )
    sts = sigv4a.string_to_sign(amz_date, expected_scope, creq)
    public_key = sigv4a.derive_public_key(credential.access_key_id, credential.secret_access_key)
    if not sigv4a.verify_signature(public_key, sts, auth.signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            details={"StringToSign": sts, "CanonicalRequest": creq},
        )
    return credential.access_key_id
