"""Decide what to do with an origin request: sign it, pass it through, or refuse it.

Usage::

    decision = decide(req, failover_header="originTypeFailover")
    decision.action is Action.SIGN
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .event import OriginRequest

MRAP_DOMAIN_SUFFIX = ".accesspoint.s3-global.amazonaws.com"
# S3 serves reads through an MRAP; CloudFront only sends these to an origin group anyway.
SIGNABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Action(Enum):
    SIGN = "signed"
    PASS_THROUGH = "passed-through"  # noqa: S105 (not a password)
    REJECT_METHOD = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str


def is_mrap_domain(domain: str) -> bool:
    """``<alias>.accesspoint.s3-global.amazonaws.com``, case-insensitively."""
    domain = domain.lower().rstrip(".")
    return domain.endswith(MRAP_DOMAIN_SUFFIX) and len(domain) > len(MRAP_DOMAIN_SUFFIX)


def decide(req: OriginRequest, failover_header: str) -> Decision:
    # Origin custom headers are stored lower-cased as keys, like request headers.
    if failover_header.lower() in {name.lower() for name in req.custom_headers}:
        return Decision(Action.PASS_THROUGH, "failover origin header")
    if not is_mrap_domain(req.domain):
        return Decision(Action.PASS_THROUGH, "origin is not a Multi-Region Access Point")
    if req.method not in SIGNABLE_METHODS:
        return Decision(Action.REJECT_METHOD, f"method {req.method} is not served")
    return Decision(Action.SIGN, "Multi-Region Access Point origin")
