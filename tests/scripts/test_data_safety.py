"""Users' data is sacred: smoke.sh and destroy.sh write and delete only objects they
made, and destroy removes only this stack's packages. Also: each smoke check fails the
run on its own, and prune_versions.sh deletes only versions nothing uses."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from aws_harness import STACK, Aws, HttpStub, arg, run, seed_stack

HEX = "0123456789abcdef0123456789abcdef"
USER_OBJECTS = {
    "bucket-eu/index.html": "the user's site",
    "bucket-ap/index.html": "the user's site",
    f"bucket-eu/mrap-edge-smoke/{STACK}/notes.txt": "the user's, under our prefix",
    f"bucket-eu/mrap-edge-smoke/{STACK}/20260101T000000Z-1/probe.txt": "shaped like ours, but not marked",
    f"bucket-ap/mrap-edge-smoke/{STACK}-2/20260101T000000Z-1/probe.txt": "another stack's probe",
    f"deployables/mrap-edge/{STACK}-2/{HEX}.zip": "a stack whose name starts with ours",
    f"deployables/mrap-edge/other/{HEX}.zip": "another stack's package",
    f"deployables/mrap-edge/deployment-package-{HEX}.zip": "the old shared layout",
    f"deployables/mrap-edge/{STACK}/readme.txt": "not a package",
    "deployables/other-project/app.zip": "someone else's",
}


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


def seed_objects(aws: Aws, objects: dict[str, str], metadata: dict[str, dict] | None = None) -> None:
    state = aws.read()
    state.setdefault("objects", {}).update({k: len(v) for k, v in objects.items()})
    state.setdefault("bodies", {}).update(objects)
    state.setdefault("metadata", {}).update(metadata or {})
    aws.write(state)


def writes(calls: list[list[str]]) -> list[tuple[str, str, str]]:
    """(op, bucket, key) of every call that changes an object."""
    return [(c[1], arg(c, "--bucket"), arg(c, "--key")) for c in calls if c[1] in ("put-object", "delete-object")]


class Edge:
    """A stand-in distribution that serves the fake's objects, with one fault at a time."""

    def __init__(self, aws: Aws, fault: str | None) -> None:
        state_file, self.fault = aws.state, fault

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                bodies = json.loads(state_file.read_text()).get("bodies", {})
                body = bodies.get("bucket-eu" + self.path)
                status = 200
                if body is None:
                    status, body = (200, "<html>catch-all</html>") if fault == "missing" else (404, "NoSuchKey")
                elif self.headers.get("Range") and fault != "range":
                    status, body = 206, body[:5]
                elif fault == "body" and not self.headers.get("Range"):
                    body = "hello from somewhere else\n"
                if fault == "status" and status == 200 and self.headers.get("Range") is None and "probe" in self.path:
                    status = 500  # the right body, the wrong status
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = HttpStub(Handler)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()


def test_smoke_writes_and_deletes_only_its_own_probe(aws: Aws) -> None:
    seed_stack(aws)
    seed_objects(aws, USER_OBJECTS)
    edge = Edge(aws, None)
    try:
        proc = run("smoke.sh", aws.env(CLOUDFRONT_DNS=edge.url))
    finally:
        edge.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = aws.calls()
    changed = writes(calls)
    puts = [(b, k) for op, b, k in changed if op == "put-object"]
    deletes = [(b, k) for op, b, k in changed if op == "delete-object"]
    assert [b for b, _ in puts] == ["bucket-eu", "bucket-ap"]
    key = puts[0][1]
    assert key.startswith(f"mrap-edge-smoke/{STACK}/") and key.endswith("/probe.txt") and puts[1][1] == key
    assert f"bucket-eu/{key}" not in USER_OBJECTS
    assert sorted(deletes) == sorted(puts)  # removed exactly what it put, nothing else
    # Unversioned buckets: a plain delete. Versioned, replicating ones (every version of
    # the probe in both buckets): test_probe_cleanup.py.
    assert all("--version-id" not in c for c in calls if c[1] == "delete-object")
    state = aws.read()
    assert {k: state["bodies"][k] for k in USER_OBJECTS} == USER_OBJECTS
    assert set(state["objects"]) == set(USER_OBJECTS)


@pytest.mark.parametrize("check", ["status", "body", "range", "missing"])
def test_each_smoke_check_fails_the_run_on_its_own(aws: Aws, check: str) -> None:
    seed_stack(aws)
    edge = Edge(aws, check)
    try:
        proc = run("smoke.sh", aws.env(CLOUDFRONT_DNS=edge.url))
    finally:
        edge.close()
    assert proc.returncode == 1, proc.stdout
    fired = [
        line.split(":", 1)[0].removeprefix("FAIL ") for line in proc.stdout.splitlines() if line.startswith("FAIL")
    ]
    assert fired == [check], f"expected only the {check} check to fire: {proc.stdout}"
    assert f"smoke test failed: {check}" in proc.stdout
    # Even a failed run removes its probes.
    assert set(aws.read()["objects"]) == set()


def test_smoke_passes_when_every_check_does(aws: Aws) -> None:
    seed_stack(aws)
    edge = Edge(aws, None)
    try:
        proc = run("smoke.sh", aws.env(CLOUDFRONT_DNS=edge.url))
    finally:
        edge.close()
    assert proc.returncode == 0, proc.stdout
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if line.startswith("ok")] == [
        "ok   status",
        "ok   body",
        "ok   range",
        "ok   missing",
    ]


def test_destroy_deletes_only_this_stacks_packages(aws: Aws) -> None:
    # Leftover smoke probes (every version, in versioned replicating buckets):
    # test_probe_cleanup.py.
    seed_stack(aws)
    ours = {
        f"deployables/mrap-edge/{STACK}/{HEX}.zip": "package",
        f"deployables/mrap-edge/{STACK}/{'f' * 32}.zip": "an older package",
    }
    seed_objects(aws, USER_OBJECTS | ours)
    proc = run("destroy.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    deleted = {f"{b}/{k}" for op, b, k in writes(aws.calls()) if op == "delete-object"}
    assert deleted == set(ours)
    assert not [op for op, _, _ in writes(aws.calls()) if op == "put-object"]
    state = aws.read()
    assert {k: state["bodies"][k] for k in USER_OBJECTS} == USER_OBJECTS


def test_destroy_of_a_missing_stack_still_removes_only_its_own_leftover_packages(aws: Aws) -> None:
    ours = {f"deployables/mrap-edge/{STACK}/{HEX}.zip": "package"}
    seed_objects(aws, USER_OBJECTS | ours)
    proc = run("destroy.sh", aws.env())
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    deleted = {f"{b}/{k}" for op, b, k in writes(aws.calls()) if op == "delete-object"}
    assert deleted == set(ours)


def test_prune_deletes_old_versions_and_skips_the_live_and_the_replicated(aws: Aws) -> None:
    seed_stack(aws, version=5)
    aws.update(versions=["1", "2", "3", "4", "5"], replicated=["2", "4"])
    proc = run("prune_versions.sh", aws.env())
    assert proc.returncode == 0, proc.stdout + proc.stderr  # still replicated is not a failure
    deletes = [c for c in aws.calls() if c[:2] == ["lambda", "delete-function"]]
    assert "5" not in [arg(c, "--qualifier") for c in deletes]  # the live one is never even tried
    assert aws.read()["versions"] == ["2", "4", "5"]
    assert "version 5: in use by the distribution, kept" in proc.stdout
    assert "version 2: still replicated, try later" in proc.stdout
    assert "version 4: still replicated, try later" in proc.stdout
    assert "version 1: deleted" in proc.stdout and "version 3: deleted" in proc.stdout
    assert "deleted 2 (1 3), still replicated 2 (2 4), in use 1 (5)" in proc.stdout


def test_prune_reports_a_real_failure_as_one(aws: Aws) -> None:
    seed_stack(aws, version=3)
    aws.update(versions=["1", "2", "3"], delete_denied=["1"])
    proc = run("prune_versions.sh", aws.env())
    assert proc.returncode == 1
    assert "version 1: AccessDeniedException (DeleteFunction)" in proc.stderr
    assert "could not delete version(s) 1" in proc.stderr
    assert aws.read()["versions"] == ["1", "3"]
    assert "An error occurred" not in proc.stderr
