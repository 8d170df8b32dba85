"""Whoever holds deployer-policy.json deploys, updates and destroys this project's stacks and
can do nothing more powerful: the policy is evaluated by the stand-in's IAM evaluator
(``local/iam``: explicit Deny > Allow > implicit deny, conditions as IAM reads them).

An escalation is refused when the answer is not "Allow"; the ones the policy refuses with an
explicit Deny (so no other policy of the same principal can grant them) are checked to be
"Deny". And every call the deploy scripts make, on the resources they make it on, is "Allow".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_harness import ROOT, STACK
from test_deployer_policy import ADMIN_ONLY, actions_for, script_calls

from local.iam import AccessModel, Policy, Request, evaluate, parse_policy
from local.intrinsics import Resolver
from local.template import load_template

ACCOUNT = "123456789012"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:user/deployer"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/mrap-edge-function-boundary"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/1a2b3c4d-aaaa-bbbb-cccc-ddddeeeeffff"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-1a2b3c4d-signer"  # the template's name for this stack id
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:mrap-edge-1a2b3c4d-signer"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Admin"
# Keys the deployer's statements test, beyond those local/iam/policy.py always knows.
KEYS = ("iam:PermissionsBoundary", "iam:PassedToService", "iam:AWSServiceName", "s3:prefix")


def load(name: str) -> Policy:
    document = json.loads((ROOT / name).read_text())
    return parse_policy(name, document, resource_based=False, context_keys=KEYS,
                        variables={"aws:PrincipalAccount": ACCOUNT})  # fmt: skip


DEPLOYER_POLICY = load("deployer-policy.json")


def decide(action: str, resource: str, policy: Policy = DEPLOYER_POLICY, principal: str = DEPLOYER,
           **context: str) -> str:  # fmt: skip
    """'Allow', 'Deny' (explicit) or 'ImplicitDeny'. Context keys as keyword arguments:
    boundary= (iam:PermissionsBoundary), service= (iam:PassedToService), prefix= (s3:prefix)."""
    names = {"boundary": "iam:permissionsboundary", "service": "iam:passedtoservice", "prefix": "s3:prefix",
             "slr": "iam:awsservicename"}  # fmt: skip
    ctx = {"aws:principalarn": principal, "aws:principalaccount": ACCOUNT}
    ctx |= {names[k]: v for k, v in context.items()}
    return evaluate([policy], Request(principal, ACCOUNT, action, resource, ctx))[0]


# --- roles: only with the boundary ------------------------------------------------------------

ROLE_WRITES = ("iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy")
OTHER_BOUNDARIES = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess",
    "arn:aws:iam::999999999999:policy/mrap-edge-function-boundary",  # the same name in another account
    f"arn:aws:iam::{ACCOUNT}:policy/x:policy/mrap-edge-function-boundary",  # a path that ends like it
    f"arn:aws:iam::{ACCOUNT}:policy/teams/mrap-edge-function-boundary",
]


@pytest.mark.parametrize("action", ROLE_WRITES)
def test_the_function_role_can_be_created_and_changed_with_the_boundary(action: str) -> None:
    assert decide(action, ROLE, boundary=BOUNDARY) == "Allow"


@pytest.mark.parametrize("action", ROLE_WRITES)
@pytest.mark.parametrize("role", [ROLE, ADMIN_ROLE, f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-anything"])
def test_no_role_is_created_or_changed_without_the_boundary(action: str, role: str) -> None:
    assert decide(action, role) == "Deny"  # no boundary in the request
    for other in OTHER_BOUNDARIES:
        assert decide(action, role, boundary=other) == "Deny", other


ALLOWS_ONLY = Policy("deployer-policy.json Allows", tuple(s for s in DEPLOYER_POLICY.statements if s.effect == "Allow"),
                     resource_based=False)  # fmt: skip


@pytest.mark.parametrize("action", ROLE_WRITES)
def test_the_allows_alone_already_require_the_boundary(action: str) -> None:
    # Two layers: the Deny statements refuse it whatever other policy allows, and the Allow
    # statements never grant it without the boundary in the first place.
    assert decide(action, ROLE, policy=ALLOWS_ONLY) == "ImplicitDeny"
    for other in OTHER_BOUNDARIES:
        assert decide(action, ROLE, policy=ALLOWS_ONLY, boundary=other) == "ImplicitDeny", other
    assert decide(action, ROLE, policy=ALLOWS_ONLY, boundary=BOUNDARY) == "Allow"


@pytest.mark.parametrize("role", [ADMIN_ROLE, f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-1a2b3c4d-other",
                                  f"arn:aws:iam::{ACCOUNT}:role/service-role/mrap-edge-1a2b3c4d-signer"])  # fmt: skip
def test_even_with_the_boundary_only_the_projects_signer_roles(role: str) -> None:
    for action in (*ROLE_WRITES, "iam:DeleteRole", "iam:TagRole"):
        assert decide(action, role, boundary=BOUNDARY) != "Allow", (action, role)


@pytest.mark.parametrize("role", [ROLE, ADMIN_ROLE])
def test_no_managed_policy_is_attached_and_no_boundary_removed(role: str) -> None:
    for boundary in ({}, {"boundary": BOUNDARY}):
        assert decide("iam:AttachRolePolicy", role, **boundary) == "Deny"
        assert decide("iam:DeleteRolePermissionsBoundary", role, **boundary) == "Deny"


@pytest.mark.parametrize("action", ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
                                    "iam:DeletePolicyVersion", "iam:DeletePolicy"])  # fmt: skip
def test_the_boundary_cannot_be_written_deleted_or_replaced(action: str) -> None:
    assert decide(action, BOUNDARY) == "Deny"
    assert decide(action, f"arn:aws:iam::{ACCOUNT}:policy/anything-else") == "ImplicitDeny"
    assert decide("iam:GetPolicy", BOUNDARY) == "Allow"  # deploy.sh checks that it exists


def test_the_deployer_never_acts_as_the_function_role() -> None:
    # A trust policy it wrote naming itself would otherwise be enough in the same account.
    assert decide("sts:AssumeRole", ROLE) == "Deny"


# --- passing roles ----------------------------------------------------------------------------


def test_only_the_function_role_is_passed_and_only_to_lambda() -> None:
    assert decide("iam:PassRole", ROLE, service="lambda.amazonaws.com") == "Allow"
    for service in ("edgelambda.amazonaws.com", "ec2.amazonaws.com", "cloudformation.amazonaws.com"):
        assert decide("iam:PassRole", ROLE, service=service) != "Allow", service
    assert decide("iam:PassRole", ROLE) != "Allow"
    for role in (ADMIN_ROLE, f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-bucket-one-ReplicationRole-X"):
        assert decide("iam:PassRole", role, service="lambda.amazonaws.com") != "Allow", role


def test_service_linked_roles_only_for_lambda_at_edge() -> None:
    replicator = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/replicator.lambda.amazonaws.com/X"
    assert decide("iam:CreateServiceLinkedRole", replicator, slr="replicator.lambda.amazonaws.com") == "Allow"
    other = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ec2.amazonaws.com/X"
    assert decide("iam:CreateServiceLinkedRole", other, slr="ec2.amazonaws.com") != "Allow"


# --- other stacks, functions and objects -------------------------------------------------------

STACK_ACTIONS = ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack",
                 "cloudformation:UpdateStack", "cloudformation:DescribeStacks")  # fmt: skip


@pytest.mark.parametrize("action", STACK_ACTIONS)
def test_no_other_stack_is_touched(action: str) -> None:
    assert decide(action, STACK_ID) == "Allow"
    assert decide(action, f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/mrap-edge/0f1e") == "Allow"
    for other in (f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/prod-database/0f1e",
                  f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/StackSet-mrap-edge/0f1e",
                  f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/mrap-edge/0f1e"):  # fmt: skip
        assert decide(action, other) != "Allow", other


FUNCTION_WRITES = ("lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction",
                   "lambda:PublishVersion", "lambda:CreateFunction")  # fmt: skip


@pytest.mark.parametrize("action", FUNCTION_WRITES)
def test_functions_only_by_the_projects_name(action: str) -> None:
    assert decide(action, FUNCTION) == "Allow"
    assert decide(action, f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payments") != "Allow"
    assert decide(action, f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:mrap-edge-1a2b3c4d-signer") != "Allow"


def test_objects_only_under_the_projects_prefixes() -> None:
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:GetObject"):
        assert decide(action, "arn:aws:s3:::deployables/mrap-edge/mrap-edge/0.zip") == "Allow"
        assert decide(action, "arn:aws:s3:::site/index.html") != "Allow"
    assert decide("s3:ListBucket", "arn:aws:s3:::site", prefix="") != "Allow"
    assert decide("s3:ListBucket", "arn:aws:s3:::site") != "Allow"


def test_nothing_the_project_does_not_use() -> None:
    for action, resource in [("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x"),
                             ("iam:CreateAccessKey", DEPLOYER),
                             ("lambda:InvokeFunction", FUNCTION),
                             ("lambda:AddPermission", FUNCTION),
                             ("s3:PutBucketPolicy", "arn:aws:s3:::site"),
                             ("s3:DeleteBucket", "arn:aws:s3:::site"),
                             ("organizations:LeaveOrganization", "*")]:  # fmt: skip
        assert decide(action, resource) != "Allow", action


# --- what the template and the scripts need ---------------------------------------------------


def resolved_role() -> dict[str, Any]:
    template = load_template()
    pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackId": STACK_ID, "AWS::StackName": STACK}
    resolver = Resolver(template, pseudo=pseudo)
    role = template["Resources"]["EdgeFunctionRole"]["Properties"]
    function = template["Resources"]["EdgeFunction"]["Properties"]
    return {
        "RoleName": resolver.resolve(role["RoleName"]),
        "PermissionsBoundary": resolver.resolve(role["PermissionsBoundary"]),
        "FunctionName": resolver.resolve(function["FunctionName"]),
    }


def test_the_template_creates_exactly_what_the_deployer_may() -> None:
    r = resolved_role()
    assert r["PermissionsBoundary"] == BOUNDARY
    assert f"arn:aws:iam::{ACCOUNT}:role/{r['RoleName']}" == ROLE
    assert decide("iam:CreateRole", ROLE, boundary=r["PermissionsBoundary"]) == "Allow"
    assert decide("iam:PutRolePolicy", ROLE, boundary=r["PermissionsBoundary"]) == "Allow"
    assert decide("iam:PassRole", ROLE, service="lambda.amazonaws.com") == "Allow"
    assert (
        decide("lambda:CreateFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{r['FunctionName']}") == "Allow"
    )


# The resource (and context) each deploy-script call is made on, in this project's names.
PACKAGE = f"arn:aws:s3:::deployables/mrap-edge/{STACK}/0123456789abcdef0123456789abcdef.zip"
PROBE = f"arn:aws:s3:::bucket-eu/mrap-edge-smoke/{STACK}/20261202T000000Z-1/probe.txt"
ALL: tuple[str, ...] = ()  # every action of the call
CALL_RESOURCES: dict[tuple[str, str], list[tuple[str, dict[str, str], tuple[str, ...]]]] = {
    ("s3api", "head-object"): [(PACKAGE, {}, ALL), (PROBE, {}, ALL)],
    ("s3api", "put-object"): [(PACKAGE, {}, ALL), (PROBE, {}, ALL)],
    # destroy removes packages (no version id); smoke removes the probe version it made.
    ("s3api", "delete-object"): [(PACKAGE, {}, ("s3:DeleteObject",)), (PROBE, {}, ALL)],
    ("s3api", "list-objects-v2"): [
        ("arn:aws:s3:::deployables", {"prefix": f"mrap-edge/{STACK}/"}, ALL),
        ("arn:aws:s3:::bucket-eu", {"prefix": f"mrap-edge-smoke/{STACK}/"}, ALL),
    ],
    # destroy looks for the probe versions an interrupted smoke test left.
    ("s3api", "list-object-versions"): [("arn:aws:s3:::bucket-eu", {"prefix": f"mrap-edge-smoke/{STACK}/"}, ALL)],
    ("lambda", "list-versions-by-function"): [(FUNCTION, {}, ALL)],
    ("lambda", "delete-function"): [(f"{FUNCTION}:3", {}, ALL)],
    ("cloudfront", "get-distribution-config"): [
        (f"arn:aws:cloudfront::{ACCOUNT}:distribution/EDFDVBD6EXAMPLE", {}, ALL),
    ],
    ("iam", "get-policy"): [(BOUNDARY, {}, ALL)],
    # make preflight / SIGNING=oac: read-only calls that take no resource of ours (docs/deployer.md).
    ("account", "list-regions"): [("*", {}, ALL)],
    ("s3api", "get-bucket-location"): [("arn:aws:s3:::bucket-eu", {}, ALL)],
    ("cloudformation", "describe-type"): [
        ("arn:aws:cloudformation:us-east-1:aws:type/resource/AWS-CloudFront-OriginAccessControl", {}, ALL),
    ],
}


def call_targets() -> list[tuple[str, str, str, dict[str, str]]]:
    out = []
    for service, operation in sorted(script_calls() - set(ADMIN_ONLY)):
        targets = CALL_RESOURCES.get((service, operation))
        if targets is None and service == "cloudformation":
            targets = [(STACK_ID, {}, ALL)]
        for action in actions_for(service, operation):
            assert targets, f"aws {service} {operation}: name the resource it is made on in CALL_RESOURCES"
            out += [
                (f"{service} {operation}", action, resource, ctx)
                for resource, ctx, only in targets
                if not only or action in only
            ]
    return out


@pytest.mark.parametrize(("call", "action", "resource", "context"), call_targets())
def test_every_call_the_scripts_make_is_allowed_on_this_projects_resources(call, action, resource, context) -> None:
    assert decide(action, resource, **context) == "Allow", f"{call}: {action} on {resource}"


def test_the_admin_only_calls_are_refused_on_the_boundary() -> None:
    for action in ADMIN_ONLY.values():
        assert decide(action, BOUNDARY) == "Deny"


# --- the boundary: what the function needs, nothing more --------------------------------------

BOUNDARY_POLICY = load("edge-function-boundary.json")


def test_the_boundary_allows_everything_the_template_grants_the_function() -> None:
    model = AccessModel.from_template(load_template())
    pairs = [
        (a, r)
        for policy in model.identity
        for s in policy.statements
        for a in s.actions or ()
        for r in s.resources or ()
    ]
    assert len(pairs) >= 6
    for action, resource in pairs:
        assert decide(action, resource, policy=BOUNDARY_POLICY, principal=model.role_arn) == "Allow", (action, resource)


@pytest.mark.parametrize(("action", "resource"), [
    ("s3:PutObject", "arn:aws:s3:::site/index.html"),
    ("s3:DeleteObject", f"arn:aws:s3::{ACCOUNT}:accesspoint/mfzwi23gnjvgw.mrap/object/index.html"),
    ("s3:PutBucketPolicy", "arn:aws:s3:::site"),
    ("iam:CreateRole", ADMIN_ROLE),
    ("iam:PassRole", ADMIN_ROLE),
    ("sts:AssumeRole", ADMIN_ROLE),
    ("lambda:UpdateFunctionCode", FUNCTION),
    ("cloudformation:DeleteStack", STACK_ID),
    ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/payments:*"),
    ("s3:GetObject", "arn:aws:s3::999999999999:accesspoint/theirs.mrap/object/x"),
])  # fmt: skip
def test_the_boundary_allows_nothing_else(action: str, resource: str) -> None:
    assert decide(action, resource, policy=BOUNDARY_POLICY, principal=ROLE) != "Allow"
