"""The signing-mode preflight (scripts/preflight.sh, scripts/signing_mode.py) and how
deploy.sh uses it: SIGNING=auto|oac|lambda-edge, the live schema check, a mode switch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_harness import ROOT, Aws, arg, ops, run, seed_stack

sys.path.insert(0, str(ROOT / "scripts"))
import signing_mode as sm

DEFAULT = "ENABLED_BY_DEFAULT"
BUCKETS = {"bucket-eu": {"region": "eu-west-1"}, "bucket-ap": {"region": "ap-southeast-2"}}


# --- the decision, pure ---------------------------------------------------------------


def facts(regions: dict[str, str], statuses: dict[str, str] | None = None, **kw) -> sm.Facts:
    base = {"us-east-1": DEFAULT, "eu-west-1": DEFAULT, "ap-southeast-2": DEFAULT, "ap-east-1": "ENABLED"}
    return sm.Facts(regions, base | (statuses or {}), **kw)


def test_all_buckets_in_default_regions_fit_oac() -> None:
    decision = sm.decide(facts({"a": "eu-west-1", "b": "ap-southeast-2"}))
    assert decision.mode == "oac"
    assert any("a: eu-west-1" in line and "b: ap-southeast-2" in line for line in decision.why)


@pytest.mark.parametrize("status", ["ENABLED", "ENABLING", "DISABLING", "DISABLED"])
def test_a_bucket_in_an_opt_in_region_needs_lambda_edge(status: str) -> None:
    decision = sm.decide(facts({"a": "eu-west-1", "b": "ap-east-1"}, {"ap-east-1": status}))
    assert decision.mode == "lambda-edge"
    [why] = decision.why
    assert "bucket b is in ap-east-1" in why and status in why and "opt-in" in why


def test_a_region_the_account_does_not_list_is_not_taken_for_a_default_one() -> None:
    assert sm.decide(facts({"a": "eu-west-1", "b": "xx-future-1"})).mode == "lambda-edge"


@pytest.mark.parametrize("trigger", ["origin-request", "origin-response"])
def test_other_origin_triggers_need_lambda_edge(trigger: str) -> None:
    decision = sm.decide(facts({"a": "eu-west-1", "b": "ap-southeast-2"}, triggers=(trigger,)))
    assert decision.mode == "lambda-edge" and trigger in decision.why[0]


def test_cors_is_a_note_not_a_blocker() -> None:
    decision = sm.decide(facts({"a": "eu-west-1"}, cors=True))
    assert decision.mode == "oac" and any("OPTIONS" in n for n in decision.notes)
    assert not any("OPTIONS" in n for n in sm.decide(facts({"a": "eu-west-1"})).notes)


@pytest.mark.parametrize(("location", "region"), [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"),
                                                  ("ap-east-1", "ap-east-1")])  # fmt: skip
def test_bucket_location_legacy_answers(location: str | None, region: str) -> None:
    assert sm.bucket_region({"LocationConstraint": location}) == region


def test_only_foreign_origin_triggers_count() -> None:
    own = "arn:aws:lambda:us-east-1:123456789012:function:signer:3"
    config = {"DistributionConfig": {
        "DefaultCacheBehavior": {"LambdaFunctionAssociations": {"Items": [
            {"EventType": "origin-request", "LambdaFunctionARN": own},
            {"EventType": "viewer-request", "LambdaFunctionARN": "arn:other:1"}]}},
        "CacheBehaviors": {"Items": [{"LambdaFunctionAssociations": {"Items": [
            {"EventType": "origin-response", "LambdaFunctionARN": "arn:other:2"}]}}]},
    }}  # fmt: skip
    assert sm.other_origin_triggers(config, own) == ("origin-response",)
    assert sm.other_origin_triggers(config, "arn:not-ours") == ("origin-request", "origin-response")


def test_requested_modes() -> None:
    blocked = sm.decide(facts({"a": "ap-east-1"}))
    assert sm.choose("oac", blocked)[2] is not None  # oac where it cannot work: refused
    assert sm.choose("lambda-edge", blocked)[:1] == ("lambda-edge",)
    fits = sm.decide(facts({"a": "eu-west-1"}))
    assert sm.choose("auto", fits)[0] == "oac" and sm.choose("auto", blocked)[0] == "lambda-edge"
    assert sm.choose("lambda-edge", fits)[2] is None  # always possible
    with pytest.raises(sm.InputError):
        sm.choose("sigv4a", fits)


def schema_doc(pattern: str) -> dict:
    prop = {"type": "string", "pattern": pattern}
    schema = {"definitions": {"OriginAccessControlConfig": {"properties": {"SigningProtocol": prop}}}}
    return {"Schema": json.dumps(schema)}


def test_the_live_schema_decides_whether_sigv4a_is_accepted() -> None:
    assert sm.sigv4a_accepted(schema_doc("^(sigv4|sigv4a)$"))[0]
    assert not sm.sigv4a_accepted(schema_doc("^(sigv4)$"))[0]
    # cfn-lint ships a copy of the published schema: it accepts sigv4a today.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    bundled = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::CloudFront::OriginAccessControl").schema
    assert sm.sigv4a_accepted({"Schema": json.dumps(bundled)})[0]


def test_switch_explains_the_function_retirement() -> None:
    lines = "\n".join(sm.switch_notes("lambda-edge", "oac", "mrap-edge-1a2b3c4d-signer"))
    assert "replicas" in lines and "DELETE_FAILED" in lines and "mrap-edge-1a2b3c4d-signer" in lines
    assert sm.switch_notes("oac", "oac") == []


def test_bad_input_is_one_line() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "signing_mode.py"), "schema"], input="not json",
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


# --- the scripts, against the recording aws -------------------------------------------


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    a = Aws(tmp_path)
    a.update(buckets=BUCKETS)
    return a


def test_preflight_picks_oac_for_default_regions_and_reads_only(aws: Aws) -> None:
    proc = run("preflight.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    assert "==> mode: oac" in proc.stdout and "CloudFrontReadsThroughMrap" in proc.stdout
    assert ops(aws.calls()) == ["configure list", "s3api get-bucket-location", "s3api get-bucket-location",
                                "account list-regions", "cloudformation describe-stacks"]  # fmt: skip


def test_preflight_picks_lambda_edge_for_a_bucket_in_an_opt_in_region(aws: Aws) -> None:
    aws.update(buckets=BUCKETS | {"bucket-ap": {"region": "ap-east-1"}}, region_opt={"ap-east-1": "ENABLED"})
    proc = run("preflight.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    assert "==> mode: lambda-edge" in proc.stdout and "bucket bucket-ap is in ap-east-1" in proc.stdout
    refused = run("preflight.sh", aws.env(SIGNING="oac"))
    assert refused.returncode == 2 and "SIGNING=oac cannot work here" in refused.stderr


def test_preflight_picks_lambda_edge_when_other_origin_triggers_are_needed(aws: Aws) -> None:
    proc = run("preflight.sh", aws.env(ORIGIN_TRIGGERS="origin-response"))
    assert proc.returncode == 0 and "==> mode: lambda-edge" in proc.stdout
    # Found on the deployed distribution too.
    seed_stack(aws)
    aws.update(extra_associations=[{"EventType": "origin-response", "LambdaFunctionARN": "arn:x:function:y:1"}])
    proc = run("preflight.sh", aws.env())
    assert "==> mode: lambda-edge" in proc.stdout and "origin-response" in proc.stdout
    assert "cloudfront get-distribution-config" in ops(aws.calls())


def test_deploy_in_oac_mode_builds_nothing_and_passes_the_mode(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env(SIGNING="oac"))
    assert proc.returncode == 0, proc.stderr
    seen = ops(aws.calls())
    assert "cloudformation describe-type" in seen and "s3api put-object" not in seen
    params = aws.stack()["params"]
    assert params["SigningMode"] == "oac" and "LambdaCodeKey" not in params
    assert "FunctionName" not in aws.stack()["outputs"]
    # Unset SIGNING keeps the deployed mode: nothing to do.
    again = run("deploy.sh", aws.env())
    assert again.returncode == 0 and "signing mode: oac" in again.stdout and "up to date" in again.stdout


def test_oac_stops_before_the_change_set_when_cloudformation_refuses_sigv4a(aws: Aws) -> None:
    aws.update(oac_protocols="^(sigv4)$")
    proc = run("deploy.sh", aws.env(SIGNING="oac"))
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "does not accept SigningProtocol sigv4a" in line and "SIGNING=lambda-edge" in line
    assert "cloudformation create-change-set" not in ops(aws.calls())


def test_a_change_set_refusing_sigv4a_is_one_clear_line(aws: Aws) -> None:
    aws.update(next_change_set_failure="Properties validation failed: SigningProtocol sigv4a is not valid")
    proc = run("deploy.sh", aws.env(SIGNING="oac"))
    assert proc.returncode == 2 and "refused origin access control with SigV4A" in proc.stderr


def test_deploy_auto_runs_the_preflight(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env(SIGNING="auto"))
    assert proc.returncode == 0, proc.stderr
    seen = ops(aws.calls())
    assert seen.index("account list-regions") < seen.index("cloudformation create-change-set")
    assert aws.stack()["params"]["SigningMode"] == "oac"


def test_switching_a_deployed_stack_to_oac_previews_the_switch_and_retires_the_function(aws: Aws) -> None:
    seed_stack(aws)  # a lambda-edge stack from before the modes (no SigningMode output)
    proc = run("deploy.sh", aws.env(SIGNING="oac"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "switching lambda-edge -> oac" in out and "mrap-edge-1a2b3c4d-signer" in out
    preview = out[out.index("==> changes:") : out.index("==> executing")]
    assert "Add     OriginAccessControl" in preview
    assert "Remove  EdgeFunction " in preview and "expected with SigningMode oac" in preview
    assert "DELETE_FAILED" in out  # the function's replicas: reported, and the update completes
    assert aws.stack()["status"] == "UPDATE_COMPLETE"


def test_a_bad_signing_value_fails_before_any_aws_call(aws: Aws) -> None:
    for script in ("deploy.sh", "preflight.sh"):
        proc = run(script, aws.env(SIGNING="sigv4a"))
        assert proc.returncode == 2 and "SIGNING must be" in proc.stderr
        assert [c for c in ops(aws.calls()) if c != "configure list"] == []


def test_create_in_oac_mode_creates_no_function(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env(SIGNING="oac"))
    assert proc.returncode == 0, proc.stderr
    [create] = [c for c in aws.calls() if "create-change-set" in c]
    assert arg(create, "--change-set-type") == "CREATE"
    assert "EdgeFunction" not in proc.stdout and "OriginAccessControl" in proc.stdout


def test_prune_versions_on_an_oac_stack_says_there_is_no_function(aws: Aws) -> None:
    assert run("deploy.sh", aws.env(SIGNING="oac")).returncode == 0
    aws.calls()
    proc = run("prune_versions.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    assert "SigningMode oac" in proc.stdout and "aws lambda delete-function" in proc.stdout
    assert not [c for c in aws.calls() if c[0] == "lambda"]
