"""What S3 checks before serving a SigV4A-signed request to a Multi-Region Access Point.

Each rule has a test that breaks exactly it (tests/local/s3/test_verifier_rules.py):

- one ``Authorization`` header, ``AWS4-ECDSA-P256-SHA256`` with Credential,
  SignedHeaders and Signature, scope ``<date of x-amz-date>/s3/aws4_request``;
- a known access key id; ``x-amz-date`` within 15 minutes either way;
- ``host`` and every ``x-amz-*`` header present (``x-amz-cf-id`` too) signed;
- ``X-Amz-Region-Set`` present, signed, and covering the Region the MRAP routed to
  (``*``, or that Region by name; see ``region_set_covers``);
- ``x-amz-content-sha256`` present: ``UNSIGNED-PAYLOAD`` or the body's SHA-256;
- the session token of temporary credentials sent (and so signed), and no other;
- the signature over S3's canonical request, where a raw ``+`` is a space.

Error codes and messages follow S3's (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
where S3 documents none (region set), the SigV4 analogue is used: a wrong Region in
a SigV4 scope is ``AuthorizationHeaderMalformed``.

Usage::

    creds = {"AKIDEXAMPLE": Credential("AKIDEXAMPLE", "secret", token=None)}
    verify_s3_request(WireRequest("GET", "/key", "", headers), creds, now=time.time())
    # returns the access key id, or raises S3Error (code, message, status, details)
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from dataclasses import dataclass, field

from . import sigv4a

MAX_SKEW_SECONDS = 15 * 60
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"


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
        raise S3Error("AccessDenied", NO_DATE) from None


def _malformed(reason: str) -> S3Error:
    return S3Error("AuthorizationHeaderMalformed", f"The authorization header is malformed; {reason}", 400)


def parse_authorization(value: str) -> tuple[str, str, str, str, list[str], str]:
    """``(access key id, date, service, terminator, signed headers, signature)``, or S3's error.

    An unknown scheme is S3's ``InvalidArgument`` ("Unsupported Authorization Type");
    SigV4 (HMAC) at an MRAP, a missing component or a Credential without four
    ``/``-separated parts is ``AuthorizationHeaderMalformed``.
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != sigv4a.ALGORITHM:
        if algorithm.startswith("AWS4-"):
            raise _malformed(f"Multi-Region Access Points require {sigv4a.ALGORITHM}, not {algorithm}")
        raise S3Error("InvalidArgument", "Unsupported Authorization Type", 400, {"ArgumentName": "Authorization"})
    components: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, component = part.strip().partition("=")
        if not sep or name in components:
            raise _malformed(f"the component {part.strip()!r} is not name=value or is repeated")
        components[name] = component
    if set(components) != {"Credential", "SignedHeaders", "Signature"} or not all(components.values()):
        raise _malformed(
            "the authorization header requires three components: Credential, SignedHeaders, and Signature."
        )
    parts = components["Credential"].split("/")
    if len(parts) != 4 or not all(parts):
        raise _malformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/SERVICE/aws4_request".')
    akid, date, service, terminator = parts
    return akid, date, service, terminator, components["SignedHeaders"].split(";"), components["Signature"]


def region_set_covers(region_set: str, region: str | None) -> bool:
    """Whether the signed ``X-Amz-Region-Set`` lets a Region serve the request.

    The set is comma-separated; ``*`` covers every Region, otherwise the Region must
    be named.  ``region=None`` (an MRAP that may route anywhere) needs ``*``.
    Wildcard patterns other than ``*`` (``us-*``) are not modelled: refused.
    """
    members = {member.strip() for member in region_set.split(",")}
    return "*" in members or (region is not None and region in members)


def verify_s3_request(
    req: WireRequest, credentials: dict[str, Credential], now: float, region: str | None = None
) -> str:
    """S3's checks, in S3's order, for a request that reaches ``region`` (None: any)."""
    headers = req.header_map()
    if "authorization" not in headers:
        raise S3Error("AccessDenied", "Anonymous requests are not supported by Multi-Region Access Points")
    if len(headers["authorization"]) != 1:
        raise S3Error("InvalidArgument", "Only one Authorization header is allowed", 400)
    akid, scope_date, service, terminator, signed, signature = parse_authorization(headers["authorization"][0])

    credential = credentials.get(akid)
    if credential is None:
        raise S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")

    if "x-amz-date" not in headers:
        raise S3Error("AccessDenied", NO_DATE)
    amz_date = headers["x-amz-date"][0]
    signed_at = parse_amz_date(amz_date)
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            details={"RequestTime": amz_date, "MaxAllowedSkewMilliseconds": str(MAX_SKEW_SECONDS * 1000)},
        )
    if scope_date != amz_date[:8]:
        raise _malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
    if service != "s3":
        raise _malformed(f"incorrect service {service!r}. This endpoint belongs to 's3'.")
    if terminator != "aws4_request":
        raise _malformed(f"incorrect terminal {terminator!r}. This endpoint uses 'aws4_request'.")
    scope = sigv4a.credential_scope(amz_date, "s3")

    if signed != sorted(set(signed)):
        raise _malformed("SignedHeaders must be sorted and unique")
    # S3 reports an unsigned host like any other header that must be signed.
    must_sign = {"host"} | {name for name in headers if name.startswith("x-amz-")}
    unsigned = sorted(must_sign - set(signed))
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
        raise _malformed("SigV4A requests must sign X-Amz-Region-Set")
    region_set = headers["x-amz-region-set"][0]
    if not region_set_covers(region_set, region):
        where = f"'{region}'" if region else "every Region of this Multi-Region Access Point"
        raise _malformed(f"the region set {region_set!r} does not include {where}")

    payload_hash = (headers.get("x-amz-content-sha256") or [""])[0]
    if not payload_hash:
        raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400)
    if payload_hash != sigv4a.UNSIGNED_PAYLOAD and not _SHA256_HEX.fullmatch(payload_hash):
        raise S3Error(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.",
            400,
            {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": payload_hash},
        )
    if payload_hash != sigv4a.UNSIGNED_PAYLOAD and payload_hash != hashlib.sha256(req.body).hexdigest():
        raise S3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match", 400)

    tokens = headers.get("x-amz-security-token", [])
    if tokens != ([credential.token] if credential.token is not None else []):
        raise S3Error("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)

    creq = sigv4a.canonical_request(
        req.method,
        sigv4a.canonical_uri(req.path, sigv4a.Mode.S3),
        sigv4a.canonical_query(sigv4a.query_params(req.query, sigv4a.Mode.S3)),
        headers,
        signed,
        payload_hash,
    )
    sts = sigv4a.string_to_sign(amz_date, scope, creq)
    public_key = sigv4a.derive_public_key(credential.access_key_id, credential.secret_access_key)
    if not sigv4a.verify_signature(public_key, sts, signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            details={"StringToSign": sts, "CanonicalRequest": creq},
        )
    return credential.access_key_id
