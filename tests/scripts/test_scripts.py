"""The deploy path (scripts/deploy.sh, smoke.sh, destroy.sh) against a recording ``aws``.

No AWS here: tests/scripts/fake_aws.py answers like the CLI from a small state and
logs every call, so the tests assert the exact commands, their order, the checks
made before any AWS call, and idempotence. smoke.sh runs for real against the
local edge, its probes going to the local buckets.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from aws_harness import ROOT, STACK, Aws, arg, ops, run

pytestmark = pytest.mark.slow


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


@pytest.mark.parametrize("missing", ["S3_BUCKET_ONE", "S3_BUCKET_TWO", "S3_BUCKET_DEPLOYABLES"])
def test_missing_parameters_fail_before_any_aws_call(aws: Aws, missing: str) -> None:
    proc = run("deploy.sh", aws.env(**{missing: ""}))
    assert proc.returncode == 2 and missing in proc.stderr
    assert aws.calls() == []


def test_wrong_region_fails_before_any_aws_call(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env(AWS_REGION="eu-west-1"))
    assert proc.returncode == 2 and "us-east-1" in proc.stderr and "eu-west-1" in proc.stderr
    assert aws.calls() == []


@pytest.mark.parametrize("script", ["deploy.sh", "smoke.sh", "destroy.sh", "prune_versions.sh"])
@pytest.mark.parametrize("name", ["a/b", "../mrap-edge", "1stack", "x" * 129, "my_stack"])
def test_a_stack_name_cloudformation_refuses_fails_before_any_aws_call(aws: Aws, script: str, name: str) -> None:
    # It also keeps one stack's S3 prefixes from reaching into another's.
    proc = run(script, aws.env(STACK_NAME=name))
    assert proc.returncode == 2 and "STACK_NAME" in proc.stderr
    assert aws.calls() == []


def test_missing_credentials_fail_before_any_aws_call(aws: Aws) -> None:
    aws.write({"access_key": ""})
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 2 and "credentials" in proc.stderr
    assert ops(aws.calls()) == ["configure list"]  # local: reads the credential chain only


def test_missing_aws_cli(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env(PATH="/usr/bin:/bin"))
    assert proc.returncode == 2 and "AWS CLI" in proc.stderr


def test_deploy_creates_then_is_idempotent_then_updates_on_new_code(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    seen = ops(calls)
    assert seen[:9] == [
        "configure list",
        "cloudformation describe-stacks",  # the state decides, before building anything
        "sts get-caller-identity",
        "iam get-policy",  # no permissions boundary in the account yet:
        "iam create-policy",  # made from edge-function-boundary.json
        "s3api head-object",
        "s3api put-object",
        "cloudformation create-change-set",
        "cloudformation describe-change-set",
    ]
    boundary = "arn:aws:iam::123456789012:policy/mrap-edge-function-boundary"
    assert arg(calls[3], "--policy-arn") == boundary
    assert aws.read()["policies"] == {boundary: json.loads((ROOT / "edge-function-boundary.json").read_text())}
    create = calls[7]
    assert arg(create, "--region") == "us-east-1"
    assert arg(create, "--change-set-type") == "CREATE"
    assert arg(create, "--capabilities") == "CAPABILITY_NAMED_IAM"  # the role has a fixed name
    assert arg(create, "--template-body") == f"file://{ROOT}/cloudformation.template"
    assert "cloudformation execute-change-set" in seen and seen[-1] == "cloudformation describe-stacks"
    assert not any(op.startswith("cloudformation wait") for op in seen)  # progress is ours, not a silent waiter
    params = aws.stack()["params"]
    zip_bytes = (ROOT / "build" / "deploy" / "deployment-package.zip").read_bytes()
    digest = hashlib.sha256(zip_bytes).digest()
    # Each stack has its own code prefix: destroy removes only this stack's packages.
    assert params["LambdaCodeKey"] == f"mrap-edge/{STACK}/{digest.hex()[:32]}.zip"
    assert len(params["LambdaCodeKey"]) <= 100  # the template's MaxLength
    assert params["LambdaCodeSha256"] == base64.b64encode(digest).decode()
    assert (params["S3BucketOneName"], params["S3BucketTwoName"]) == ("bucket-eu", "bucket-ap")
    assert params["FailoverHeaderName"] == "originTypeFailover"
    assert params["FunctionPermissionsBoundary"] == "mrap-edge-function-boundary"
    assert "CloudFrontDns\thttps://" in proc.stdout

    again = run("deploy.sh", aws.env())
    assert again.returncode == 0, again.stderr
    assert ops(aws.calls()) == [
        "configure list",
        "cloudformation describe-stacks",
        "cloudformation describe-stacks",  # the buckets and MRAP name it serves: a new pair needs a new name
        "cloudformation describe-stacks",  # the deployed signing mode, kept when SIGNING is unset
        "sts get-caller-identity",
        "iam get-policy",  # the boundary is there: used as it is, never rewritten
        "s3api head-object",  # already uploaded: no put-object
        "cloudformation create-change-set",
        "cloudformation describe-change-set",  # still being computed
        "cloudformation describe-change-set",  # FAILED: "didn't contain changes"
        "cloudformation delete-change-set",  # no empty change set left behind
    ]
    assert "up to date" in again.stdout

    changed = run("deploy.sh", aws.env(FAILOVER_HEADER="x-secondary-origin"))
    assert changed.returncode == 0, changed.stderr
    seen = ops(aws.calls())
    assert seen[:9] == [
        "configure list",
        "cloudformation describe-stacks",
        "cloudformation describe-stacks",
        "cloudformation describe-stacks",
        "sts get-caller-identity",
        "iam get-policy",
        "s3api head-object",
        "s3api put-object",
        "cloudformation create-change-set",
    ]
    assert "cloudformation execute-change-set" in seen
    new = aws.stack()["params"]
    assert new["LambdaCodeKey"] != params["LambdaCodeKey"]  # new code, new key, new version
    assert new["FailoverHeaderName"] == "x-secondary-origin"
    assert "EdgeFunctionVersion" in changed.stdout and "expected" in changed.stdout


def test_destroy_removes_this_stacks_packages_and_stack_and_explains_replicas(aws: Aws) -> None:
    assert run("deploy.sh", aws.env()).returncode == 0
    aws.calls()
    proc = run("destroy.sh", aws.env(FAKE_DELETE_FAILS="1"))
    assert proc.returncode == 1
    assert "replicas" in proc.stderr and "make destroy" in proc.stderr
    assert "cloudformation delete-stack" in ops(aws.calls())
    # What really remains, and that the MRAP name stays taken.
    assert "still there" in proc.stderr
    assert "EdgeFunctionRole" in proc.stderr and "mrap-edge-1a2b3c4d cannot be used" in proc.stderr
    assert "The rest of the stack is deleted" not in proc.stderr

    retry = run("destroy.sh", aws.env(FAKE_DELETE_FAILS="1"))
    assert retry.returncode == 0, retry.stderr
    seen = ops(aws.calls())
    assert "cloudformation delete-stack" in seen and seen[-1] == "s3api delete-object"
    state = aws.read()
    assert STACK not in state["stacks"]
    assert not any(k.startswith(f"deployables/mrap-edge/{STACK}/") for k in state["objects"])

    gone = run("destroy.sh", aws.env())  # nothing left: its own message, non-zero
    assert gone.returncode == 2 and "does not exist" in gone.stderr
    assert "An error occurred" not in gone.stderr + gone.stdout


def test_smoke_against_the_local_edge(aws: Aws) -> None:
    from local import settings
    from local.stack import LocalStack

    with LocalStack(log=lambda line: None, concurrency=2) as stack:
        host, port = stack.buckets.endpoint
        one, two = (b.name for b in settings.BUCKETS)
        stack.buckets.create("deployables", "us-east-1", versioned=False)
        env = aws.env(S3_BUCKET_ONE=one, S3_BUCKET_TWO=two, FAKE_CLOUDFRONT_DNS=stack.edge.url,
                      FAKE_S3_ENDPOINT=f"http://{host}:{port}")  # fmt: skip
        assert run("deploy.sh", env).returncode == 0
        aws.calls()
        before = {b: _keys(env, b) for b in (one, two)}

        proc = run("smoke.sh", env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "ok   status:" in proc.stdout and "-> 200" in proc.stdout
        assert f"ok   body: 'hello from s3 bucket {one}'" in proc.stdout
        assert "ok   range:" in proc.stdout and "-> 206 'hello'" in proc.stdout
        assert "ok   missing:" in proc.stdout
        assert "smoke test passed" in proc.stdout
        calls = aws.calls()
        puts = [c for c in calls if c[:2] == ["s3api", "put-object"]]
        assert [c[c.index("--bucket") + 1] for c in puts] == [one, two]
        assert all(arg(c, "--key").startswith(f"mrap-edge-smoke/{STACK}/") for c in puts)
        # It removed what it put, and only that: the buckets hold what they held before.
        assert {b: _keys(env, b) for b in (one, two)} == before

        stack.mrap.mark_down(one)
        stack.mrap.mark_down(two)
        stack.edge.behavior.failover = None  # no origin group: the outage shows
        stack.edge.cache.purge()  # the edge caches like CloudFront: without an invalidation / would be a hit
        failed = run("smoke.sh", env)
        assert failed.returncode == 1 and "FAIL status:" in failed.stdout
        assert {b: _keys(env, b) for b in (one, two)} == before


def _keys(env: dict[str, str], bucket: str) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=env["FAKE_S3_ENDPOINT"], region_name="us-east-1",
                      aws_access_key_id="AKIAMOTOLOCALEXAMPLE", aws_secret_access_key="moto")  # fmt: skip
    versions = s3.list_object_versions(Bucket=bucket)
    found = [(v["Key"], v["VersionId"]) for v in versions.get("Versions", [])]
    found += [(m["Key"], m["VersionId"]) for m in versions.get("DeleteMarkers", [])]
    return sorted(found)


def test_a_deployer_that_may_not_create_the_boundary_stops_before_building_with_the_admin_command(aws: Aws) -> None:
    aws.write({"deny": ["iam create-policy"]})  # as deployer-policy.json does
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "iam:CreatePolicy" in lines[0]
    assert "aws iam create-policy --policy-name mrap-edge-function-boundary" in lines[0]
    assert "edge-function-boundary.json" in lines[0]
    seen = ops(aws.calls())
    assert seen[-1] == "iam create-policy" and not any(op.startswith(("s3api", "cloudformation c")) for op in seen)


def test_a_boundary_of_another_name_is_the_one_checked_and_passed(aws: Aws) -> None:
    arn = "arn:aws:iam::123456789012:policy/team-boundary"
    aws.write({"policies": {arn: {"Version": "2012-10-17", "Statement": []}}})
    proc = run("deploy.sh", aws.env(FUNCTION_PERMISSIONS_BOUNDARY="team-boundary"))
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    assert "iam create-policy" not in ops(calls)  # an existing policy is never replaced
    assert [arg(c, "--policy-arn") for c in calls if ops([c]) == ["iam get-policy"]] == [arn]
    assert aws.stack()["params"]["FunctionPermissionsBoundary"] == "team-boundary"
    assert aws.read()["policies"][arn] == {"Version": "2012-10-17", "Statement": []}
