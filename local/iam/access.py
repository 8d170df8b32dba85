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
- The role's permissions boundary (``PermissionsBoundary``: the policy deploy.sh creates from
  ``edge-function-boundary.json``) limits it: the role may do only what its policies and the
  boundary both allow; a boundary we do not have the statements of raises TemplateError.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- A missing key is 404 NoSuchKey with ``s3:ListBucket``, 403 AccessDenied without it: see
  ``Authz.list_allowed``.

- SigningMode oac: CloudFront's service principal (``Service:cloudfront.amazonaws.com``,
  ``authorize(..., source_arn=<distribution ARN>)``) has no identity policy and is not of the
  account, so, as for a cross-account request, the MRAP policy and the routed-to bucket's
  policy must both allow it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointPermissions.html);
  ``aws:SourceArn`` is the distribution's ARN and ``aws:PrincipalArn`` is absent.
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3-mrap.html

Beyond the shared contract: ``authorize`` also accepts an assumed-role session ARN
(``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``) and evaluates it as its role; OPTIONS is
not an operation an MRAP supports, so it is always denied with action ``""``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..intrinsics import TemplateError, resource_type
from ..names import DEFAULT_NAMES, LocalNames, LocalResolver
from ..template import ROOT
from .actions import s3_action
from .evaluate import Request, evaluate
from .policy import Policy, parse_policy


@dataclass(frozen=True)
class Authz:
    allowed: bool  # may the principal perform the request?
    action: str  # the S3 action that decided (e.g. "s3:GetObjectVersion")
    reason: str  # one line for logs / the AccessDenied message
    list_allowed: bool  # s3:ListBucket on MRAP + bucket: 404 (True) vs 403 (False) for a missing key


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
    and its boundary allow."""

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
        self._list_allowed: dict[tuple[str, str, str | None], bool] = {}  # (principal, bucket, source)

    @classmethod
    def from_template(cls, template: dict, names: LocalNames = DEFAULT_NAMES) -> AccessModel:
        r = LocalResolver(template, names)
        if r.role_id is None:
            raise TemplateError("cannot tell which AWS::IAM::Role the function uses")
        role_arn, identity, boundary = "", [], None
        if r.exists(r.role_id):  # SigningMode oac creates no function and no role
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

    def _check(
        self, principal: str, action: str, key: str | None, bucket: str, source_arn: str | None = None
    ) -> tuple[bool, str]:
        service = principal.startswith("Service:")  # CloudFront (SigningMode oac)
        account = principal.split(":")[4] if principal.count(":") >= 5 else ""
        context = {
            "aws:securetransport": "true",
            "s3:dataaccesspointarn": self.names.mrap_arn,
            "s3:dataaccesspointaccount": self.names.account_id,
        }
        if not service:  # a service principal has no ARN or account of its own
            context |= {"aws:principalarn": principal, "aws:principalaccount": account}
        if source_arn is not None:
            context["aws:sourcearn"] = source_arn
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
            if service:
                # Not of the account and without identity policies: each resource policy must allow.
                if decision != "Allow":
                    return False, f"{label} does not allow {principal} {action} on {resource} (implicit deny)"
                continue
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
        if not service and account != self.names.account_id:
            return False, f"{principal} is not in account {self.names.account_id} (cross-account is not modelled)"
        return True, f"{action} allowed on the MRAP and bucket {bucket}"

    def authorize(
        self,
        principal_arn: str,
        method: str,
        key: str | None,
        query: dict[str, list[str]],
        bucket: str,
        source_arn: str | None = None,
    ) -> Authz:
        """key None or "" = bucket-level request (ListObjects: s3:ListBucket on MRAP and bucket ARNs).
        GET/HEAD object -> s3:GetObject; with versionId -> s3:GetObjectVersion (HEAD same as GET);
        other methods -> the matching write action (PutObject, DeleteObject...). ``source_arn``:
        aws:SourceArn of a request a service makes on a resource's behalf (CloudFront's OAC)."""
        principal = _role_session_to_role(principal_arn)
        list_allowed = self._list_allowed.get((principal, bucket, source_arn))
        if list_allowed is None:
            list_allowed, _ = self._check(principal, "s3:ListBucket", None, bucket, source_arn)
            self._list_allowed[(principal, bucket, source_arn)] = list_allowed
        if method.upper() == "OPTIONS":
            reason = "OPTIONS (CORS preflight) is not an operation a Multi-Region Access Point supports"
            return Authz(False, "", reason, list_allowed)
        try:
            action = s3_action(method, key, query)
        except ValueError as err:
            return Authz(False, "", str(err), list_allowed)
        allowed, reason = self._check(principal, action, key, bucket, source_arn)
        return Authz(allowed, action, reason, list_allowed)
