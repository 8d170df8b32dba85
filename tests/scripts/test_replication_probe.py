"""make replication-check proves replication with probe objects: a configuration can look
complete while S3 cannot replicate with its role, which only each object's
ReplicationStatus shows. fake_s3_versions.py models S3's asynchronous replication and a
rule S3 cannot act on (``replication_fails``)."""

from __future__ import annotations

from pathlib import Path

import fake_s3_versions
import pytest
from aws_harness import Aws, arg, run

ONE, TWO = "site-eu", "site-us"
USER_KEY = "index.html"


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    aws = Aws(tmp_path)
    made = run("buckets.sh", aws.env(BUCKET_ONE=ONE, BUCKET_TWO=TWO))
    assert made.returncode == 0, made.stdout + made.stderr
    state = aws.read()
    for name in (ONE, TWO):
        state["buckets"][name]["versions"].append({"Key": USER_KEY, "VersionId": f"user-{name}", "body": "hi"})
    aws.write(state)
    aws.calls()
    return aws


def check(aws: Aws, **env: str):
    return run("replication_check.sh", aws.env(BUCKET_ONE=ONE, BUCKET_TWO=TWO, **env))


def probe_keys(calls: list[list[str]]) -> dict[str, str]:
    """bucket -> the key of the probe put into it."""
    return {arg(c, "--bucket"): arg(c, "--key") for c in calls if c[1] == "put-object"}


def assert_cleaned_up(aws: Aws, keys: dict[str, str]) -> None:
    state = aws.read()
    for key in keys.values():
        for name in (ONE, TWO):
            assert fake_s3_versions.versions_of(state, name, key) == [], f"s3://{name}/{key} left behind"
    for name in (ONE, TWO):  # the user's object, untouched
        assert fake_s3_versions.versions_of(state, name, USER_KEY) == [
            {"Key": USER_KEY, "VersionId": f"user-{name}", "body": "hi"}
        ]


def test_replication_is_proven_both_ways_by_probes_then_cleaned_up(aws: Aws) -> None:
    proc = check(aws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok: a probe replicated {ONE} -> {TWO} (ReplicationStatus COMPLETED" in proc.stdout
    assert f"ok: a probe replicated {TWO} -> {ONE} (ReplicationStatus COMPLETED" in proc.stdout
    calls = aws.calls()
    keys = probe_keys(calls)
    assert set(keys) == {ONE, TWO} and keys[ONE] != keys[TWO]
    assert all(k.startswith("mrap-edge-replication-check/") for k in keys.values())
    # Each bucket addressed in its own Region (as make buckets made them), not the CLI's default.
    puts = {arg(c, "--bucket"): arg(c, "--region") for c in calls if c[1] == "put-object"}
    assert puts == {ONE: "eu-west-1", TWO: "us-west-2"}
    # It read the status of each probe's own version, and the replica's in the other bucket.
    heads = [(arg(c, "--bucket"), arg(c, "--key")) for c in calls if c[1] == "head-object"]
    assert (ONE, keys[ONE]) in heads and (TWO, keys[ONE]) in heads
    assert (TWO, keys[TWO]) in heads and (ONE, keys[TWO]) in heads
    deleted = {arg(c, "--key") for c in calls if c[1] == "delete-object"}
    assert deleted == set(keys.values())  # its probes, nothing else
    assert_cleaned_up(aws, keys)


def test_a_rule_s3_cannot_act_on_fails_the_check(aws: Aws) -> None:
    # The configuration is complete (the report says so), yet nothing replicates from ONE.
    aws.update(replication_fails=[ONE])
    proc = check(aws)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL: {ONE} -> {TWO}: ReplicationStatus FAILED" in proc.stdout
    assert f"ok: a probe replicated {TWO} -> {ONE}" in proc.stdout
    assert "Traceback" not in proc.stderr and "An error occurred" not in proc.stderr
    assert_cleaned_up(aws, probe_keys(aws.calls()))


def test_replication_that_never_finishes_fails_the_check(aws: Aws) -> None:
    aws.update(replication_delay=1000)
    proc = check(aws, SETTLE_SECONDS="0")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.count("ReplicationStatus PENDING after 0s (want COMPLETED)") == 2
    assert_cleaned_up(aws, probe_keys(aws.calls()))


def test_an_incomplete_configuration_writes_no_probe(aws: Aws) -> None:
    state = aws.read()
    state["buckets"][TWO]["replication"] = None
    aws.write(state)
    proc = check(aws)
    assert proc.returncode == 1
    assert not [c for c in aws.calls() if c[1] in ("put-object", "delete-object")]
