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


FAILOVER = Decision(Action.PASS_THROUGH, "failover origin header")
NOT_MRAP = Decision(Action.PASS_THROUGH, "origin is not a Multi-Region Access Point")
SIGN = Decision(Action.SIGN, "Multi-Region Access Point origin")


def decide(req: OriginRequest, failover_header: str) -> Decision:
    # Origin custom headers are keyed by lower-cased name, like request headers.
    if req.custom_headers and failover_header.lower() in {name.lower() for name in req.custom_headers}:
        return FAILOVER
    if not is_mrap_domain(req.domain):
        return NOT_MRAP
    if req.method not in SIGNABLE_METHODS:
        return Decision(Action.REJECT_METHOD, f"method {req.method} is not served")
    return SIGN
