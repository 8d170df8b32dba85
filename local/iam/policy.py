"""IAM policy documents as the stand-in reads them: statements, principals, conditions.
Anything it cannot evaluate raises ``PolicyError`` when read (fail closed: a policy we
cannot evaluate is never read as "allow").

``parse_policy(context_keys=..., variables=...)`` reads policies beyond the template's (the
deployer's, the function role's permissions boundary): condition keys their requests carry,
and the values of policy variables such as ``${aws:PrincipalAccount}``.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..intrinsics import TemplateError

__all__ = ["OPERATORS", "Policy", "PolicyError", "Statement", "TemplateError", "parse_policy"]


class PolicyError(ValueError):
    """A policy uses an element, operator or context key this model cannot evaluate."""


CONTEXT_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:securetransport", "s3:dataaccesspointarn",
     "s3:dataaccesspointaccount", "aws:sourcearn"}
)  # fmt: skip
_STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"}  # fmt: skip
_ARN_OPS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
OPERATORS = frozenset(
    {*_STRING_OPS, *_ARN_OPS, "Bool", "Null"} | {f"{op}IfExists" for op in (*_STRING_OPS, *_ARN_OPS, "Bool")}
)


@dataclass(frozen=True)
class Statement:
    where: str  # "EdgeFunctionRole/read-objects #0 (Sid)": for reasons
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: tuple[str, ...] | None  # "*" or AWS principal strings; None = no Principal element
    not_principals: tuple[str, ...] | None
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Statement, ...]
    resource_based: bool  # a resource policy names principals; an identity policy must not


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str | bool | int):
        value = [value]
    if not isinstance(value, list) or not value:
        raise PolicyError(f"{what} must be a string or a non-empty list, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool):
            v = "true" if v else "false"
        if not isinstance(v, str | int):
            raise PolicyError(f"{what} holds {v!r}, not a string")
        out.append(str(v))
    return tuple(out)


def _principals(value: Any, where: str) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: Principal {value!r} is not '*' or a map")
    out: list[str] = []
    for kind, ids in value.items():
        for ident in _strings(ids, f"{where} Principal.{kind}"):
            if kind == "AWS":
                if ident != "*" and ("*" in ident or "?" in ident):
                    raise PolicyError(f"{where}: wildcards are not allowed in principal {ident!r}")
                out.append(ident)
            elif kind in ("Service", "Federated", "CanonicalUser"):
                out.append(f"{kind}:{ident}")  # never a role session's principal
            else:
                raise PolicyError(f"{where}: unknown principal type {kind}")
    return tuple(out)


def parse_policy(
    name: str,
    document: Any,
    resource_based: bool,
    context_keys: Iterable[str] = (),
    variables: Mapping[str, str] | None = None,
) -> Policy:
    """A resolved policy document as statements; raises PolicyError for what we cannot evaluate.

    ``context_keys``: condition keys the caller's requests carry beyond ``CONTEXT_KEYS`` (for
    example ``iam:PermissionsBoundary`` when evaluating a deployer's policy).
    ``variables``: values of policy variables (``${aws:PrincipalAccount}``) in Resource and
    condition values, which IAM substitutes from the request context; only keys whose value
    is the same for every request of the principal belong here. Any other ``${...}`` in a
    condition value raises PolicyError (fail closed).
    """
    known = CONTEXT_KEYS | {k.lower() for k in context_keys}
    values = {k.lower(): v for k, v in (variables or {}).items()}
    if not isinstance(document, dict) or "Statement" not in document:
        raise PolicyError(f"{name}: not a policy document")
    raw = document["Statement"]
    raw = [raw] if isinstance(raw, dict) else raw
    statements = []
    for i, s in enumerate(raw):
        where = f"{name} #{i}" + (f" ({s['Sid']})" if s.get("Sid") else "")
        unknown = set(s) - {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal",
                            "NotPrincipal", "Condition"}  # fmt: skip
        if unknown:
            raise PolicyError(f"{where}: unknown element(s) {sorted(unknown)}")
        if s.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: Effect must be Allow or Deny")
        if ("Action" in s) == ("NotAction" in s):
            raise PolicyError(f"{where}: exactly one of Action / NotAction")
        if ("Resource" in s) == ("NotResource" in s):
            raise PolicyError(f"{where}: exactly one of Resource / NotResource")
        has_principal = "Principal" in s or "NotPrincipal" in s
        if resource_based and ("Principal" in s) == ("NotPrincipal" in s):
            raise PolicyError(f"{where}: a resource policy needs exactly one of Principal / NotPrincipal")
        if not resource_based and has_principal:
            raise PolicyError(f"{where}: an identity policy has no Principal")
        statements.append(
            Statement(
                where=where,
                effect=s["Effect"],
                actions=_strings(s["Action"], f"{where} Action") if "Action" in s else None,
                not_actions=_strings(s["NotAction"], f"{where} NotAction") if "NotAction" in s else None,
                resources=_resolved(s, "Resource", where, values),
                not_resources=_resolved(s, "NotResource", where, values),
                principals=_principals(s["Principal"], where) if "Principal" in s else None,
                not_principals=_principals(s["NotPrincipal"], where) if "NotPrincipal" in s else None,
                conditions=_conditions(s.get("Condition", {}), where, known, values),
            )
        )
    return Policy(name, tuple(statements), resource_based)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _substitute(value: str, variables: Mapping[str, str], where: str, strict: bool = True) -> str:
    """``${name}`` replaced by its value. Unknown: raise when ``strict`` (a condition value),
    else left as text (a Resource: it then matches no real ARN, as an unresolved one does not)."""

    def one(m: re.Match[str]) -> str:
        name = m[1].strip().lower()
        if name in variables:
            return variables[name]
        if strict:
            raise PolicyError(f"{where}: policy variable ${{{m[1]}}} is not modelled (fail closed)")
        return m[0]

    return _VARIABLE.sub(one, value)


def _resolved(s: Mapping[str, Any], element: str, where: str, variables: Mapping[str, str]) -> tuple[str, ...] | None:
    if element not in s:
        return None
    return tuple(_substitute(v, variables, where, strict=False) for v in _strings(s[element], f"{where} {element}"))


def _conditions(
    block: Any, where: str, known: frozenset[str] = CONTEXT_KEYS, variables: Mapping[str, str] | None = None
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if not isinstance(block, dict):
        raise PolicyError(f"{where}: Condition must be a map")
    out = []
    for operator, tests in block.items():
        if operator not in OPERATORS:
            raise PolicyError(f"{where}: condition operator {operator} is not modelled (fail closed)")
        if not isinstance(tests, dict):
            raise PolicyError(f"{where}: {operator} must map keys to values")
        for key, values in tests.items():
            if key.lower() not in known:
                raise PolicyError(f"{where}: condition key {key} is not modelled (fail closed)")
            raw = _strings(values, f"{where} {operator} {key}")
            values = tuple(_substitute(v, variables or {}, where) for v in raw)
            out.append((operator, key.lower(), values))
    return tuple(out)
