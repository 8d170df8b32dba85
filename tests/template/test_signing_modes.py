"""cloudformation.template's two signing modes: lambda-edge (the default) and oac.

Each mode is checked as CloudFormation would deploy it: cfn-lint on the template with that
mode as the default, and the intrinsics resolved for that mode (``local.intrinsics``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.intrinsics import Resolver
from local.template import TEMPLATE, load_template

CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
ACCOUNT = "123456789012"
DIST_ID = "E2EXAMPLE42"
DIST_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DIST_ID}"
ALIAS = "mfzwi23gnjvgw.mrap"
MRAP = f"arn:aws:s3::{ACCOUNT}:accesspoint/{ALIAS}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/signer"
ATTRIBUTES = {
    "Mrap": "mrap-edge-51af3dc0",
    "Mrap.Alias": ALIAS,
    "Distribution": DIST_ID,
    "Distribution.DomainName": "d111111abcdef8.cloudfront.net",
    "CachePolicy": "cache-policy-id",
    "ResponseHeadersPolicy": "headers-policy-id",
    "OriginAccessControl.Id": "E1OACEXAMPLE",
    "EdgeFunction": "mrap-edge-51af3dc0-signer",
    "EdgeFunctionVersion": "arn:aws:lambda:us-east-1:123456789012:function:mrap-edge-51af3dc0-signer:1",
    "EdgeFunctionRole.Arn": ROLE_ARN,
    "EdgeFunctionRole.RoleId": "AROAEXAMPLEROLEID0001",
}
MODES = ("lambda-edge", "oac")
SIGNER = {"EdgeFunctionRole", "EdgeFunction", "EdgeFunctionVersion"}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE)


def stack(template: dict, mode: str, **params: str) -> Resolver:
    values = {"S3BucketOneName": "one", "S3BucketTwoName": "two", "S3BucketDeployables": "deployables"}
    return Resolver(template, params={**values, **params, "SigningMode": mode}, attributes=ATTRIBUTES)


def with_default_mode(tmp_path: Path, mode: str) -> Path:
    text = TEMPLATE.read_text()
    old = "    Default: lambda-edge\n    AllowedValues: [lambda-edge, oac]\n"
    assert text.count(old) == 1
    path = tmp_path / f"{mode}.template"
    path.write_text(text.replace(old, old.replace("lambda-edge\n", f"{mode}\n", 1)))
    return path


@pytest.mark.parametrize("mode", MODES)
def test_cfn_lint_reports_nothing_in_either_mode(tmp_path: Path, mode: str) -> None:
    path = with_default_mode(tmp_path, mode)
    assert f"Default: {mode}\n" in path.read_text()
    proc = subprocess.run([CFN_LINT, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_checks_the_origin_access_control(tmp_path: Path) -> None:
    path = with_default_mode(tmp_path, "oac")
    path.write_text(path.read_text().replace("SigningProtocol: sigv4a", "SigningProtocol: sigv5"))
    proc = subprocess.run([CFN_LINT, str(path)], capture_output=True, text=True)
    assert proc.returncode != 0 and "sigv5" in proc.stdout


def test_the_mode_is_a_closed_choice_defaulting_to_today(template: dict) -> None:
    param = template["Parameters"]["SigningMode"]
    assert param["Default"] == "lambda-edge" and param["AllowedValues"] == list(MODES)


def created(template: dict, mode: str) -> set[str]:
    r = stack(template, mode)
    return {name for name in template["Resources"] if r.exists(name)}


def test_lambda_edge_creates_the_signer_and_no_origin_access_control(template: dict) -> None:
    names = created(template, "lambda-edge")
    assert SIGNER <= names and "OriginAccessControl" not in names


def test_oac_creates_the_origin_access_control_and_no_function(template: dict) -> None:
    names = created(template, "oac")
    assert "OriginAccessControl" in names and not SIGNER & names
    # Everything else is the same stack.
    assert names - {"OriginAccessControl"} == created(template, "lambda-edge") - SIGNER


def test_origin_access_control_signs_with_sigv4a_always_as_s3(template: dict) -> None:
    oac = template["Resources"]["OriginAccessControl"]
    assert oac["Condition"] == "SignsWithOac"
    config = stack(template, "oac").resolve(oac["Properties"]["OriginAccessControlConfig"])
    assert config["SigningProtocol"] == "sigv4a"
    assert config["SigningBehavior"] == "always"
    assert config["OriginAccessControlOriginType"] == "s3"
    assert len(config["Name"]) <= 64


def distribution(template: dict, mode: str, **params: str) -> dict:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return stack(template, mode, **params).resolve(config)


def mrap_origin(config: dict) -> dict:
    [origin] = [o for o in config["Origins"] if o["Id"] == "mrap"]
    return origin


def test_oac_is_attached_to_the_mrap_origin_and_no_function_is_associated(template: dict) -> None:
    config = distribution(template, "oac")
    assert mrap_origin(config)["OriginAccessControlId"] == ATTRIBUTES["OriginAccessControl.Id"]
    assert "LambdaFunctionAssociations" not in config["DefaultCacheBehavior"]
    # The MRAP serves no OPTIONS and no function answers it: CloudFront refuses it.
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]


def test_lambda_edge_associates_the_function_and_attaches_no_oac(template: dict) -> None:
    config = distribution(template, "lambda-edge")
    assert "OriginAccessControlId" not in mrap_origin(config)
    [association] = config["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
    assert association["EventType"] == "origin-request"
    assert association["LambdaFunctionARN"] == ATTRIBUTES["EdgeFunctionVersion"]


@pytest.mark.parametrize("failover", ["", "static.example.com"])
def test_failover_cache_headers_and_errors_are_the_same_in_both_modes(template: dict, failover: str) -> None:
    configs = {m: distribution(template, m, FailoverOriginDomainName=failover) for m in MODES}
    for config in configs.values():
        mrap_origin(config).pop("OriginAccessControlId", None)
        behavior = config["DefaultCacheBehavior"]
        for differs in ("LambdaFunctionAssociations", "AllowedMethods", "CachedMethods"):
            behavior.pop(differs, None)
        config.pop("Comment")
    assert configs["oac"] == configs["lambda-edge"]
    assert ("OriginGroups" in configs["oac"]) == bool(failover)


def mrap_policy(template: dict, mode: str) -> list[dict]:
    policy = template["Resources"]["MrapPolicy"]["Properties"]["Policy"]
    return stack(template, mode).resolve(policy)["Statement"]


def test_oac_mrap_policy_lets_only_this_distribution_read(template: dict) -> None:
    statements = mrap_policy(template, "oac")
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "cloudfront.amazonaws.com"}]
    [allow] = allows
    assert sorted(allow["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]  # read actions only
    assert allow["Resource"] == MRAP + "/object/*"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": DIST_ARN}}
    assert ROLE_ARN not in json.dumps(statements)  # no trace of the function's role


def test_oac_mrap_policy_denies_reads_without_this_distributions_source_arn(template: dict) -> None:
    [deny] = [s for s in mrap_policy(template, "oac") if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert set(deny["Resource"]) == {MRAP, MRAP + "/object/*"}
    assert set(deny["Action"]) == {"s3:GetObject*", "s3:ListBucket"}
    # StringNotEquals also matches a request without the key: every IAM principal.
    assert deny["Condition"] == {"StringNotEquals": {"AWS:SourceArn": DIST_ARN}}


def test_lambda_edge_mrap_policy_names_no_cloudfront_principal(template: dict) -> None:
    text = json.dumps(mrap_policy(template, "lambda-edge"))
    assert "cloudfront.amazonaws.com" not in text and ROLE_ARN in text


@pytest.mark.parametrize("mode", MODES)
def test_outputs_per_mode(template: dict, mode: str) -> None:
    r = stack(template, mode)
    outputs = {k for k, v in template["Outputs"].items() if "Condition" not in v or r.condition(v["Condition"])}
    assert r.resolve(template["Outputs"]["SigningMode"]["Value"]) == mode
    signer = {"FunctionName", "FunctionVersionArn"}
    if mode == "oac":
        assert "OriginAccessControlId" in outputs and not signer & outputs
    else:
        assert signer <= outputs and "OriginAccessControlId" not in outputs
