"""Evaluating parsed policies for one request, as IAM does: an explicit Deny wins over any
Allow; without an Allow the answer is an implicit deny. Actions match case-insensitively,
resources case-sensitively, both with ``*`` / ``?``.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from .policy import _ARN_OPS, Policy, PolicyError, Statement


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run, ``/`` and ``:`` included) and ``?`` (one character)."""
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _arn_match(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated parts matched on its own, case-sensitive."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(wildcard_match(a, b) for a, b in zip(p, v, strict=True))


def _operator_matches(operator: str, actual: str | None, values: tuple[str, ...]) -> bool:
    if operator == "Null":
        # Null: "true" matches when the key is absent, "false" when present.
        return any((v.lower() == "true") == (actual is None) for v in values)
    base = operator.removesuffix("IfExists")
    negated = "Not" in base
    if actual is None:
        # A key absent from the request: ...IfExists passes, and so does a negated operator
        # ("If the policy condition requires that the key is not matched, such as StringNotLike
        # or ArnNotLike, and the right key is not present, the condition is true").
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
        return operator.endswith("IfExists") or negated
    if base in ("StringEquals", "StringNotEquals"):
        hit = actual in values
    elif base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        hit = actual.lower() in {v.lower() for v in values}
    elif base in ("StringLike", "StringNotLike"):
        hit = any(wildcard_match(v, actual) for v in values)
    elif base in _ARN_OPS:
        hit = any(_arn_match(v, actual) for v in values)
    elif base == "Bool":
        hit = actual.lower() in {v.lower() for v in values}
    else:  # pragma: no cover - OPERATORS and this chain are kept in step
        raise PolicyError(f"condition operator {operator} is not modelled")
    return not hit if negated else hit


@dataclass(frozen=True)
class Request:
    principal_arn: str  # the role ARN (aws:PrincipalArn)
    account: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _principal_matches(ids: tuple[str, ...], principal_arn: str, account: str) -> bool:
    for ident in ids:
        if ident == "*":
            return True
        if ident == principal_arn:
            return True
        if ident in (account, f"arn:aws:iam::{account}:root") or re.fullmatch(
            rf"arn:[\w-]+:iam::{account}:root", ident
        ):
            return True
    return False


def statement_applies(s: Statement, req: Request) -> bool:
    if s.actions is not None and not any(wildcard_match(a, req.action, ignore_case=True) for a in s.actions):
        return False
    if s.not_actions is not None and any(wildcard_match(a, req.action, ignore_case=True) for a in s.not_actions):
        return False
    if s.resources is not None and not any(wildcard_match(r, req.resource) for r in s.resources):
        return False
    if s.not_resources is not None and any(wildcard_match(r, req.resource) for r in s.not_resources):
        return False
    if s.principals is not None and not _principal_matches(s.principals, req.principal_arn, req.account):
        return False
    if s.not_principals is not None and _principal_matches(s.not_principals, req.principal_arn, req.account):
        return False
    return all(_operator_matches(op, req.context.get(key), values) for op, key, values in s.conditions)


def evaluate(policies: Iterable[Policy], req: Request) -> tuple[str, str]:
    """("Deny" | "Allow" | "ImplicitDeny", where): explicit Deny > Allow > implicit deny."""
    allow = ""
    for policy in policies:
        for s in policy.statements:
            if statement_applies(s, req):
                if s.effect == "Deny":
                    return "Deny", s.where
                allow = allow or s.where
    return ("Allow", allow) if allow else ("ImplicitDeny", "")
