"""cloudformation.template, parsed with CloudFormation's intrinsics understood."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local.intrinsics import Resolver, TemplateError
from local.template import TEMPLATE, load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE)


def resources(template: dict, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def one(template: dict, kind: str) -> dict:
    found = resources(template, kind)
    assert len(found) == 1, f"{kind}: {list(found)}"
    return next(iter(found.values()))["Properties"]


def dist(template: dict) -> dict:
    return one(template, "AWS::CloudFront::Distribution")["DistributionConfig"]


CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))


def test_cfn_lint_reports_nothing() -> None:
    proc = subprocess.run([CFN_LINT, str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov lives in .venv-tools (make lint-template creates it)")
def test_checkov_fails_nothing_unskipped() -> None:
    # The same check as make lint-template, run here beside the other tests rather than
    # before them (make test).
    proc = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--quiet", "--compact", "--skip-download"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template"
    broken.write_text(TEMPLATE.read_text().replace("Runtime: python3.13", "Runtime: python2.7"))
    proc = subprocess.run([CFN_LINT, str(broken)], capture_output=True, text=True)
    assert proc.returncode != 0 and "deprecated" in proc.stdout


def test_parameters_have_safe_defaults(template: dict) -> None:
    params = template["Parameters"]
    for required in ("S3BucketOneName", "S3BucketTwoName", "S3BucketDeployables"):
        assert "Default" not in params[required]
    assert params["PriceClass"]["Default"] == "PriceClass_100"
    assert params["FailoverOriginDomainName"]["Default"] == ""
    assert params["FailoverOn4xx"]["Default"] == "false"
    assert params["FailoverHeaderName"]["Default"] == "originTypeFailover"
    pattern = re.compile(params["MrapName"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("my-mrap-1")
    for bad in ("My-Mrap", "-mrap", "ab", "a" * 51, "mrap_1"):
        assert not pattern.fullmatch(bad), bad


def test_mrap_name_defaults_to_one_derived_from_the_stack_id(template: dict) -> None:
    name = one(template, "AWS::S3::MultiRegionAccessPoint")["Name"]["Fn::If"]
    assert name[0] == "HasMrapName" and name[1] == {"Ref": "MrapName"}
    derived = json.dumps(name[2])
    assert "AWS::StackId" in derived and "mrap-edge" in derived


def test_mrap_spans_both_buckets_with_public_access_blocked(template: dict) -> None:
    mrap = one(template, "AWS::S3::MultiRegionAccessPoint")
    assert mrap["Regions"] == [{"Bucket": {"Ref": "S3BucketOneName"}}, {"Bucket": {"Ref": "S3BucketTwoName"}}]
    assert all(mrap["PublicAccessBlockConfiguration"].values())


MRAP = "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}"
BUCKETS = ["arn:${AWS::Partition}:s3:::${S3BucketOneName}", "arn:${AWS::Partition}:s3:::${S3BucketTwoName}"]
ROLE_ARN = {"Fn::GetAtt": ["EdgeFunctionRole", "Arn"]}
STACK_ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack"
STACK_UUID = "0f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff"


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def actions(statement: dict, versions: bool = False) -> list[str]:
    """The statement's actions with AllowVersionReads no (the default) or yes."""
    found = []
    for action in as_list(statement["Action"]):
        if isinstance(action, dict):
            condition, yes, no = action["Fn::If"]
            assert condition == "AllowsVersionReads"
            action = yes if versions else no
        if action != {"Ref": "AWS::NoValue"}:
            found.append(action)
    return found


def subs(resources) -> list[str]:
    return [r["Fn::Sub"] if isinstance(r["Fn::Sub"], str) else r["Fn::Sub"][0] for r in as_list(resources)]


def mrap_statements(template: dict) -> list[dict]:
    """The lambda-edge branch of the MRAP policy (tests/template/test_signing_modes.py has oac's)."""
    policy = one(template, "AWS::S3::MultiRegionAccessPointPolicy")
    assert policy["MrapName"] == {"Ref": "Mrap"}
    condition, _oac, lambda_edge = policy["Policy"]["Statement"]["Fn::If"]
    assert condition == "SignsWithOac"
    return lambda_edge


def denied(statements: list[dict], principal: str, action: str, resource: str, role: str) -> bool:
    """Whether an explicit Deny in the policy matches (ArnNotEquals on aws:PrincipalArn)."""
    for st in statements:
        if st["Effect"] != "Deny" or st["Principal"] != "*":
            continue
        if not any(fnmatch.fnmatchcase(action, a) for a in as_list(st["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in subs(st["Resource"])):
            continue
        [(operator, condition)] = st["Condition"].items()
        [(key, value)] = condition.items()
        assert operator == "ArnNotEquals" and key == "aws:PrincipalArn" and value == ROLE_ARN
        if principal != role:
            return True
    return False


def test_mrap_policy_denies_reads_to_every_principal_but_the_role(template: dict) -> None:
    statements = mrap_statements(template)
    role, admin = "<role>", "arn:aws:iam::123456789012:role/Admin"
    reads = [("s3:GetObject", MRAP + "/object/index.html"), ("s3:GetObjectVersion", MRAP + "/object/k"),
             ("s3:GetObjectAcl", MRAP + "/object/k"), ("s3:ListBucket", MRAP)]  # fmt: skip
    for action, resource in reads:
        assert denied(statements, admin, action, resource, role), action
        assert not denied(statements, role, action, resource, role), action
    # Administrators keep managing (and deleting) the MRAP, and writing through it.
    for action in ("s3:PutMultiRegionAccessPointPolicy", "s3:GetMultiRegionAccessPointPolicy",
                   "s3:DeleteMultiRegionAccessPoint", "s3:SubmitMultiRegionAccessPointRoutes",
                   "s3:GetMultiRegionAccessPointRoutes", "s3:PutObject"):  # fmt: skip
        assert not denied(statements, admin, action, MRAP, role), action
        assert not denied(statements, admin, action, MRAP + "/object/k", role), action


def test_mrap_policy_conditions_stay_within_what_the_local_model_evaluates(template: dict) -> None:
    supported = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals",
                 "ArnLike", "ArnNotLike", "Bool"}  # fmt: skip
    for st in mrap_statements(template):
        for operator, condition in st.get("Condition", {}).items():
            assert operator in supported and set(condition) == {"aws:PrincipalArn"}


@pytest.mark.parametrize("versions", [False, True])
def test_mrap_policy_allows_the_role_what_it_needs(template: dict, versions: bool) -> None:
    allows = [st for st in mrap_statements(template) if st["Effect"] == "Allow"]
    granted = {(a, r) for st in allows for a in actions(st, versions) for r in subs(st["Resource"])}
    assert all(st["Principal"] == {"AWS": ROLE_ARN} for st in allows)
    expected = {("s3:GetObject", MRAP + "/object/*"), ("s3:ListBucket", MRAP)}
    if versions:  # old versions only with AllowVersionReads: a third layer behind the cache policy and the function
        expected.add(("s3:GetObjectVersion", MRAP + "/object/*"))
    assert granted == expected


def role_statements(template: dict) -> list[dict]:
    role = one(template, "AWS::IAM::Role")
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("versions", [False, True])
def test_role_is_least_privilege(template: dict, versions: bool) -> None:
    role = one(template, "AWS::IAM::Role")
    principals = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(principals) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    assert "ManagedPolicyArns" not in role
    statements = role_statements(template)
    granted = sorted(a for s in statements for a in actions(s, versions))
    expected = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:ListBucket"]
    assert granted == sorted(expected + ["s3:GetObjectVersion"] * versions)
    for statement in statements:
        assert statement["Effect"] == "Allow" and "Condition" not in statement
        for resource in subs(statement["Resource"]):
            assert resource != "*" and not resource.endswith(":*:*")


def test_role_has_a_path_not_a_name_and_an_optional_boundary(template: dict) -> None:
    # A RoleName needs CAPABILITY_NAMED_IAM, which the sample's create-stack does not pass; a
    # path keeps the role ARN under role/mrap-edge/ for deployer-policy.json.
    role = one(template, "AWS::IAM::Role")
    assert "RoleName" not in role and role["Path"] == "/mrap-edge/"
    assert template["Parameters"]["FunctionPermissionsBoundary"]["Default"] == ""
    stack_id = f"{STACK_ARN}/mrap-edge/{STACK_UUID}"
    for boundary, expected in (("", None), ("team-boundary", "arn:aws:iam::123456789012:policy/team-boundary")):
        stack = Resolver(template, params={"FunctionPermissionsBoundary": boundary}, pseudo={"AWS::StackId": stack_id})
        resolved = stack.resolve({"PermissionsBoundary": role["PermissionsBoundary"]})
        assert resolved.get("PermissionsBoundary") == expected


def test_role_reads_objects_and_lists_in_the_forms_s3_checks_through_an_mrap(template: dict) -> None:
    grants: dict[str, list[str]] = {}
    for statement in role_statements(template):
        for action in actions(statement, versions=True):
            grants.setdefault(action, []).extend(subs(statement["Resource"]))
    objects = [MRAP + "/object/*"] + [b + "/*" for b in BUCKETS]
    assert grants["s3:GetObject"] == objects
    assert grants["s3:GetObjectVersion"] == objects  # ?versionId= needs it (with AllowVersionReads)
    assert grants["s3:ListBucket"] == [MRAP, *BUCKETS]  # a missing key is a 404, not a 403


def test_log_permission_names_the_function_whatever_the_stack(template: dict) -> None:
    [logs] = [s for s in role_statements(template) if actions(s)[0].startswith("logs:")]
    fn = template["Resources"]["EdgeFunction"]["Properties"]
    for stack_name in ("mrap-edge", "s" * 128):
        stack_id = (
            f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack_name}/0f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff"
        )
        stack = Resolver(template, pseudo={"AWS::StackName": stack_name, "AWS::StackId": stack_id})
        name = stack.resolve(fn["FunctionName"])
        assert name == "mrap-edge-0f1e2d3c-signer"
        assert stack.resolve(logs["Resource"]) == [
            f"arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.{name}:*",
            f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{name}:*",
        ]


def log_stream_arn(region: str, group: str) -> str:
    return f"arn:aws:logs:{region}:123456789012:log-group:{group}:log-stream:2026/12/02/[$LATEST]0123abcd"


def test_console_test_invocations_in_us_east_1_may_write_their_logs(template: dict) -> None:
    # A test from the Lambda console runs the function itself in us-east-1, which logs to
    # /aws/lambda/<name> (not us-east-1.<name>): without this grant it would leave no logs.
    [logs] = [s for s in role_statements(template) if actions(s)[0].startswith("logs:")]
    stack_id = f"{STACK_ARN}/mrap-edge/{STACK_UUID}"
    stack = Resolver(template, pseudo={"AWS::StackName": "mrap-edge", "AWS::StackId": stack_id})
    granted = stack.resolve(logs["Resource"])
    name = stack.resolve(template["Resources"]["EdgeFunction"]["Properties"]["FunctionName"])

    def allowed(arn: str) -> bool:
        return any(fnmatch.fnmatchcase(arn, pattern) for pattern in granted)

    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert action in logs["Action"]
    assert allowed(log_stream_arn("us-east-1", f"/aws/lambda/{name}"))  # the console's test run
    assert allowed(log_stream_arn("eu-west-1", f"/aws/lambda/us-east-1.{name}"))  # a replica at the edge
    # Nothing wider: not another function's group, not the plain name outside us-east-1.
    assert not allowed(log_stream_arn("us-east-1", "/aws/lambda/mrap-edge-ffffffff-signer"))
    assert not allowed(log_stream_arn("eu-west-1", f"/aws/lambda/{name}"))


def test_code_key_defaults_to_the_original_samples_upload_path(template: dict) -> None:
    # Users of the sample upload to s3://$BUCKET/lambdapackage/deployment-package.zip and pass
    # no LambdaCodeKey (docs/deploy.md): any other default fails their stack with NoSuchKey.
    assert template["Parameters"]["LambdaCodeKey"]["Default"] == "lambdapackage/deployment-package.zip"


def test_function_fits_lambda_at_edge(template: dict) -> None:
    given = {"EdgeFunctionRole.Arn": "arn:aws:iam::123456789012:role/r1"}
    fn = Resolver(template, params={"S3BucketDeployables": "deployables"}, attributes=given).resolve(
        one(template, "AWS::Lambda::Function")
    )
    assert fn["Runtime"] == "python3.13" and fn["Architectures"] == ["x86_64"]
    assert fn["Handler"] == "lambda_function.lambda_handler"
    assert "Environment" not in fn and "VpcConfig" not in fn and "Layers" not in fn
    assert fn["Timeout"] == "5" and fn["MemorySize"] == "1024"
    raw = one(template, "AWS::Lambda::Function")
    assert raw["Code"] == {"S3Bucket": {"Ref": "S3BucketDeployables"}, "S3Key": {"Ref": "LambdaCodeKey"}}


def test_a_value_nobody_gave_is_an_error_not_a_placeholder(template: dict) -> None:
    fn = one(template, "AWS::Lambda::Function")
    with pytest.raises(TemplateError, match="S3BucketDeployables"):  # a required parameter
        Resolver(template).resolve(fn["Code"])
    with pytest.raises(TemplateError, match=r"EdgeFunctionRole\.Arn"):  # a resource's attribute
        Resolver(template).resolve(fn["Role"])
    with pytest.raises(TemplateError, match="Fn::Base64"):  # an intrinsic not modelled
        Resolver(template).resolve({"Fn::Base64": "x"})


def test_memory_and_timeout_parameters_admit_exactly_what_lambda_at_edge_allows(template: dict) -> None:
    memory = re.compile(template["Parameters"]["FunctionMemorySize"]["AllowedPattern"])
    timeout = re.compile(template["Parameters"]["FunctionTimeout"]["AllowedPattern"])
    assert {n for n in range(20000) if memory.fullmatch(str(n))} == set(range(128, 10241))
    assert {n for n in range(100) if timeout.fullmatch(str(n))} == set(range(1, 31))
    for bad in ("01024", "1024.0", " 1024", "1e3", "", "-5"):
        assert not memory.fullmatch(bad) and not timeout.fullmatch(bad.replace("1024", "5"))


def test_old_versions_are_retained_because_cloudfront_still_runs_them(template: dict) -> None:
    [version] = resources(template, "AWS::Lambda::Version").values()
    assert version["DeletionPolicy"] == "Retain" and version["UpdateReplacePolicy"] == "Retain"
    assert version["Properties"]["FunctionName"] == {"Ref": "EdgeFunction"}
    assert version["Properties"]["CodeSha256"]["Fn::If"][1] == {"Ref": "LambdaCodeSha256"}


# What each frozen setting of the function is made of, and a different value for it.
FROZEN_INPUTS = {
    "S3BucketDeployables": ("param", "other-deployables"),
    "LambdaCodeKey": ("param", "mrap-edge/other.zip"),
    "FunctionMemorySize": ("param", "2048"),
    "FunctionTimeout": ("param", "6"),
    "Runtime": ("mapping", "python3.12"),
    "Architecture": ("mapping", "arm64"),
    "Handler": ("mapping", "other.handler"),
    "EdgeFunctionRole": ("role", "AROAOTHERROLEEXAMPLE9"),
}
FROZEN = ("Code", "MemorySize", "Timeout", "Runtime", "Architectures", "Handler", "Role")


def _stack(template: dict, change: str | None = None) -> Resolver:
    params = {"S3BucketDeployables": "deployables", "LambdaCodeKey": "mrap-edge/a.zip"}
    mapping = json.loads(json.dumps(template["Mappings"]))
    role = {
        "EdgeFunctionRole.Arn": "arn:aws:iam::123456789012:role/r1",
        "EdgeFunctionRole.RoleId": "AROAEXAMPLEROLEID0001",
    }
    if change is not None:
        kind, value = FROZEN_INPUTS[change]
        if kind == "param":
            params[change] = value
        elif kind == "mapping":
            mapping["Function"]["Settings"][change] = value
        else:
            role = {"EdgeFunctionRole.Arn": "arn:aws:iam::123456789012:role/r2", "EdgeFunctionRole.RoleId": value}
    return Resolver(template, params=params, attributes=role, mappings=mapping)


def test_every_setting_a_version_freezes_publishes_a_new_version(template: dict) -> None:
    fn = template["Resources"]["EdgeFunction"]["Properties"]
    description = template["Resources"]["EdgeFunctionVersion"]["Properties"]["Description"]
    base = _stack(template)
    changed_settings = set()
    for change in FROZEN_INPUTS:
        stack = _stack(template, change)
        settings = {name for name in FROZEN if stack.resolve(fn[name]) != base.resolve(fn[name])}
        assert settings, f"{change} feeds no frozen setting"
        changed_settings |= settings
        # The function changes, so the version's replacement property must change too.
        assert stack.resolve(description) != base.resolve(description), change
    assert changed_settings == set(FROZEN)  # every frozen setting was exercised


def test_version_description_fits_256_characters_in_the_worst_case(template: dict) -> None:
    params = template["Parameters"]
    assert params["LambdaCodeKey"]["MaxLength"] == 100
    worst = {
        "S3BucketDeployables": "b" * 63,  # S3's longest bucket name
        "LambdaCodeKey": "k" * params["LambdaCodeKey"]["MaxLength"],
        "FunctionMemorySize": "10240",
        "FunctionTimeout": "30",
    }
    for name in ("S3BucketDeployables",):
        assert re.fullmatch(params[name]["AllowedPattern"], worst[name])
    # A role's unique id is "AROA" and 17 more characters.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
    stack = Resolver(template, params=worst, attributes={"EdgeFunctionRole.RoleId": "AROA" + "X" * 17})
    description = stack.resolve(template["Resources"]["EdgeFunctionVersion"]["Properties"]["Description"])
    assert "<" not in description and len(description) <= 256, (len(description), description)


def test_rule_refuses_every_region_but_us_east_1(template: dict) -> None:
    [rule] = template["Rules"].values()
    [assertion] = rule["Assertions"]
    assert "RuleCondition" not in rule
    assert "us-east-1" in assertion["AssertDescription"] and "Lambda@Edge" in assertion["AssertDescription"]
    for region, ok in (("us-east-1", True), ("eu-west-1", False), ("us-east-2", False)):
        assert Resolver(template, pseudo={"AWS::Region": region}).resolve(assertion["Assert"]) is ok


def test_names_aws_limits_fit_with_the_longest_stack_name(template: dict) -> None:
    stack_id = (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/" + "s" * 128 + "/0f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff"
    )
    stack = Resolver(template, pseudo={"AWS::StackName": "s" * 128, "AWS::StackId": stack_id})
    res = template["Resources"]
    limits = [
        (res["EdgeFunction"]["Properties"]["FunctionName"], 64),
        (res["CachePolicy"]["Properties"]["CachePolicyConfig"]["Name"], 128),
        (res["ResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["Name"], 128),
        (res["Distribution"]["Properties"]["DistributionConfig"]["Comment"], 128),
        (res["Mrap"]["Properties"]["Name"], 50),
    ]
    names = [stack.resolve(value) for value, _ in limits]
    for name, (_, limit) in zip(names, limits, strict=True):
        assert 3 <= len(name) <= limit and "0f1e2d3c" in name, name
    assert len(set(names)) == len(names)


def test_distribution_is_https_http3_and_read_only(template: dict) -> None:
    config = dist(template)
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["HttpVersion"] == "http2and3"
    assert Resolver(template).resolve(behavior["AllowedMethods"]) == ["GET", "HEAD", "OPTIONS"]
    assert config["DefaultRootObject"] == "index.html"
    assert "ForwardedValues" not in behavior and "MinTTL" not in behavior
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": "ResponseHeadersPolicy"}


def test_function_is_associated_by_version_on_origin_request(template: dict) -> None:
    condition, associations, none = dist(template)["DefaultCacheBehavior"]["LambdaFunctionAssociations"]["Fn::If"]
    assert condition == "SignsWithLambdaEdge" and none == {"Ref": "AWS::NoValue"}
    [association] = associations
    assert association == {
        "EventType": "origin-request",
        "LambdaFunctionARN": {"Ref": "EdgeFunctionVersion"},
        "IncludeBody": False,
    }


def test_mrap_origin_is_tls12_custom_origin(template: dict) -> None:
    mrap = dist(template)["Origins"][0]
    assert mrap["DomainName"] == {"Fn::Sub": "${Mrap.Alias}.accesspoint.s3-global.amazonaws.com"}
    custom = mrap["CustomOriginConfig"]
    assert custom["OriginProtocolPolicy"] == "https-only" and custom["OriginSSLProtocols"] == ["TLSv1.2"]
    # One custom header only: the function's allowlist (tests/template/test_viewer_defaults.py).
    assert [h["HeaderName"] for h in mrap["OriginCustomHeaders"]] == ["x-mrap-edge-allow"]


def test_cache_policy_forwards_the_query_strings_the_signer_supports(template: dict) -> None:
    config = one(template, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    assert config["DefaultTTL"] > 0
    # Every opt-in (tests/template/test_viewer_defaults.py has each choice).
    opted_in = {
        "AllowVersionReads": "yes",
        "AllowedResponseOverrides": "response-content-disposition,response-content-type",
    }
    qs = Resolver(template, params=opted_in).resolve(config["ParametersInCacheKeyAndForwardedToOrigin"])[
        "QueryStringsConfig"
    ]
    assert qs["QueryStringBehavior"] == "whitelist"
    assert {"versionId", "partNumber", "response-content-disposition", "response-content-type"} <= set(
        qs["QueryStrings"]
    )
    assert len(qs["QueryStrings"]) <= 10  # CloudFront's limit


def test_cache_policy_never_overrides_no_store(template: dict) -> None:
    # A MinTTL above 0 makes CloudFront cache a no-store response anyway.
    assert one(template, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]["MinTTL"] == 0


def test_the_query_whitelist_forwards_no_sub_resource(template: dict) -> None:
    from mrap_edge.decide import SUBRESOURCES

    config = one(template, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    names = Resolver(template).resolve(config["ParametersInCacheKeyAndForwardedToOrigin"])["QueryStringsConfig"]
    assert names["QueryStrings"] and not {n.lower() for n in names["QueryStrings"]} & SUBRESOURCES


def error_ttls(template: dict) -> dict[int, int]:
    responses = dist(template)["CustomErrorResponses"]
    ttls = {r["ErrorCode"]: r["ErrorCachingMinTTL"] for r in responses}
    assert len(ttls) == len(responses)
    for r in responses:  # cache settings only: no custom page replaces S3's or the function's answer
        assert set(r) == {"ErrorCode", "ErrorCachingMinTTL"}
    return ttls


def test_server_errors_are_never_cached(template: dict) -> None:
    ttls = error_ttls(template)
    for code in (500, 501, 502, 503, 504):  # the function's 502, Lambda's 503, the MRAP's 5xx
        assert ttls[code] == 0, code


def test_errors_that_may_be_signing_or_credential_faults_are_never_cached(template: dict) -> None:
    # S3 answers SignatureDoesNotMatch, RequestTimeTooSkewed, InvalidAccessKeyId (403)
    # and ExpiredToken, InvalidToken (400): transient, never to be served to others.
    ttls = error_ttls(template)
    assert ttls[400] == 0 and ttls[403] == 0


def test_missing_keys_are_cached_briefly(template: dict) -> None:
    ttls = error_ttls(template)
    assert 0 < ttls[404] <= 10
    assert 416 not in ttls  # CloudFront never caches a 416: a TTL for it would be a false promise


def test_every_error_the_function_generates_has_a_cache_rule(template: dict) -> None:
    from mrap_edge.responses import GENERATED_ERRORS

    ttls = error_ttls(template)
    assert set(GENERATED_ERRORS) <= set(ttls)
    for code in set(GENERATED_ERRORS) - {404}:  # refusals computed from the request itself
        assert ttls[code] == 0, code


def test_no_origin_request_policy_forwards_viewer_headers(template: dict) -> None:
    # The MRAP does nothing with Origin or Access-Control-Request-*, and the viewer's
    # Host would break the signature: forward nothing beyond the cache key.
    assert not resources(template, "AWS::CloudFront::OriginRequestPolicy")
    assert "OriginRequestPolicyId" not in dist(template)["DefaultCacheBehavior"]


def test_options_is_allowed_and_cached_because_the_function_answers_it_the_same_for_all(template: dict) -> None:
    behavior = dist(template)["DefaultCacheBehavior"]
    methods = [Resolver(template).resolve(behavior[k]) for k in ("AllowedMethods", "CachedMethods")]  # lambda-edge
    assert all("OPTIONS" in m for m in methods)
    cache = one(template, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    # Nothing viewer-specific in the key: the 204 carries no CORS header of its own.
    assert cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"] == {"HeaderBehavior": "none"}


def cors(template: dict, origins: str):
    policy = one(template, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    return Resolver(template, params={"CorsAllowedOrigins": origins}).resolve(policy).get("CorsConfig")


def test_cors_headers_come_from_the_response_headers_policy_only_when_asked(template: dict) -> None:
    assert template["Parameters"]["CorsAllowedOrigins"]["Default"] == ""
    assert cors(template, "") is None  # no CORS: a preflight gets a bare 204, which browsers treat as denied
    config = cors(template, "https://app.example.com,https://*.example.org")
    assert config["AccessControlAllowOrigins"] == {"Items": ["https://app.example.com", "https://*.example.org"]}
    assert config["AccessControlAllowMethods"] == {"Items": ["GET", "HEAD"]}
    assert config["AccessControlAllowCredentials"] is False and config["OriginOverride"] is True
    assert cors(template, "*")["AccessControlAllowOrigins"] == {"Items": ["*"]}


def test_cors_origins_parameter_refuses_what_cloudfront_would(template: dict) -> None:
    pattern = re.compile(template["Parameters"]["CorsAllowedOrigins"]["AllowedPattern"])
    for good in ("", "*", "https://a.example.com", "http://localhost:3000", "https://a.example,https://*.b.example"):
        assert pattern.fullmatch(good), good
    for bad in ("https://a.example, https://b.example", "a.example", "https://a.example/path", "*,https://a.example",
                "https://a.example,", ","):  # fmt: skip
        assert not pattern.fullmatch(bad), bad


def test_security_headers_stay(template: dict) -> None:
    policy = one(template, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["Override"] and security["FrameOptions"]["FrameOption"] == "DENY"


def test_failover_origin_group_and_header(template: dict) -> None:
    config = dist(template)
    condition, failover, no_value = config["Origins"][1]["Fn::If"]
    assert condition == "HasFailover" and no_value == {"Ref": "AWS::NoValue"}
    assert failover["OriginCustomHeaders"] == [{"HeaderName": {"Ref": "FailoverHeaderName"}, "HeaderValue": "true"}]
    groups = config["OriginGroups"]["Fn::If"]
    assert groups[0] == "HasFailover"
    group = groups[1]["Items"][0]
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["mrap", "failover"]
    with_4xx, without = group["FailoverCriteria"]["StatusCodes"]["Fn::If"][1:]
    assert without == {"Quantity": 4, "Items": [500, 502, 503, 504]}
    assert with_4xx == {"Quantity": 6, "Items": [403, 404, 500, 502, 503, 504]}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == {"Fn::If": ["HasFailover", "mrap-with-failover", "mrap"]}


def test_outputs_used_by_the_readme(template: dict) -> None:
    outputs = template["Outputs"]
    for name in ("CloudFrontDns", "S3BucketOneName", "S3BucketTwoName", "MrapAlias", "MrapArn",
                 "FunctionName", "FunctionVersionArn", "DistributionId"):  # fmt: skip
        assert name in outputs
    assert outputs["FunctionName"]["Value"] == {"Ref": "EdgeFunction"}
    assert outputs["FunctionVersionArn"]["Value"] == {"Ref": "EdgeFunctionVersion"}
    assert outputs["CloudFrontDns"]["Value"] == {"Fn::Sub": "https://${Distribution.DomainName}"}


def test_checkov_skips_carry_a_reason(template: dict) -> None:
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]) and len(skip["comment"]) > 20, name


def test_local_edge_uses_the_template_settings(template: dict) -> None:
    from local.template import edge_settings

    settings = edge_settings(template)
    assert settings.allowed_methods == {"GET", "HEAD", "OPTIONS"}
    assert settings.failover_codes == {500, 502, 503, 504}
    assert settings.failover_header == "originTypeFailover"
    config = json.loads((ROOT / "lambda" / "config.json").read_text())
    assert config["failover_header"] == settings.failover_header  # package and template agree
