"""Decide what to do with an origin request: sign it, pass it through, answer it, or refuse it.

Two pure steps, one before and one after the canonical form is built:

Usage::

    decision = decide(req, failover_header="originTypeFailover")
    decision.action is Action.SIGN
    check_target("/index.html", "versionId=3")   # None: sign it
    check_target("/", "")                        # Refusal(404, ...): a bucket-level request
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from .event import OriginRequest

MRAP_DOMAIN_SUFFIX = ".accesspoint.s3-global.amazonaws.com"
# Object reads are all this origin serves. OPTIONS is answered by the function: an
# MRAP serves no OPTIONS/CORS (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MrapOperations.html).
READ_METHODS = frozenset({"GET", "HEAD"})
ALLOWED_METHODS = "GET, HEAD, OPTIONS"

# CloudFront rejects (502) a function result whose uri plus query string is not shorter
# than 8,192 characters. Counted strictly: origin path + uri + "?" + query.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-lambda-at-edge
MAX_URL = 8192

# Query parameters S3 reads as a sub-resource or another operation, never a plain read
# (botocore's S3 sub-resource list, HmacV1Auth.QSAOfInterest, without versionId,
# partNumber and response-*, plus the newer object and bucket sub-resources). The
# role's policy would make S3 refuse them anyway (403); the function refuses them
# before signing. Compared in lower case.
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "defaultobjectacl", "delete",
        "encryption", "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "list-type",
        "location", "logging", "metrics", "notification", "object-lock", "ownershipcontrols",
        "policy", "policystatus", "publicaccessblock", "replication", "requestpayment", "restore",
        "retention", "select", "select-type", "session", "storageclass", "tagging", "torrent",
        "uploadid", "uploads", "versioning", "versions", "website",
    }
)  # fmt: skip


class Action(Enum):
    SIGN = "signed"
    PASS_THROUGH = "passed-through"  # noqa: S105 (not a password)
    ANSWER_OPTIONS = "answered"
    REJECT_METHOD = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str


class Refusal(NamedTuple):
    """A request the function answers itself with a generated 4xx instead of signing it."""

    status: int
    reason: str


def is_mrap_domain(domain: str) -> bool:
    """``<alias>.accesspoint.s3-global.amazonaws.com``, case-insensitively."""
    domain = domain.lower().rstrip(".")
    return domain.endswith(MRAP_DOMAIN_SUFFIX) and len(domain) > len(MRAP_DOMAIN_SUFFIX)


FAILOVER = Decision(Action.PASS_THROUGH, "failover origin header")
NOT_MRAP = Decision(Action.PASS_THROUGH, "origin is not a Multi-Region Access Point")
OPTIONS = Decision(Action.ANSWER_OPTIONS, "OPTIONS is answered at the edge; an MRAP serves no OPTIONS")
SIGN = Decision(Action.SIGN, "Multi-Region Access Point origin")


def decide(req: OriginRequest, failover_header: str) -> Decision:
    # Origin custom headers are keyed by lower-cased name, like request headers.
    if req.custom_headers and failover_header.lower() in {name.lower() for name in req.custom_headers}:
        return FAILOVER
    if not is_mrap_domain(req.domain):
        return NOT_MRAP
    if req.method in READ_METHODS:
        return SIGN
    if req.method == "OPTIONS":
        return OPTIONS
    return Decision(Action.REJECT_METHOD, f"method {req.method} is not served")


BUCKET_LEVEL = Refusal(404, "the request names no object key (a bucket-level request is never signed)")
TOO_LONG = Refusal(414, f"the strictly encoded path and query string reach {MAX_URL} characters")


def check_target(path: str, query: str) -> Refusal | None:
    """Refuse what must never be signed, given the final path (origin path + uri) and query.

    - No key (``/``): S3 would read it as ListObjects or HeadBucket. The role may list
      (so a missing key is an honest 404), so the function never signs one.
    - Too long for CloudFront to accept from a function.
    - A query parameter naming an S3 sub-resource (``?acl``, ``?tagging``, ...).
    """
    if len(path) <= 1:
        return BUCKET_LEVEL
    if not query:
        return TOO_LONG if len(path) >= MAX_URL else None
    if len(path) + 1 + len(query) >= MAX_URL:
        return TOO_LONG
    for part in query.split("&"):
        name = part.partition("=")[0].lower()
        if name in SUBRESOURCES:
            return Refusal(403, f"query parameter {name!r} asks for an S3 sub-resource, not an object read")
    return None
