"""The local stack's names for what the template's intrinsics resolve to on AWS (account,
region, stack, MRAP alias, buckets, the function's role), and the resolver that uses them:
what the IAM model and the CloudFront distribution read the template through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import settings
from .intrinsics import Resolver, TemplateError, getatt_parts, resource_type


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
    distribution_id: str = "E1LOCALEXAMPLE"  # the distribution's Ref
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

    @property
    def distribution_arn(self) -> str:
        return f"arn:{self.partition}:cloudfront::{self.account_id}:distribution/{self.distribution_id}"


class LocalResolver(Resolver):
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
        if kind == "AWS::CloudFront::Distribution":
            return self.names.distribution_id
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


DEFAULT_NAMES = LocalNames()
