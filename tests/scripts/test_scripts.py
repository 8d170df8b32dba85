"""The deploy path (scripts/deploy.sh, smoke.sh, destroy.sh) against a recording ``aws``.

No AWS here: tests/scripts/fake_aws.py answers like the CLI from a small state and
logs every call, so the tests assert the exact commands, their order, the checks
made before any AWS call, and idempotence. smoke.sh runs for real against the
local edge, its uploads going to the local buckets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).with_name("fake_aws.py")
pytestmark = pytest.mark.slow


class Aws:
    def __init__(self, tmp: Path) -> None:
        self.bin = tmp / "bin"
        self.bin.mkdir()
        (self.bin / "aws").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
        (self.bin / "aws").chmod(0o755)
        self.state = tmp / "state.json"
        self.log = tmp / "calls.log"
        self.log.touch()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            PATH=f"{self.bin}:{os.environ['PATH']}",
            FAKE_AWS_STATE=str(self.state),
            FAKE_AWS_LOG=str(self.log),
            PYTHON=sys.executable,
            S3_BUCKET_ONE="bucket-eu",
            S3_BUCKET_TWO="bucket-ap",
            S3_BUCKET_DEPLOYABLES="deployables",
            STACK_NAME="mrap-edge-test",
        )
        env.update(extra)
        return env

    def calls(self) -> list[list[str]]:
        lines = self.log.read_text().splitlines()
        self.log.write_text("")
        return [json.loads(line) for line in lines]

    def stack(self) -> dict:
        return json.loads(self.state.read_text())["stacks"]["mrap-edge-test"]


def run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts" / script)], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def ops(calls: list[list[str]]) -> list[str]:
    """'service op' for each call (the wait's waiter name too)."""
    out = []
    for call in calls:
        args = [a for i, a in enumerate(call) if a != "--region" and (i == 0 or call[i - 1] != "--region")]
        out.append(" ".join(args[:3] if args[1] == "wait" else args[:2]))
    return out


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


def test_missing_credentials_fail_before_any_aws_call(aws: Aws) -> None:
    aws.state.write_text(json.dumps({"access_key": ""}))
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 2 and "credentials" in proc.stderr
    assert ops(aws.calls()) == ["configure list"]  # local: reads the credential chain only


def test_missing_aws_cli(aws: Aws, tmp_path: Path) -> None:
    env = aws.env(PATH="/usr/bin:/bin")
    proc = run("deploy.sh", env)
    assert proc.returncode == 2 and "AWS CLI" in proc.stderr


def test_deploy_creates_then_is_idempotent_then_updates_on_new_code(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    assert ops(calls) == [
        "configure list",
        "s3api head-object",
        "s3api put-object",
        "cloudformation describe-stacks",
        "cloudformation create-stack",
        "cloudformation wait stack-create-complete",
        "cloudformation describe-stacks",
    ]
    create = calls[4]
    assert create[create.index("--region") + 1] == "us-east-1"
    assert create[create.index("--capabilities") + 1] == "CAPABILITY_IAM"
    assert create[create.index("--template-body") + 1] == f"file://{ROOT}/cloudformation.template"
    params = aws.stack()["params"]
    zip_bytes = (ROOT / "build" / "deploy" / "deployment-package.zip").read_bytes()
    digest = hashlib.sha256(zip_bytes).digest()
    assert params["LambdaCodeKey"] == f"mrap-edge/deployment-package-{digest.hex()[:32]}.zip"
    assert params["LambdaCodeSha256"] == base64.b64encode(digest).decode()
    assert (params["S3BucketOneName"], params["S3BucketTwoName"]) == ("bucket-eu", "bucket-ap")
    assert params["FailoverHeaderName"] == "originTypeFailover"
    assert "CloudFrontDns\thttps://" in proc.stdout

    again = run("deploy.sh", aws.env())
    assert again.returncode == 0, again.stderr
    assert ops(aws.calls()) == [
        "configure list",
        "s3api head-object",  # already uploaded: no put-object
        "cloudformation describe-stacks",
        "cloudformation update-stack",  # answers "No updates are to be performed"
        "cloudformation describe-stacks",
    ]
    assert "no change" in again.stdout

    changed = run("deploy.sh", aws.env(FAILOVER_HEADER="x-secondary-origin"))
    assert changed.returncode == 0, changed.stderr
    assert ops(aws.calls()) == [
        "configure list",
        "s3api head-object",
        "s3api put-object",
        "cloudformation describe-stacks",
        "cloudformation update-stack",
        "cloudformation wait stack-update-complete",
        "cloudformation describe-stacks",
    ]
    new = aws.stack()["params"]
    assert new["LambdaCodeKey"] != params["LambdaCodeKey"]  # new code, new key, new version
    assert new["FailoverHeaderName"] == "x-secondary-origin"


def test_destroy_removes_objects_and_stack_and_explains_replicas(aws: Aws) -> None:
    assert run("deploy.sh", aws.env()).returncode == 0
    aws.calls()
    proc = run("destroy.sh", aws.env(FAKE_DELETE_FAILS="1"))
    assert proc.returncode == 1
    assert "replicas" in proc.stderr and "make destroy" in proc.stderr
    assert "cloudformation delete-stack" in ops(aws.calls())
    state = json.loads(aws.state.read_text())
    assert not any(k.startswith("deployables/mrap-edge/") for k in state["objects"])

    retry = run("destroy.sh", aws.env(FAKE_DELETE_FAILS="1"))
    assert retry.returncode == 0, retry.stderr
    assert ops(aws.calls())[-2:] == ["cloudformation delete-stack", "cloudformation wait stack-delete-complete"]
    assert "mrap-edge-test" not in json.loads(aws.state.read_text())["stacks"]
    assert run("destroy.sh", aws.env()).returncode == 0  # nothing left: still fine


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
        proc = run("smoke.sh", env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"ok   GET /: 200 hello from s3 bucket {one}" in proc.stdout
        assert "ok   GET /index.html with Range: 206" in proc.stdout
        assert "smoke test passed" in proc.stdout
        puts = [c for c in aws.calls() if c[:2] == ["s3api", "put-object"]]
        assert [c[c.index("--bucket") + 1] for c in puts] == [one, two]

        stack.mrap.mark_down(one)
        stack.mrap.mark_down(two)
        stack.edge.behavior.failover = None  # no origin group: the outage shows
        stack.edge.cache.purge()  # the edge caches like CloudFront: without an invalidation / would be a hit
        failed = run("smoke.sh", env)
        assert failed.returncode == 1 and "FAIL GET /" in failed.stdout
