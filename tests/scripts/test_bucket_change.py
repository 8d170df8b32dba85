"""A new bucket pair replaces the MRAP (its Regions cannot change in place), and
CloudFormation replaces a named resource only under a new name. The recording ``aws``
models that refusal; deploy.sh stops before any change set with the one way out, a
name derived from the stack and the pair, which then applies."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from aws_harness import STACK, Aws, ops, run, seed_stack

REFUSAL = "CloudFormation cannot update a stack when a custom-named resource requires replacing"


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


def cli(aws: Aws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(aws.bin / "aws"), *args], env=aws.env(), capture_output=True, text=True, timeout=60)


def test_the_recording_aws_refuses_to_replace_the_mrap_under_its_old_name(aws: Aws, tmp_path: Path) -> None:
    # The model the script is tested against: what CloudFormation does with a bucket change
    # that keeps the derived MRAP name (as deploy.sh with CONFIRM=yes did before).
    seed_stack(aws)
    template = Path(__file__).resolve().parents[2] / "cloudformation.template"
    params = ["ParameterKey=S3BucketOneName,ParameterValue=bucket-eu",
              "ParameterKey=S3BucketTwoName,ParameterValue=bucket-new",
              "ParameterKey=S3BucketDeployables,ParameterValue=deployables"]  # fmt: skip
    base = ["cloudformation", "--region", "us-east-1"]
    made = cli(aws, *base, "create-change-set", "--stack-name", STACK, "--change-set-name", "cs1",
               "--change-set-type", "UPDATE", "--template-body", f"file://{template}", "--parameters", *params,
               "--capabilities", "CAPABILITY_IAM")  # fmt: skip
    assert made.returncode == 0, made.stderr
    for _ in range(2):  # computing, then computed
        described = json.loads(cli(aws, *base, "describe-change-set", "--stack-name", STACK,
                                   "--change-set-name", "cs1").stdout)  # fmt: skip
    mrap = [c["ResourceChange"] for c in described["Changes"] if c["ResourceChange"]["LogicalResourceId"] == "Mrap"]
    assert mrap and mrap[0]["Replacement"] == "True"
    assert cli(aws, *base, "execute-change-set", "--stack-name", STACK, "--change-set-name", "cs1").returncode == 0
    events = json.loads(cli(aws, *base, "describe-stack-events", "--stack-name", STACK).stdout)["StackEvents"]
    reasons = [e.get("ResourceStatusReason", "") for e in events if e["LogicalResourceId"] == "Mrap"]
    assert any(REFUSAL in r and "mrap-edge-1a2b3c4d" in r for r in reasons)
    stack = aws.stack()
    assert stack["status"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["params"]["S3BucketTwoName"] == "bucket-ap"  # rolled back: serves as before


def test_a_bucket_change_stops_before_any_change_set_with_the_way_out(aws: Aws) -> None:
    seed_stack(aws)
    proc = run("deploy.sh", aws.env(S3_BUCKET_TWO="bucket-new", CONFIRM="yes"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()  # one line, no traceback, no CLI dump
    assert line.startswith("error: ") and "bucket-eu and bucket-ap" in line
    name = re.search(r"MRAP_NAME=(\S+) CONFIRM=yes", line).group(1)
    # The stack id's key (as the template derives the default name) and the pair's hash.
    stack_key = aws.stack()["id"].split("/")[2].split("-")[0]
    assert name == f"mrap-edge-{stack_key}-{hashlib.sha256(b'bucket-eu bucket-new').hexdigest()[:8]}"
    assert re.fullmatch(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$", name)  # MrapName's AllowedPattern
    seen = ops(aws.calls())
    assert "cloudformation create-change-set" not in seen and "s3api put-object" not in seen
    assert aws.stack()["status"] == "CREATE_COMPLETE" and aws.stack()["params"]["S3BucketTwoName"] == "bucket-ap"


def test_the_suggested_name_is_the_same_every_run_and_differs_per_pair(aws: Aws) -> None:
    seed_stack(aws)

    def suggested(two: str, one: str = "bucket-eu") -> str:
        proc = run("deploy.sh", aws.env(S3_BUCKET_ONE=one, S3_BUCKET_TWO=two))
        assert proc.returncode == 2, proc.stderr
        return re.search(r"MRAP_NAME=(\S+)", proc.stderr).group(1)

    first = suggested("bucket-new")
    assert suggested("bucket-new") == first
    assert suggested("bucket-other") != first
    assert suggested("bucket-eu", one="bucket-ap") not in (first, suggested("bucket-other"))  # a swap too


@pytest.mark.slow  # builds the deployment zip
def test_the_suggested_name_applies_the_bucket_change(aws: Aws) -> None:
    seed_stack(aws)
    refused = run("deploy.sh", aws.env(S3_BUCKET_TWO="bucket-new"))
    name = re.search(r"MRAP_NAME=(\S+)", refused.stderr).group(1)
    proc = run("deploy.sh", aws.env(S3_BUCKET_TWO="bucket-new", MRAP_NAME=name, CONFIRM="yes"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stack = aws.stack()
    assert stack["status"] == "UPDATE_COMPLETE"
    assert stack["params"]["S3BucketTwoName"] == "bucket-new" and stack["params"]["MrapName"] == name
    # From then on the same buckets with the same name are a plain update, not a refusal.
    again = run("deploy.sh", aws.env(S3_BUCKET_TWO="bucket-new", MRAP_NAME=name))
    assert again.returncode == 0, again.stderr


@pytest.mark.slow  # builds the deployment zip
def test_the_same_buckets_never_trip_the_stop(aws: Aws) -> None:
    seed_stack(aws)
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MRAP_NAME=" not in proc.stderr
