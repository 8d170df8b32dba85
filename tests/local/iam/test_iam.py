"""The template's IAM and MRAP policies, evaluated as S3 evaluates a request through an MRAP.

Every test starts from the real cloudformation.template; the variants change one thing in
a copy of it, so a permission removed from the template is a permission removed here.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from local.iam import AccessModel, Authz, PolicyError, s3_action, wildcard_match
from local.intrinsics import TemplateError
from local.names import LocalNames
from local.template import load_template

NAMES = LocalNames()
ONE, TWO = NAMES.bucket_one, NAMES.bucket_two
MRAP_ARN = f"arn:aws:s3::{NAMES.account_id}:accesspoint/{NAMES.mrap_alias}"
OTHER = f"arn:aws:iam::{NAMES.account_id}:role/somebody-else"
TEMPLATE = load_template()


def fresh() -> dict[str, Any]:
    return copy.deepcopy(TEMPLATE)


def role_statements(t: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for policy in t["Resources"]["EdgeFunctionRole"]["Properties"]["Policies"]:
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def mrap_statements(t: dict[str, Any]) -> list[dict[str, Any]]:
    """The lambda-edge (default) branch of the MRAP policy, as a list the tests may edit."""
    condition, _oac, lambda_edge = t["Resources"]["MrapPolicy"]["Properties"]["Policy"]["Statement"]["Fn::If"]
    assert condition == "SignsWithOac"
    return lambda_edge


def actions_of(s: dict[str, Any]) -> list[str]:
    a = s.get("Action", [])
    return [a] if isinstance(a, str) else list(a)


def statement_lists(t: dict[str, Any]) -> list[list[dict[str, Any]]]:
    policies = t["Resources"]["EdgeFunctionRole"]["Properties"]["Policies"]
    return [p["PolicyDocument"]["Statement"] for p in policies] + [mrap_statements(t)]


def revoke(t: dict[str, Any], action: str) -> dict[str, Any]:
    """Remove an action from every Allow statement of the role and the MRAP policy."""
    for statements in statement_lists(t):
        for s in list(statements):
            if s["Effect"] == "Allow" and action in actions_of(s):
                rest = [a for a in actions_of(s) if a != action]
                if rest:
                    s["Action"] = rest
                else:
                    statements.remove(s)
    return t


def role_policy(t: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    """Add one statement to the role as its own inline policy."""
    t["Resources"]["EdgeFunctionRole"]["Properties"]["Policies"].append(
        {
            "PolicyName": f"test-{len(role_statements(t))}",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        }
    )
    return t


def mrap_resource(suffix: str = "") -> dict[str, Any]:
    return {"Fn::Sub": "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}" + suffix}


def bucket_resource(param: str, suffix: str = "") -> dict[str, Any]:
    return {"Fn::Sub": "arn:${AWS::Partition}:s3:::${" + param + "}" + suffix}


ALL_OBJECTS = [
    mrap_resource("/object/*"),
    bucket_resource("S3BucketOneName", "/*"),
    bucket_resource("S3BucketTwoName", "/*"),
]
ALL_BUCKETS = [mrap_resource(), bucket_resource("S3BucketOneName"), bucket_resource("S3BucketTwoName")]


def grant(t: dict[str, Any], action: str, resources: list[Any] | None = None) -> dict[str, Any]:
    bucket_level = action in ("s3:ListBucket", "s3:ListBucketVersions")
    return role_policy(
        t,
        {"Effect": "Allow", "Action": action, "Resource": resources or (ALL_BUCKETS if bucket_level else ALL_OBJECTS)},
    )


def mrap_deny(t: dict[str, Any], condition: dict[str, Any] | None, principal: Any = "*") -> dict[str, Any]:
    statement = {
        "Sid": "TestDeny",
        "Effect": "Deny",
        "Principal": principal,
        "Action": ["s3:GetObject*", "s3:ListBucket"],
        "Resource": [mrap_resource(), mrap_resource("/object/*")],
    }
    if condition is not None:
        statement["Condition"] = condition
    mrap_statements(t).append(statement)
    return t


def model(t: dict[str, Any] | None = None) -> AccessModel:
    return AccessModel.from_template(TEMPLATE if t is None else t)


def get(m: AccessModel, key: str | None = "index.html", query: dict | None = None, bucket: str = ONE,
        method: str = "GET", principal: str | None = None) -> Authz:  # fmt: skip
    return m.authorize(principal or m.role_arn, method, key, query or {}, bucket)


# --- the real template --------------------------------------------------------------


def test_role_arn_is_the_local_role():
    assert model().role_arn == f"arn:aws:iam::{NAMES.account_id}:role/{NAMES.role_name}"


@pytest.mark.parametrize("bucket", [ONE, TWO])
@pytest.mark.parametrize("method", ["GET", "HEAD", "get"])
def test_the_role_reads_objects_through_either_bucket(bucket, method):
    authz = get(model(), "dir/a b+c.txt", method=method, bucket=bucket)
    assert authz.allowed and authz.action == "s3:GetObject", authz.reason


@pytest.mark.parametrize(("method", "query", "action"), [
    ("PUT", {}, "s3:PutObject"),
    ("POST", {"uploads": [""]}, "s3:PutObject"),
    ("DELETE", {}, "s3:DeleteObject"),
    ("DELETE", {"versionId": ["v1"]}, "s3:DeleteObjectVersion"),
    ("GET", {"tagging": [""]}, "s3:GetObjectTagging"),
    ("GET", {"acl": [""]}, "s3:GetObjectAcl"),
])  # fmt: skip
def test_the_template_grants_no_writes_and_no_subresources(method, query, action):
    authz = get(model(), query=query, method=method)
    assert (authz.allowed, authz.action) == (False, action)
    assert "implicit deny" in authz.reason


def test_a_bucket_not_under_the_mrap_is_not_readable():
    assert not get(model(), bucket="some-other-bucket").allowed


def test_options_is_not_an_mrap_operation():
    authz = get(model(), method="OPTIONS")
    assert not authz.allowed and authz.action == "" and "OPTIONS" in authz.reason


def test_another_principal_gets_nothing():
    assert not get(model(), principal=OTHER).allowed


def test_an_assumed_role_session_is_evaluated_as_its_role():
    session = f"arn:aws:sts::{NAMES.account_id}:assumed-role/{NAMES.role_name}/edge-session"
    assert get(model(), principal=session).allowed
    assert not get(model(), principal=f"arn:aws:sts::{NAMES.account_id}:assumed-role/other/s").allowed


# --- one permission removed / added --------------------------------------------------


def test_version_id_needs_get_object_version():
    denied = model(revoke(fresh(), "s3:GetObjectVersion"))
    authz = get(denied, query={"versionId": ["3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"]})
    assert (authz.allowed, authz.action) == (False, "s3:GetObjectVersion")
    assert get(denied).allowed  # the same key without versionId
    granted = model(grant(revoke(fresh(), "s3:GetObjectVersion"), "s3:GetObjectVersion"))
    assert get(granted, query={"versionId": ["v"]}, method="HEAD").allowed


def test_get_object_removed_denies_every_read():
    m = model(revoke(fresh(), "s3:GetObject"))
    assert not get(m).allowed
    assert not get(m, method="HEAD").allowed


def test_list_allowed_follows_list_bucket():
    assert not get(model(revoke(fresh(), "s3:ListBucket"))).list_allowed
    m = model(grant(revoke(fresh(), "s3:ListBucket"), "s3:ListBucket"))
    assert get(m).list_allowed and get(m, bucket=TWO).list_allowed
    listing = get(m, key=None)
    assert (listing.allowed, listing.action) == (True, "s3:ListBucket")
    assert get(m, key="").action == "s3:ListBucket"


@pytest.mark.parametrize("resources", [
    [mrap_resource()],                                                   # the MRAP only
    [bucket_resource("S3BucketOneName"), bucket_resource("S3BucketTwoName")],  # the buckets only
    [mrap_resource("/*"), bucket_resource("S3BucketOneName", "/*")],     # object ARNs, not the bucket's
])  # fmt: skip
def test_list_bucket_needs_both_the_mrap_and_the_bucket_arn(resources):
    m = model(grant(revoke(fresh(), "s3:ListBucket"), "s3:ListBucket", resources))
    assert not get(m).list_allowed
    assert not get(m, key=None).allowed


@pytest.mark.parametrize(("resources", "missing"), [
    ([mrap_resource("/object/*")], f"arn:aws:s3:::{ONE}/index.html"),
    (ALL_OBJECTS[1:], f"{MRAP_ARN}/object/index.html"),
    ([mrap_resource("/object/*"), bucket_resource("S3BucketTwoName", "/*")], f"arn:aws:s3:::{ONE}/index.html"),
])  # fmt: skip
def test_object_reads_need_both_the_mrap_and_the_bucket_object_arn(resources, missing):
    m = model(grant(revoke(fresh(), "s3:GetObject"), "s3:GetObject", resources))
    authz = get(m)
    assert not authz.allowed and missing in authz.reason


def test_resources_are_the_mrap_and_bucket_arns():
    m = model()
    assert m.resources("a/b.txt", ONE) == (f"{MRAP_ARN}/object/a/b.txt", f"arn:aws:s3:::{ONE}/a/b.txt")
    assert m.resources(None, TWO) == (MRAP_ARN, f"arn:aws:s3:::{TWO}")


def test_resources_are_case_sensitive_and_actions_are_not():
    t = revoke(fresh(), "s3:GetObject")
    grant(t, "S3:getOBJECT", [mrap_resource("/object/public/*"), bucket_resource("S3BucketOneName", "/public/*")])
    m = model(t)
    assert get(m, "public/x").allowed
    assert not get(m, "Public/x").allowed


def test_question_mark_matches_one_character():
    t = revoke(fresh(), "s3:GetObject")
    grant(t, "s3:GetObjec?", [mrap_resource("/object/v?.txt"), bucket_resource("S3BucketOneName", "/v?.txt")])
    m = model(t)
    assert get(m, "v1.txt").allowed
    assert not get(m, "v10.txt").allowed


# --- explicit Deny -----------------------------------------------------------------


def deny_condition(op: str, value: Any) -> dict[str, Any]:
    return {op: {"aws:PrincipalArn": value}}


ROLE_ARN = {"Fn::GetAtt": ["EdgeFunctionRole", "Arn"]}
UPPER_ROLE_ARN = f"ARN:AWS:IAM::{NAMES.account_id}:ROLE/{NAMES.role_name.upper()}"


def test_mrap_deny_for_everybody_but_the_role():
    m = model(mrap_deny(fresh(), deny_condition("ArnNotEquals", ROLE_ARN)))
    assert get(m).allowed
    authz = get(m, principal=OTHER)
    assert not authz.allowed and "explicit Deny" in authz.reason


def test_mrap_deny_naming_another_principal_denies_the_role():
    m = model(mrap_deny(fresh(), deny_condition("ArnNotEquals", OTHER)))
    authz = get(m)
    assert not authz.allowed and "explicit Deny" in authz.reason
    assert not get(m).list_allowed


@pytest.mark.parametrize(("op", "value", "denied"), [
    ("ArnEquals", ROLE_ARN, True),
    ("ArnLike", "arn:aws:iam::*:role/mrap-edge-*", True),
    ("ArnLike", "arn:aws:iam::*:role/other-*", False),
    ("ArnNotLike", "arn:aws:iam::*:role/mrap-edge-*", False),
    ("StringEquals", ROLE_ARN, True),
    ("StringNotEquals", ROLE_ARN, False),
    ("StringLike", "*EdgeFunctionRole*", True),
    ("StringNotLike", "*EdgeFunctionRole*", False),
    ("StringEqualsIgnoreCase", UPPER_ROLE_ARN, True),
    ("StringEquals", UPPER_ROLE_ARN, False),
    ("StringEquals", [OTHER, ROLE_ARN], True),           # values of one key: any
    ("StringNotEquals", [OTHER, ROLE_ARN], False),       # negated: none
    ("StringNotEqualsIfExists", [OTHER], True),
])  # fmt: skip
def test_condition_operators(op, value, denied):
    m = model(mrap_deny(fresh(), deny_condition(op, value)))
    assert get(m).allowed is not denied


@pytest.mark.parametrize(("condition", "denied"), [
    ({"Bool": {"aws:SecureTransport": "false"}}, False),
    ({"Bool": {"aws:SecureTransport": True}}, True),
    ({"Null": {"aws:PrincipalArn": "true"}}, False),
    ({"Null": {"aws:PrincipalArn": "false"}}, True),
    ({"StringEquals": {"aws:PrincipalAccount": "123456789012"}}, True),
    ({"ArnEquals": {"s3:DataAccessPointArn": MRAP_ARN}}, True),
    # All operators and keys must hold (AND).
    ({"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalAccount": "000000000000"}}, False),
])  # fmt: skip
def test_other_condition_keys(condition, denied):
    m = model(mrap_deny(fresh(), condition))
    assert get(m).allowed is not denied


@pytest.mark.parametrize(("principal", "denied"), [
    ("*", True),
    ({"AWS": "*"}, True),
    ({"AWS": ROLE_ARN}, True),
    ({"AWS": [OTHER, ROLE_ARN]}, True),
    ({"AWS": OTHER}, False),
    ({"AWS": "123456789012"}, True),  # the account stands for every principal in it
    ({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}, True),
    ({"AWS": "arn:aws:iam::999999999999:root"}, False),
    ({"Service": "cloudfront.amazonaws.com"}, False),
])  # fmt: skip
def test_principals(principal, denied):
    m = model(mrap_deny(fresh(), None, principal))
    assert get(m).allowed is not denied


def test_not_principal():
    t = mrap_deny(fresh(), None)
    s = mrap_statements(t)[-1]
    s["NotPrincipal"] = {"AWS": ROLE_ARN}
    del s["Principal"]
    m = model(t)
    assert get(m).allowed
    assert "explicit Deny" in get(m, principal=OTHER).reason


def test_identity_deny_wins_over_allow():
    t = role_policy(
        fresh(), {"Effect": "Deny", "Action": "s3:*", "Resource": bucket_resource("S3BucketTwoName", "/secret/*")}
    )
    m = model(t)
    assert get(m, "secret/x", bucket=ONE).allowed
    authz = get(m, "secret/x", bucket=TWO)
    assert not authz.allowed and "explicit Deny" in authz.reason


def test_not_action_and_not_resource():
    t = revoke(fresh(), "s3:GetObject")
    role_policy(
        t,
        {
            "Effect": "Allow",
            "NotAction": ["s3:Put*", "s3:Delete*"],
            "NotResource": [mrap_resource("/object/private/*")],
        },
    )
    m = model(t)
    assert get(m, "public.txt").allowed
    assert not get(m, "private/x").allowed
    assert not get(m, method="PUT").allowed


def test_bucket_policy_deny_applies():
    t = fresh()
    t["Resources"]["TestBucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "S3BucketTwoName"},
            "PolicyDocument": {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                              "Resource": bucket_resource("S3BucketTwoName", "/*")}]},
        },
    }  # fmt: skip
    m = model(t)
    assert get(m, bucket=ONE).allowed
    assert not get(m, bucket=TWO).allowed


# --- fail closed -------------------------------------------------------------------


@pytest.mark.parametrize("condition", [
    {"NumericLessThan": {"aws:PrincipalArn": "1"}},
    {"ForAnyValue:StringEquals": {"aws:PrincipalArn": "x"}},
    {"StringEquals": {"aws:SourceIp": "1.2.3.4"}},
    {"StringEquals": {"aws:PrincipalArn": "${aws:username}"}},
])  # fmt: skip
def test_what_we_cannot_evaluate_raises(condition):
    with pytest.raises(PolicyError):
        model(mrap_deny(fresh(), condition))


@pytest.mark.parametrize("resource", [
    {"Fn::GetAtt": ["Distribution", "DomainName"]},
    {"Fn::ImportValue": "elsewhere"},
    {"Ref": "NoSuchThing"},
    {"Fn::Sub": "arn:aws:s3:::${NoSuchParameter}/*"},
])  # fmt: skip
def test_an_unresolvable_intrinsic_raises(resource):
    with pytest.raises(TemplateError):
        model(grant(fresh(), "s3:GetObject", [resource]))


def test_a_parameter_without_default_needs_a_local_value():
    t = grant(fresh(), "s3:GetObject", [{"Fn::Sub": "arn:aws:s3:::${Extra}/*"}])
    t["Parameters"]["Extra"] = {"Type": "String"}
    with pytest.raises(TemplateError, match="Extra"):
        model(t)
    m = AccessModel.from_template(t, LocalNames(parameters=(("Extra", "extra-bucket"),)))
    assert get(m).allowed


def test_unknown_managed_policy_raises():
    t = fresh()
    t["Resources"]["EdgeFunctionRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    ]
    with pytest.raises(TemplateError):
        model(t)


# --- intrinsics ----------------------------------------------------------------------


def test_intrinsics_resolve_with_local_names():
    t = fresh()
    t["Conditions"]["TestFalse"] = {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    stack_uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    name = {"Fn::Join": ["-", ["mrap-edge", {"Fn::Select": [0, {"Fn::Split": ["-", stack_uuid]}]}]]}
    resources = [
        {
            "Fn::If": [
                "TestFalse",
                "arn:aws:s3:::nope/*",
                {"Fn::Sub": ["arn:aws:s3:::${B}/*", {"B": {"Ref": "S3BucketOneName"}}]},
            ]
        },
        {"Fn::Sub": ["arn:aws:s3:::${N}/*", {"N": name}]},
        {"Fn::If": ["TestFalse", "x", {"Ref": "AWS::NoValue"}]},
        {"Fn::Sub": "arn:${AWS::Partition}:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}/object/${!literal}"},
    ]
    t = grant(revoke(t, "s3:GetObject"), "s3:GetObject", resources)
    m = model(t)
    statement = m.identity[-1].statements[0]
    assert statement.resources == (
        f"arn:aws:s3:::{ONE}/*",
        f"arn:aws:s3:::mrap-edge-{NAMES.stack_uuid.split('-')[0]}/*",
        f"{MRAP_ARN}/object/${{literal}}",
    )


def test_local_names_change_what_the_template_resolves_to():
    names = LocalNames(account_id="210987654321", mrap_alias="mother.mrap", bucket_one="b-one", bucket_two="b-two")
    m = AccessModel.from_template(TEMPLATE, names)
    assert m.role_arn.startswith("arn:aws:iam::210987654321:role/")
    assert m.authorize(m.role_arn, "GET", "k", {}, "b-two").allowed
    assert not m.authorize(m.role_arn, "GET", "k", {}, ONE).allowed


# --- request -> action ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "key", "query", "action"), [
    ("GET", "k", {}, "s3:GetObject"),
    ("HEAD", "k", {}, "s3:GetObject"),
    ("GET", "k", {"versionId": ["v"]}, "s3:GetObjectVersion"),
    ("HEAD", "k", {"versionId": ["v"]}, "s3:GetObjectVersion"),
    ("GET", "k", {"partNumber": ["1"], "response-content-type": ["x"]}, "s3:GetObject"),
    ("GET", "k", {"tagging": [""], "versionId": ["v"]}, "s3:GetObjectVersionTagging"),
    ("GET", "k", {"acl": [""], "versionId": ["v"]}, "s3:GetObjectVersionAcl"),
    ("GET", "k", {"attributes": [""]}, "s3:GetObjectAttributes"),
    ("GET", "k", {"uploadId": ["u"]}, "s3:ListMultipartUploadParts"),
    ("GET", None, {}, "s3:ListBucket"),
    ("GET", "", {"list-type": ["2"], "prefix": ["a"]}, "s3:ListBucket"),
    ("GET", None, {"versions": [""]}, "s3:ListBucketVersions"),
    ("GET", None, {"uploads": [""]}, "s3:ListBucketMultipartUploads"),
    ("PUT", "k", {}, "s3:PutObject"),
    ("PUT", "k", {"partNumber": ["1"], "uploadId": ["u"]}, "s3:PutObject"),
    ("PUT", "k", {"tagging": [""]}, "s3:PutObjectTagging"),
    ("POST", "k", {"uploadId": ["u"]}, "s3:PutObject"),
    ("POST", "k", {"restore": [""]}, "s3:RestoreObject"),
    ("DELETE", "k", {}, "s3:DeleteObject"),
    ("DELETE", "k", {"versionId": ["v"]}, "s3:DeleteObjectVersion"),
    ("DELETE", "k", {"uploadId": ["u"]}, "s3:AbortMultipartUpload"),
    ("POST", None, {"delete": [""]}, "s3:DeleteObject"),
])  # fmt: skip
def test_s3_action(method, key, query, action):
    assert s3_action(method, key, query) == action


def test_wildcards():
    assert wildcard_match("a*z", "a/b:c/z")
    assert wildcard_match("a?c", "abc") and not wildcard_match("a?c", "ac")
    assert not wildcard_match("a.c", "abc")  # regex characters are literal
    assert wildcard_match("S3:Get*", "s3:getobject", ignore_case=True)
    assert not wildcard_match("S3:Get*", "s3:getobject")


def test_list_allowed_is_per_bucket():
    m = model(
        grant(revoke(fresh(), "s3:ListBucket"), "s3:ListBucket", [mrap_resource(), bucket_resource("S3BucketOneName")])
    )
    assert get(m, bucket=ONE).list_allowed
    assert not get(m, bucket=TWO).list_allowed
    assert get(m, bucket=ONE).list_allowed  # asked again (the answer is memoised per bucket)


def test_a_policy_resource_under_a_false_condition_does_not_exist():
    t = fresh()
    t["Conditions"]["TestNever"] = {"Fn::Equals": ["a", "b"]}
    t["Resources"]["TestDenyAll"] = {
        "Type": "AWS::IAM::Policy",
        "Condition": "TestNever",
        "Properties": {
            "PolicyName": "deny",
            "Roles": [{"Ref": "EdgeFunctionRole"}],
            "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]},
        },
    }
    assert get(model(t)).allowed
    t["Conditions"]["TestNever"] = {"Fn::Equals": ["a", "a"]}
    assert "explicit Deny" in get(model(t)).reason


# --- other policies: extra context keys, policy variables, absent keys ------------------------


def _one_statement(effect: str, condition: dict, resource: str = "arn:aws:iam::*:role/r") -> dict:
    statement = {"Effect": effect, "Action": "iam:CreateRole", "Resource": resource, "Condition": condition}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _decide(policy, context: dict[str, str], resource: str = "arn:aws:iam::123456789012:role/r") -> str:
    from local.iam import Request, evaluate

    return evaluate([policy], Request("arn:aws:iam::123456789012:user/d", "123456789012", "iam:CreateRole",
                                      resource, context))[0]  # fmt: skip


def test_extra_context_keys_are_evaluated_only_when_declared():
    from local.iam import parse_policy

    doc = _one_statement("Allow", {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}})
    with pytest.raises(PolicyError):
        parse_policy("p", doc, resource_based=False)
    policy = parse_policy("p", doc, resource_based=False, context_keys=["iam:PermissionsBoundary"])
    assert _decide(policy, {"iam:permissionsboundary": "arn:aws:iam::1:policy/b"}) == "Allow"
    assert _decide(policy, {"iam:permissionsboundary": "arn:aws:iam::1:policy/other"}) == "ImplicitDeny"
    assert _decide(policy, {}) == "ImplicitDeny"  # a key the request lacks fails StringEquals


@pytest.mark.parametrize(("op", "denied_when_absent"), [
    ("StringNotEquals", True), ("StringNotLike", True), ("ArnNotEquals", True), ("ArnNotLike", True),
    ("StringEquals", False), ("StringLike", False), ("ArnEquals", False), ("StringNotEqualsIfExists", True),
    ("StringEqualsIfExists", True),
])  # fmt: skip
def test_a_negated_operator_passes_when_the_key_is_absent(op, denied_when_absent):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html:
    # "If the policy condition requires that the key is not matched ... and the right key is not
    # present, the condition is true." So a Deny unless the boundary is set denies a role without one.
    from local.iam import parse_policy

    value = "arn:aws:iam::1:policy/b"
    doc = _one_statement("Deny", {op: {"iam:PermissionsBoundary": value}})
    policy = parse_policy("p", doc, resource_based=False, context_keys=["iam:PermissionsBoundary"])
    assert (_decide(policy, {}) == "Deny") is denied_when_absent


def test_policy_variables_resolve_in_resources_and_condition_values():
    from local.iam import parse_policy

    boundary = "arn:aws:iam::${aws:PrincipalAccount}:policy/b"
    doc = _one_statement("Allow", {"StringEquals": {"iam:PermissionsBoundary": boundary}},
                         resource="arn:aws:iam::${aws:PrincipalAccount}:role/r")  # fmt: skip
    policy = parse_policy("p", doc, resource_based=False, context_keys=["iam:PermissionsBoundary"],
                          variables={"aws:PrincipalAccount": "123456789012"})  # fmt: skip
    assert _decide(policy, {"iam:permissionsboundary": "arn:aws:iam::123456789012:policy/b"}) == "Allow"
    # Another account's policy of the same name is not the boundary, nor is another account's role.
    assert _decide(policy, {"iam:permissionsboundary": "arn:aws:iam::999999999999:policy/b"}) == "ImplicitDeny"
    assert _decide(policy, {"iam:permissionsboundary": "arn:aws:iam::123456789012:policy/b"},
                   resource="arn:aws:iam::999999999999:role/r") == "ImplicitDeny"  # fmt: skip
    with pytest.raises(PolicyError):  # a variable without a value fails closed
        parse_policy("p", doc, resource_based=False, context_keys=["iam:PermissionsBoundary"])


# --- the role's permissions boundary -----------------------------------------------------------


def test_the_template_role_is_bounded_by_edge_function_boundary_json():
    m = model()
    assert m.boundary is not None and m.boundary.name == "boundary mrap-edge-function-boundary"
    assert get(m).allowed and get(m, query={"versionId": ["v1"]}).allowed


def test_the_boundary_limits_what_the_roles_policies_allow(tmp_path, monkeypatch):
    from local.iam import access

    narrow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}  # fmt: skip
    path = tmp_path / "boundary.json"
    path.write_text(json.dumps(narrow))
    monkeypatch.setitem(access.BOUNDARY_FILES, "mrap-edge-function-boundary", path)
    m = model()
    assert get(m).allowed  # both allow it
    denied = get(m, query={"versionId": ["v1"]})  # the role's policy allows it, the boundary does not
    assert not denied.allowed and "permissions boundary" in denied.reason


def test_a_role_without_a_boundary_is_limited_by_its_policies_only():
    t = fresh()
    del t["Resources"]["EdgeFunctionRole"]["Properties"]["PermissionsBoundary"]
    m = model(t)
    assert m.boundary is None and get(m, query={"versionId": ["v1"]}).allowed


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:policy/someone-elses-boundary",
    "arn:aws:iam::999999999999:policy/mrap-edge-function-boundary",
    "arn:aws:iam::aws:policy/AdministratorAccess",
])  # fmt: skip
def test_a_boundary_we_do_not_have_fails_closed(arn):
    t = fresh()
    t["Resources"]["EdgeFunctionRole"]["Properties"]["PermissionsBoundary"] = arn
    with pytest.raises(TemplateError, match="permissions boundary"):
        model(t)
