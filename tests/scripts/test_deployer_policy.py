"""deployer-policy.json stays in step with what the scripts call and with what
CloudFormation needs for every resource type in the template.

Every `aws <service> <operation>` in scripts/*.sh (including the commands the
scripts tell the user to run) maps to an IAM action the policy allows. Every resource
type in cloudformation.template needs its handlers' permissions (create, read,
update, delete) as published in the CloudFormation resource schemas that cfn-lint
ships, less the ones that belong to features the stack does not use.
"""

from __future__ import annotations

import fnmatch
import json
import re

import pytest
from aws_harness import ROOT

POLICY = json.loads((ROOT / "deployer-policy.json").read_text())
SERVICE_PREFIX = {"s3api": "s3", "s3control": "s3", "cloudformation": "cloudformation", "lambda": "lambda",
                  "cloudfront": "cloudfront", "logs": "logs", "iam": "iam", "sts": "sts",
                  "account": "account"}  # fmt: skip
# CLI operations whose IAM action is not their own name.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html (needs s3:GetObject),
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html (needs s3:ListBucket)
ACTION_OF = {
    ("s3api", "head-object"): ["s3:GetObject", "s3:GetObjectVersion"],  # smoke reads its version's status
    ("s3api", "list-objects-v2"): ["s3:ListBucket"],
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
    ("s3api", "list-object-versions"): ["s3:ListBucketVersions"],
    ("s3", "cp"): ["s3:PutObject"],  # the by-hand upload (docs/deploy.md)
    ("s3api", "delete-object"): ["s3:DeleteObject", "s3:DeleteObjectVersion"],  # smoke removes its version
    ("cloudformation", "wait"): ["cloudformation:DescribeStacks"],
    # "No permissions are required to perform this operation" (and a Deny cannot stop it):
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    ("sts", "get-caller-identity"): [],
}
# Calls a deploy script makes that the deployer must NOT be able to make: the script then
# stops with the command an administrator runs (creating the permissions boundary decides
# what every function role may do; see docs/deployer.md).
ADMIN_ONLY = {("iam", "create-policy"): "iam:CreatePolicy"}
# Handler permissions of AWS::IAM::Role the deployer is refused on purpose, each true of the
# template's role: attaching a managed policy, and removing the permissions boundary.
REFUSED_HANDLER_ACTIONS = frozenset({"iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary"})
# Handler permissions of features this stack does not use (no VPC, no file system, no
# customer KMS key, no Lambda Managed Instances), and a name that is not an IAM action.
NOT_USED = ("ec2:", "elasticfilesystem:", "s3files:", "kms:", "firehose:", "s3:REST.", "lambda:PassCapacityProvider")
CALL = re.compile(
    r"""\b(?:aws|try_aws|must_aws(?:\s+"[^"]*")?)\s+(s3api|s3control|cloudformation|lambda|cloudfront|logs|iam|sts|account)"""
    r"""\s+(?:--region\s+\S+\s+)?([a-z][a-z0-9-]+)"""
)


def allowed(action: str) -> bool:
    """Some Allow names the action and no unconditional Deny of it on every resource does (which
    resources and conditions: tests/scripts/test_deployer_escalation.py evaluates those)."""
    granted = False
    for statement in POLICY["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
            continue
        if statement["Effect"] == "Deny" and statement["Resource"] == "*" and "Condition" not in statement:
            return False
        granted = granted or statement["Effect"] == "Allow"
    return granted


# The policy is the deployer's: deploy (and the preflight it runs), smoke, destroy,
# prune-versions. The operations
# commands (README "Operate") need other permissions, listed there.
DEPLOY_SCRIPTS = ("lib.sh", "deploy.sh", "preflight.sh", "smoke.sh", "destroy.sh", "prune_versions.sh")
OPERATIONS_SCRIPTS = ("ops_lib.sh", "buckets_lib.sh", "buckets.sh", "destroy_buckets.sh", "replication_check.sh",
                      "routes.sh", "logs.sh")  # fmt: skip


def test_every_script_is_either_a_deploy_or_an_operations_script() -> None:
    # A new script must be classified, so its calls are not silently left out of the policy.
    assert {p.name for p in (ROOT / "scripts").glob("*.sh")} == set(DEPLOY_SCRIPTS) | set(OPERATIONS_SCRIPTS)


def script_calls() -> set[tuple[str, str]]:
    found = set()
    for script in (ROOT / "scripts" / name for name in DEPLOY_SCRIPTS):
        text = re.sub(r"\\\n\s*", " ", script.read_text())  # join continued lines
        found |= set(CALL.findall(text))
        found |= {("cloudformation", op) for op in re.findall(r"(?m)^\s*cf\s+([a-z][a-z0-9-]+)", text)}
    return found


def actions_for(service: str, operation: str) -> list[str]:
    if (service, operation) in ACTION_OF:
        return ACTION_OF[(service, operation)]
    return [f"{SERVICE_PREFIX[service]}:" + "".join(part.title() for part in operation.split("-"))]


def template_types() -> set[str]:
    from local.template import load_template

    return {resource["Type"] for resource in load_template()["Resources"].values()}


def test_the_scan_finds_the_calls_the_scripts_make() -> None:
    calls = script_calls()
    # A scanner that found nothing would pass everything: it must see these.
    for expected in [
        ("cloudformation", "create-change-set"),
        ("cloudformation", "execute-change-set"),
        ("cloudformation", "describe-stack-events"),
        ("cloudformation", "delete-stack"),
        ("cloudformation", "continue-update-rollback"),  # a next step we tell the user to run
        ("s3api", "put-object"),
        ("s3api", "delete-object"),
        ("lambda", "delete-function"),
        ("lambda", "list-versions-by-function"),
        ("cloudfront", "get-distribution-config"),
        ("s3api", "get-bucket-location"),  # the preflight: each bucket's Region
        ("account", "list-regions"),  # and whether it is an opt-in Region
        ("cloudformation", "describe-type"),  # deploy.sh: does the live schema take sigv4a
    ]:
        assert expected in calls


@pytest.mark.parametrize(("service", "operation"), sorted(script_calls() - set(ADMIN_ONLY)))
def test_every_call_in_the_scripts_is_allowed(service: str, operation: str) -> None:
    for action in actions_for(service, operation):
        assert allowed(action), f"aws {service} {operation} needs {action}: add it to deployer-policy.json"


def test_the_admin_only_calls_are_made_and_refused() -> None:
    assert set(ADMIN_ONLY) <= script_calls()
    for action in ADMIN_ONLY.values():
        assert not allowed(action)


def test_every_resource_type_in_the_template_is_allowed_by_its_handlers() -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    missing = {}
    for rtype in sorted(template_types()):
        handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", rtype).schema.get("handlers")
        assert handlers, f"{rtype}: no handler permissions published; list its actions by hand here"
        for handler in ("create", "read", "update", "delete"):
            for action in handlers.get(handler, {}).get("permissions", []):
                if action in REFUSED_HANDLER_ACTIONS:
                    assert not allowed(action), f"{action} is refused to the deployer on purpose"
                    continue
                if not action.startswith(NOT_USED) and not allowed(action):
                    missing.setdefault(rtype, set()).add(action)
    assert not missing, f"deployer-policy.json lacks: {missing}"


def test_the_refused_role_actions_are_ones_the_template_never_needs() -> None:
    from local.template import load_template

    roles = [r["Properties"] for r in load_template()["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        assert "ManagedPolicyArns" not in role  # nothing to attach
        assert "PermissionsBoundary" in role  # never removed


def test_lambda_at_edge_needs_are_granted_as_documented() -> None:
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-edge-permissions.html:
    # the asterisks are required on the replication actions.
    actions = {
        a for s in POLICY["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert {"lambda:EnableReplication*", "lambda:DisableReplication*"} <= actions
    assert allowed("lambda:GetFunction")
    for action in ["iam:PassRole", "iam:CreateServiceLinkedRole", "cloudfront:CreateDistribution",
                   "cloudfront:UpdateDistribution", "s3:CreateMultiRegionAccessPoint",
                   "s3:DescribeMultiRegionAccessPointOperation", "s3:GetMultiRegionAccessPoint",
                   "s3:DeleteMultiRegionAccessPoint", "s3:PutMultiRegionAccessPointPolicy",
                   "s3:GetMultiRegionAccessPointPolicy", "s3:GetMultiRegionAccessPointPolicyStatus",
                   "s3:ListAllMyBuckets"]:  # fmt: skip
        assert allowed(action), action


def test_object_writes_are_confined_to_the_projects_own_prefixes() -> None:
    for statement in POLICY["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(a in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion") for a in actions):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert set(resources) <= {"arn:aws:s3:::*/mrap-edge/*", "arn:aws:s3:::*/lambdapackage/*",
                                      "arn:aws:s3:::*/mrap-edge-smoke/*"}  # fmt: skip
        if "iam:PassRole" in actions:
            assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == "lambda.amazonaws.com"
    # A managed policy holds at most 6,144 characters, whitespace not counted.
    assert len(json.dumps(POLICY, separators=(",", ":"))) <= 6144


def test_every_remaining_star_is_explained_in_the_docs() -> None:
    # docs/deployer.md names each statement that keeps "Resource": "*" and each of its actions.
    docs = (ROOT / "docs" / "deployer.md").read_text()
    stars = [s for s in POLICY["Statement"] if s["Effect"] == "Allow" and "*" in as_list(s["Resource"])]
    assert stars
    for statement in stars:
        assert statement["Sid"] in docs, statement["Sid"]
        for action in as_list(statement["Action"]):
            assert action.split(":", 1)[1] in docs, action
    # The boundary's name appears wherever docs/deployer.md says to replace it.
    places = json.dumps(POLICY).count("mrap-edge-function-boundary")
    assert f"({['one', 'two', 'three', 'four', 'five', 'six'][places - 1]} places)" in docs


def as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]
