"""cloudformation.template, parsed with CloudFormation's intrinsics understood."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template"
    broken.write_text(TEMPLATE.read_text().replace("Runtime: python3.13", "Runtime: python2.7"))
    proc = subprocess.run([CFN_LINT, str(broken)], capture_output=True, text=True)
    assert proc.returncode != 0 and "python2.7" in proc.stdout


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


def test_mrap_policy_lets_only_the_role_get_objects(template: dict) -> None:
    policy = one(template, "AWS::S3::MultiRegionAccessPointPolicy")
    assert policy["MrapName"] == {"Ref": "Mrap"}
    [statement] = policy["Policy"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "s3:GetObject"
    assert statement["Principal"] == {"AWS": {"Fn::GetAtt": ["EdgeFunctionRole", "Arn"]}}
    assert statement["Resource"] == {"Fn::Sub": "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}/object/*"}


def test_role_is_least_privilege(template: dict) -> None:
    role = one(template, "AWS::IAM::Role")
    principals = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(principals) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    assert "ManagedPolicyArns" not in role
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources_:
            text = resource["Fn::Sub"]
            assert text != "*" and not text.endswith(":*:*")
    s3 = next(s for s in statements if s["Action"] == "s3:GetObject")
    assert [r["Fn::Sub"] for r in s3["Resource"]] == [
        "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}/object/*",
        "arn:${AWS::Partition}:s3:::${S3BucketOneName}/*",
        "arn:${AWS::Partition}:s3:::${S3BucketTwoName}/*",
    ]


def test_function_fits_lambda_at_edge(template: dict) -> None:
    fn = one(template, "AWS::Lambda::Function")
    assert fn["Runtime"] == "python3.13" and fn["Architectures"] == ["x86_64"]
    assert fn["Handler"] == "lambda_function.lambda_handler"
    assert "Environment" not in fn and "VpcConfig" not in fn and "Layers" not in fn
    assert fn["Code"] == {"S3Bucket": {"Ref": "S3BucketDeployables"}, "S3Key": {"Ref": "LambdaCodeKey"}}
    assert fn["Timeout"] <= 30 and 128 <= fn["MemorySize"] <= 10240


def test_version_is_republished_when_the_code_changes(template: dict) -> None:
    version = one(template, "AWS::Lambda::Version")
    assert version["FunctionName"] == {"Ref": "EdgeFunction"}
    assert "${LambdaCodeKey}" in version["Description"]["Fn::Sub"]  # a replacement property
    assert version["CodeSha256"]["Fn::If"][1] == {"Ref": "LambdaCodeSha256"}


def test_distribution_is_https_http3_and_read_only(template: dict) -> None:
    config = dist(template)
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["HttpVersion"] == "http2and3"
    assert behavior["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert config["DefaultRootObject"] == "index.html"
    assert "ForwardedValues" not in behavior and "MinTTL" not in behavior
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_function_is_associated_by_version_on_origin_request(template: dict) -> None:
    [association] = dist(template)["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
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
    assert "OriginCustomHeaders" not in mrap


def test_cache_policy_forwards_the_query_strings_the_signer_supports(template: dict) -> None:
    config = one(template, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    assert config["MinTTL"] > 0 and config["DefaultTTL"] > 0
    qs = config["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"]
    assert qs["QueryStringBehavior"] == "whitelist"
    assert {"versionId", "partNumber", "response-content-disposition", "response-content-type"} <= set(
        qs["QueryStrings"]
    )
    assert len(qs["QueryStrings"]) <= 10  # CloudFront's limit


def test_origin_request_policy_never_forwards_the_viewer_host(template: dict) -> None:
    config = one(template, "AWS::CloudFront::OriginRequestPolicy")["OriginRequestPolicyConfig"]
    headers = config["HeadersConfig"]
    assert headers["HeaderBehavior"] == "whitelist"
    assert "host" not in {h.lower() for h in headers["Headers"]}


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
                 "FunctionVersionArn", "DistributionId"):  # fmt: skip
        assert name in outputs
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
