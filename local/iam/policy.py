"""Who may do what through the MRAP: the template's IAM and MRAP policies, evaluated as S3 does.

Everything is read from ``cloudformation.template`` (intrinsics resolved by ``local.intrinsics``
with the local stack's names); nothing about the grants is hard-coded here, so removing a permission
from the template removes it locally too.

Usage::

    model = AccessModel.from_template(load_template())
    authz = model.authorize(model.role_arn, "GET", "index.html", {"versionId": ["v1"]}, "local-bucket-one")
    authz.allowed, authz.action, authz.reason, authz.list_allowed

Rules, with their sources (stricter reading where AWS is ambiguous):

- Request -> action as S3 maps it (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
  "Permissions"): GET/HEAD object = ``s3:GetObject``; with ``versionId`` = ``s3:GetObjectVersion``;
  ``?tagging`` / ``?acl`` ... = their own actions; a bucket-level GET (no key) is ListObjects =
  ``s3:ListBucket``; writes map to ``s3:PutObject`` / ``s3:DeleteObject`` (``s3:DeleteObjectVersion``
  with ``versionId``). https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
- Through an MRAP the action must be allowed on the MRAP's resource and on the underlying
  bucket's resource: "s3:GetObject ... granted by the Multi-Region Access Point and by each
  bucket underlying it", ListBucket "for the Multi-Region Access Point and the underlying bucket".
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/MrapOperations.html,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointPermissions.html
  Same account, the caller's identity policy must allow both (the stricter reading: the MRAP
  and bucket policies are not needed to allow, but an explicit Deny in any of them applies).
- Evaluation: an explicit Deny wins over any Allow; without an Allow the answer is an
  implicit deny. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- Actions match case-insensitively, resources case-sensitively, both with ``*`` / ``?``.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- Conditions: the operators in ``OPERATORS``; the keys in ``CONTEXT_KEYS``. Anything else
  raises ``PolicyError`` when the model is built (fail closed: a policy we cannot evaluate
  is never read as "allow"). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  A key the request lacks fails a condition, except under ``...IfExists``, ``Null`` and the
  negated operators (``StringNotEquals``, ``ArnNotLike`` ...), which it passes (same page).
  ``parse_policy(context_keys=..., variables=...)`` evaluates other policies (the deployer's).
- The role's permissions boundary (``PermissionsBoundary``: the policy deploy.sh creates from
  ``edge-function-boundary.json``) limits it: the role may do only what its policies and the
  boundary both allow; a boundary we do not have the statements of raises TemplateError.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- A missing key is 404 NoSuchKey with ``s3:ListBucket``, 403 AccessDenied without it: see
  ``Authz.list_allowed``.

Beyond the shared contract: ``authorize`` also accepts an assumed-role session ARN
(``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``) and evaluates it as its role; OPTIONS is
not an operation an MRAP supports, so it is always denied with action ``""``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .. import settings
from ..intrinsics import Resolver, TemplateError, getatt_parts, resource_type
from ..template import ROOT


class PolicyError(ValueError):
    """A policy uses an element, operator or context key this model cannot evaluate."""


@dataclass(frozen=True)
class LocalNames:
    """What the template's intrinsics resolve to locally."""

    account_id: str = "123456789012"
    partition: str = "aws"
    region: str = "us-east-1"
    stack_name: str = "mrap-edge"
    mrap_alias: str = settings.MRAP_ALIAS
    bucket_one: str = settings.BUCKETS[0].name
    bucket_two: str = settings.BUCKETS[1].name
    role_name: str = "mrap-edge-EdgeFunctionRole-LOCAL"
    stack_uuid: str = "51af3dc0-da77-11e4-872e-1234567db123"
    url_suffix: str = "amazonaws.com"
    # Values for template parameters (override their defaults); the MRAP's bucket
    # parameters get bucket_one / bucket_two unless given here.
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def stack_id(self) -> str:
        where = f"{self.partition}:cloudformation:{self.region}:{self.account_id}"
        return f"arn:{where}:stack/{self.stack_name}/{self.stack_uuid}"

    @property
    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.role_name}"

    @property
    def mrap_arn(self) -> str:
        return f"arn:{self.partition}:s3::{self.account_id}:accesspoint/{self.mrap_alias}"


@dataclass(frozen=True)
class Authz:
    allowed: bool  # may the principal perform the request?
    action: str  # the S3 action that decided (e.g. "s3:GetObjectVersion")
    reason: str  # one line for logs / the AccessDenied message
    list_allowed: bool  # s3:ListBucket on MRAP + bucket: 404 (True) vs 403 (False) for a missing key


# --- intrinsic functions -------------------------------------------------------------------


class _Resolver(Resolver):
    """The template's intrinsics (``local.intrinsics``) with the local stack's names: the
    pseudo parameters, the MRAP's bucket parameters and the values of the MRAP and roles."""

    def __init__(self, template: Mapping[str, Any], names: LocalNames) -> None:
        pseudo = {
            "AWS::AccountId": names.account_id,
            "AWS::Partition": names.partition,
            "AWS::Region": names.region,
            "AWS::StackName": names.stack_name,
            "AWS::StackId": names.stack_id,
            "AWS::URLSuffix": names.url_suffix,
        }
        super().__init__(template, pseudo=pseudo)
        self.names = names
        self.params.update(self._mrap_buckets())
        self.params.update(dict(names.parameters))
        self.role_id = self._role_logical_id()

    def _mrap_buckets(self) -> dict[str, str]:
        """The MRAP's buckets are the local buckets, in order."""
        declared = self.template.get("Parameters") or {}
        values = {}
        mraps = [r for r in self.resources.values() if resource_type(r) == "AWS::S3::MultiRegionAccessPoint"]
        local_buckets = (self.names.bucket_one, self.names.bucket_two)
        for mrap in mraps[:1]:
            for region, bucket in zip((mrap.get("Properties") or {}).get("Regions") or [], local_buckets, strict=False):
                ref = region.get("Bucket") if isinstance(region, dict) else None
                if isinstance(ref, dict) and set(ref) == {"Ref"} and ref["Ref"] in declared:
                    values[ref["Ref"]] = bucket
        return values

    def _role_logical_id(self) -> str | None:
        roles = [k for k, r in self.resources.items() if resource_type(r) == "AWS::IAM::Role"]
        for resource in self.resources.values():
            if resource_type(resource) == "AWS::Lambda::Function":
                role = (resource.get("Properties") or {}).get("Role")
                if isinstance(role, dict) and "Fn::GetAtt" in role:
                    return getatt_parts(role["Fn::GetAtt"])[0]
        return roles[0] if len(roles) == 1 else None

    def resource_ref(self, logical: str) -> Any:
        resource = self.resources[logical]
        kind = resource_type(resource)
        if kind == "AWS::S3::MultiRegionAccessPoint":
            name = f"{self.names.stack_name}-{logical}-local"
            return self.resolve((resource.get("Properties") or {}).get("Name", name))
        if kind == "AWS::IAM::Role":
            return self._role_name(logical)
        raise TemplateError(f"Ref to {logical} ({kind}) has no local value")

    def getatt(self, logical: str, attribute: str) -> str:
        resource = self.resources.get(logical)
        if resource is None:
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical}")
        kind = resource_type(resource)
        if kind == "AWS::S3::MultiRegionAccessPoint" and attribute == "Alias":
            return self.names.mrap_alias
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            path = self.resolve((resource.get("Properties") or {}).get("Path", "/"))
            return f"arn:{self.names.partition}:iam::{self.names.account_id}:role{path}{self._role_name(logical)}"
        if kind == "AWS::IAM::Role" and attribute == "RoleId":
            return f"AROALOCAL{logical.upper()}"
        raise TemplateError(f"Fn::GetAtt {logical}.{attribute} ({kind}) has no local value")

    def _role_name(self, logical: str) -> str:
        if logical == self.role_id:
            return self.names.role_name
        return f"{self.names.stack_name}-{logical}-LOCAL"


# --- policies --------------------------------------------------------------------------

CONTEXT_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:securetransport", "s3:dataaccesspointarn",
     "s3:dataaccesspointaccount"}
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
    condition values, which IAM substitutes from the request context
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html); only
    keys whose value is the same for every request of the principal belong here. Any other
    ``${...}`` raises PolicyError (fail closed).
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


# --- the request -> action mapping ----------------------------------------------------

# Object subresources and their (plain, with versionId) actions, per HTTP method.
_OBJECT_SUBRESOURCES = {
    "GET": {
        "tagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        "acl": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        "attributes": ("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
        "retention": ("s3:GetObjectRetention", "s3:GetObjectRetention"),
        "legal-hold": ("s3:GetObjectLegalHold", "s3:GetObjectLegalHold"),
        "torrent": ("s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"),
        "uploadId": ("s3:ListMultipartUploadParts", "s3:ListMultipartUploadParts"),
    },
    "PUT": {
        "tagging": ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
        "acl": ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        "retention": ("s3:PutObjectRetention", "s3:PutObjectRetention"),
        "legal-hold": ("s3:PutObjectLegalHold", "s3:PutObjectLegalHold"),
    },
    "DELETE": {
        "tagging": ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
        "uploadId": ("s3:AbortMultipartUpload", "s3:AbortMultipartUpload"),
    },
    "POST": {
        "restore": ("s3:RestoreObject", "s3:RestoreObject"),
        "select": ("s3:GetObject", "s3:GetObject"),
    },
}
_PLAIN_OBJECT = {
    "GET": ("s3:GetObject", "s3:GetObjectVersion"),
    "PUT": ("s3:PutObject", "s3:PutObject"),
    "POST": ("s3:PutObject", "s3:PutObject"),  # multipart create/complete are PutObject
    "DELETE": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
}
_BUCKET_ACTIONS = {
    "GET": (("versions", "s3:ListBucketVersions"), ("uploads", "s3:ListBucketMultipartUploads"), ("", "s3:ListBucket")),
    "POST": (("delete", "s3:DeleteObject"), ("", "s3:PutObject")),  # DeleteObjects checks DeleteObject
    "PUT": (("", "s3:CreateBucket"),),
    "DELETE": (("", "s3:DeleteBucket"),),
}


def s3_action(method: str, key: str | None, query: Mapping[str, list[str]]) -> str:
    """The IAM action S3 checks for this request (HEAD is checked as GET)."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    if not key:
        for sub, action in _BUCKET_ACTIONS.get(method, ()):
            if not sub or sub in query:
                return action
        raise ValueError(f"{method} on a bucket is not an S3 operation")
    if method not in _PLAIN_OBJECT:
        raise ValueError(f"{method} on an object is not an S3 operation")
    versioned = 1 if "versionId" in query else 0
    for sub, actions in _OBJECT_SUBRESOURCES.get(method, {}).items():
        if sub in query:
            return actions[versioned]
    return _PLAIN_OBJECT[method][versioned]


# --- the model ------------------------------------------------------------------------


def _role_session_to_role(principal_arn: str) -> str:
    m = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", principal_arn)
    return f"arn:{m[1]}:iam::{m[2]}:role/{m[3]}" if m else principal_arn


# Permissions boundaries the template may name, by policy name: the policy scripts/deploy.sh
# creates in the account from this file (FunctionPermissionsBoundary's default).
BOUNDARY_FILES = {"mrap-edge-function-boundary": ROOT / "edge-function-boundary.json"}


def boundary_policy(arn: str, names: LocalNames) -> Policy:
    """The permissions boundary a role names (fail closed on one we do not have)."""
    prefix = f"arn:{names.partition}:iam::{names.account_id}:policy/"
    name = arn.removeprefix(prefix)
    if name == arn or name not in BOUNDARY_FILES:
        raise TemplateError(f"permissions boundary {arn} is not modelled locally (its statements are unknown)")
    document = json.loads(BOUNDARY_FILES[name].read_text())
    return parse_policy(f"boundary {name}", document, resource_based=False,
                        variables={"aws:PrincipalAccount": names.account_id})  # fmt: skip


class AccessModel:
    """The role's identity policies and permissions boundary, the MRAP policy and any bucket
    policies of the template. A boundary only limits: the role may do what both its policies
    and its boundary allow.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""

    def __init__(
        self,
        names: LocalNames,
        role_arn: str,
        identity: tuple[Policy, ...],
        mrap_policies: tuple[Policy, ...],
        bucket_policies: Mapping[str, tuple[Policy, ...]],
        boundary: Policy | None = None,
    ) -> None:
        self.names = names
        self._role_arn = role_arn
        self.identity = identity
        self.mrap_policies = mrap_policies
        self.bucket_policies = dict(bucket_policies)
        self.boundary = boundary
        self._list_allowed: dict[tuple[str, str], bool] = {}  # (principal, bucket): no key in it

    @classmethod
    def from_template(cls, template: dict, names: LocalNames = LocalNames()) -> AccessModel:
        r = _Resolver(template, names)
        if r.role_id is None:
            raise TemplateError("cannot tell which AWS::IAM::Role the function uses")
        role_arn = r.getatt(r.role_id, "Arn")
        role = r.resolve(r.resources[r.role_id].get("Properties") or {})
        identity = [
            parse_policy(f"{r.role_id}/{p['PolicyName']}", p["PolicyDocument"], resource_based=False)
            for p in role.get("Policies") or []
        ]
        for arn in role.get("ManagedPolicyArns") or []:
            if not str(arn).endswith(":policy/service-role/AWSLambdaBasicExecutionRole"):
                raise TemplateError(f"managed policy {arn} is not modelled locally (its statements are unknown)")
            # AWSLambdaBasicExecutionRole grants logs:* only: nothing on S3.
        boundary = boundary_policy(role["PermissionsBoundary"], names) if role.get("PermissionsBoundary") else None
        mraps = [k for k, v in r.resources.items() if resource_type(v) == "AWS::S3::MultiRegionAccessPoint"]
        if len(mraps) != 1:
            raise TemplateError(f"expected one AWS::S3::MultiRegionAccessPoint, found {len(mraps)}")
        mrap_name = r.ref(mraps[0])
        mrap_policies, bucket_policies = [], {}
        for logical, resource in r.resources.items():
            kind = resource_type(resource)
            if not r.exists(logical):
                continue
            if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                props = r.resolve(resource.get("Properties") or {})
                if names.role_name in props.get("Roles", []):
                    identity.append(parse_policy(logical, props["PolicyDocument"], resource_based=False))
            elif kind == "AWS::S3::MultiRegionAccessPointPolicy":
                props = r.resolve(resource.get("Properties") or {})
                if props.get("MrapName") == mrap_name:
                    mrap_policies.append(parse_policy(logical, props["Policy"], resource_based=True))
            elif kind == "AWS::S3::BucketPolicy":
                props = r.resolve(resource.get("Properties") or {})
                policy = parse_policy(logical, props["PolicyDocument"], resource_based=True)
                bucket_policies.setdefault(props["Bucket"], []).append(policy)
        return cls(
            names,
            role_arn,
            tuple(identity),
            tuple(mrap_policies),
            {k: tuple(v) for k, v in bucket_policies.items()},
            boundary,
        )

    @property
    def role_arn(self) -> str:
        return self._role_arn

    def resources(self, key: str | None, bucket: str) -> tuple[str, str]:
        """(MRAP resource, bucket resource) ARNs of a request: objects, or the bucket level."""
        mrap = self.names.mrap_arn
        bucket_arn = f"arn:{self.names.partition}:s3:::{bucket}"
        if key:
            return f"{mrap}/object/{key}", f"{bucket_arn}/{key}"
        return mrap, bucket_arn

    def _check(self, principal: str, action: str, key: str | None, bucket: str) -> tuple[bool, str]:
        account = principal.split(":")[4] if principal.count(":") >= 5 else ""
        context = {
            "aws:principalarn": principal,
            "aws:principalaccount": account,
            "aws:securetransport": "true",
            "s3:dataaccesspointarn": self.names.mrap_arn,
            "s3:dataaccesspointaccount": self.names.account_id,
        }
        mrap_resource, bucket_resource = self.resources(key, bucket)
        steps = (
            (mrap_resource, self.mrap_policies, "the MRAP policy"),
            (bucket_resource, self.bucket_policies.get(bucket, ()), f"the policy of bucket {bucket}"),
        )
        for resource, resource_policies, label in steps:
            req = Request(principal, account, action, resource, context)
            decision, where = evaluate(resource_policies, req)
            if decision == "Deny":
                return False, f"explicit Deny of {action} on {resource} in {label} ({where})"
            # Only the function's role has identity policies in the template.
            identity = self.identity if principal == self._role_arn else ()
            decision, where = evaluate(identity, req)
            if decision == "Deny":
                return False, f"explicit Deny of {action} on {resource} in the role's policy ({where})"
            if decision != "Allow":
                return False, f"no identity-based policy allows {action} on {resource} (implicit deny)"
            if self.boundary is not None and principal == self._role_arn:
                decision, where = evaluate([self.boundary], req)
                if decision != "Allow":
                    return False, f"the role's permissions boundary does not allow {action} on {resource}"
        if account != self.names.account_id:
            return False, f"{principal} is not in account {self.names.account_id} (cross-account is not modelled)"
        return True, f"{action} allowed on the MRAP and bucket {bucket}"

    def authorize(
        self, principal_arn: str, method: str, key: str | None, query: dict[str, list[str]], bucket: str
    ) -> Authz:
        """key None or "" = bucket-level request (ListObjects: s3:ListBucket on MRAP and bucket ARNs).
        GET/HEAD object -> s3:GetObject; with versionId -> s3:GetObjectVersion (HEAD same as GET);
        other methods -> the matching write action (PutObject, DeleteObject...)."""
        principal = _role_session_to_role(principal_arn)
        list_allowed = self._list_allowed.get((principal, bucket))
        if list_allowed is None:
            list_allowed, _ = self._check(principal, "s3:ListBucket", None, bucket)
            self._list_allowed[(principal, bucket)] = list_allowed
        if method.upper() == "OPTIONS":
            reason = "OPTIONS (CORS preflight) is not an operation a Multi-Region Access Point supports"
            return Authz(False, "", reason, list_allowed)
        try:
            action = s3_action(method, key, query)
        except ValueError as err:
            return Authz(False, "", str(err), list_allowed)
        allowed, reason = self._check(principal, action, key, bucket)
        return Authz(allowed, action, reason, list_allowed)
