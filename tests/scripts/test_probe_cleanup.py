"""smoke.sh and destroy.sh against versioned buckets that replicate both ways, as
``make buckets`` creates them (fake_s3_versions.py models S3's versions and
replication): each probe is replicated to the other bucket under the same version id,
and S3 replicates no delete of a version, so "delete exactly what it put" means every
version of the probe key in both buckets, and nothing else."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import fake_s3_versions
import pytest
from aws_harness import STACK, Aws, HttpStub, arg, run, seed_stack

ONE, TWO = "bucket-eu", "bucket-ap"  # seed_stack's S3BucketOneName / S3BucketTwoName
USER_KEYS = ("index.html", "mrap-edge-smoke-notes.txt", f"mrap-edge-smoke/{STACK}-2/20260101T000000Z-1/probe.txt")


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    aws = Aws(tmp_path)
    made = run("buckets.sh", aws.env(BUCKET_ONE=ONE, BUCKET_TWO=TWO))  # the replicating pair
    assert made.returncode == 0, made.stdout + made.stderr
    seed_stack(aws)
    state = aws.read()
    for name in (ONE, TWO):  # the user's own objects, in both buckets, with versions of their own
        for n, key in enumerate(USER_KEYS):
            state["buckets"][name]["versions"].append({"Key": key, "VersionId": f"user-{name}-{n}", "body": key})
    aws.write(state)
    aws.calls()
    return aws


def user_versions(aws: Aws) -> dict[str, list]:
    buckets = aws.read()["buckets"]
    return {name: [v for v in buckets[name]["versions"] if v["Key"] in USER_KEYS] for name in (ONE, TWO)}


class Edge:
    """A distribution whose origin is bucket one (as the MRAP routes it), through the model."""

    def __init__(self, aws: Aws) -> None:
        state_file = aws.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = fake_s3_versions.current(json.loads(state_file.read_text()), ONE, self.path.lstrip("/"))
                status = 200 if body is not None else 404
                body = body if body is not None else "NoSuchKey"
                if status == 200 and self.headers.get("Range") == "bytes=0-4":
                    status, body = 206, body[:5]
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = HttpStub(Handler)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()


def smoke(aws: Aws, **env: str):
    edge = Edge(aws)
    try:
        return run("smoke.sh", aws.env(CLOUDFRONT_DNS=edge.url, **env))
    finally:
        edge.close()


def test_smoke_leaves_no_version_of_its_probe_in_either_bucket(aws: Aws) -> None:
    before = user_versions(aws)
    proc = smoke(aws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = aws.calls()
    [probe] = {arg(c, "--key") for c in calls if c[1] == "put-object"}
    assert probe.startswith(f"mrap-edge-smoke/{STACK}/") and probe.endswith("/probe.txt")
    state = aws.read()
    for name in (ONE, TWO):
        assert fake_s3_versions.versions_of(state, name, probe) == [], f"{name} keeps a version of the probe"
    assert user_versions(aws) == before  # nothing of the user's touched
    deletes = [c for c in calls if c[1] == "delete-object"]
    assert {arg(c, "--key") for c in deletes} == {probe}
    assert all(arg(c, "--version-id") for c in deletes)  # versions removed, no delete marker added
    # Two per bucket: its own probe and the other bucket's replica (same version ids).
    for name in (ONE, TWO):
        assert len([c for c in deletes if arg(c, "--bucket") == name]) == 2
    assert {arg(c, "--version-id") for c in deletes if arg(c, "--bucket") == ONE} == {
        arg(c, "--version-id") for c in deletes if arg(c, "--bucket") == TWO
    }


def test_smoke_waits_for_replication_before_cleaning_up(aws: Aws) -> None:
    # A replica that lands after the cleanup would stay: the cleanup starts after S3 has
    # replicated both probes, however long that takes within SETTLE_SECONDS.
    aws.update(replication_delay=12)
    proc = smoke(aws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = aws.calls()
    [probe] = {arg(c, "--key") for c in calls if c[1] == "put-object"}
    heads = [i for i, c in enumerate(calls) if c[1] == "head-object" and arg(c, "--version-id")]
    first_delete = min(i for i, c in enumerate(calls) if c[1] == "delete-object")
    assert heads and max(heads) < first_delete
    state = aws.read()
    for _ in range(20):  # let any replica still in flight land, then look again
        fake_s3_versions.tick(state)
    assert all(fake_s3_versions.versions_of(state, name, probe) == [] for name in (ONE, TWO))


def test_smoke_says_when_replication_outlasts_its_wait(aws: Aws) -> None:
    aws.update(replication_delay=1000)
    proc = smoke(aws, SETTLE_SECONDS="0")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the checks passed; the cleanup warns
    assert "still replicating" in proc.stderr and "make destroy" in proc.stderr


def test_destroy_removes_every_version_of_a_marked_leftover_probe_only(aws: Aws) -> None:
    ours = f"mrap-edge-smoke/{STACK}/20260102T000000Z-7/probe.txt"
    unmarked = f"mrap-edge-smoke/{STACK}/20260103T000000Z-8/probe.txt"  # same shape, not the smoke test's
    state = aws.read()
    for name in (ONE, TWO):  # an interrupted run: its probe, the other's replica, a delete marker
        state["buckets"][name]["versions"] += [
            {"Key": ours, "VersionId": "probe-1", "body": "hello", "metadata": {"mrap-edge-smoke": STACK}},
            {"Key": ours, "VersionId": "probe-2", "body": "hello", "metadata": {"mrap-edge-smoke": STACK}},
            {"Key": ours, "VersionId": "marker-3", "delete_marker": True},
            {"Key": unmarked, "VersionId": "theirs-1", "body": "someone else's"},
        ]
    aws.write(state)
    before = user_versions(aws)
    proc = run("destroy.sh", aws.env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = aws.read()
    for name in (ONE, TWO):
        assert fake_s3_versions.versions_of(state, name, ours) == []
        assert [v["VersionId"] for v in fake_s3_versions.versions_of(state, name, unmarked)] == ["theirs-1"]
    assert user_versions(aws) == before
    deleted = {arg(c, "--key") for c in aws.calls() if c[1] == "delete-object" and arg(c, "--bucket") in (ONE, TWO)}
    assert deleted == {ours}
