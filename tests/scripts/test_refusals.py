"""Each refusal fires on its own, with the script's own one-line message: stacks in a
state CloudFormation cannot update, missing stacks, and AWS errors (never the CLI's
raw text or a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_harness import STACK, Aws, ops, run, seed_stack


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


def one_error_line(proc) -> str:
    """The user sees exactly one line on stderr, the script's own."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert "An error occurred" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


# state -> words of the one next step
FAILED_STATES = {
    "ROLLBACK_COMPLETE": "make destroy",
    "ROLLBACK_FAILED": "make destroy",
    "CREATE_FAILED": "make destroy",
    "UPDATE_ROLLBACK_FAILED": "continue-update-rollback",
    "DELETE_FAILED": "make destroy' again later",
}
BUSY_STATES = [
    "CREATE_IN_PROGRESS",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "ROLLBACK_IN_PROGRESS",
    "DELETE_IN_PROGRESS",
]


@pytest.mark.parametrize(("status", "step"), FAILED_STATES.items())
def test_deploy_refuses_a_failed_stack_with_its_next_step(aws: Aws, status: str, step: str) -> None:
    seed_stack(aws, status)
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert f"stack {STACK} is {status}: " in line and step in line
    # Refused before building, uploading or asking CloudFormation for anything else.
    assert ops(aws.calls()) == ["configure list", "cloudformation describe-stacks"]


@pytest.mark.parametrize("status", BUSY_STATES)
def test_deploy_refuses_a_stack_in_progress(aws: Aws, status: str) -> None:
    seed_stack(aws, status)
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert f"is {status}: CloudFormation is still working on it" in line
    assert ops(aws.calls()) == ["configure list", "cloudformation describe-stacks"]


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"])
def test_deploy_goes_on_for_a_stack_it_can_update(aws: Aws, status: str, tmp_path: Path) -> None:
    # The other side of the refusals: these states are not refused (the build is
    # stopped early by a failing PYTHON so the test stays fast).
    seed_stack(aws, status)
    stub = tmp_path / "python-stub"
    stub.write_text("#!/bin/sh\necho stub-build >&2\nexit 9\n")
    stub.chmod(0o755)
    proc = run("deploy.sh", aws.env(PYTHON=str(stub)))
    assert "stub-build" in proc.stderr and proc.returncode == 9


@pytest.mark.parametrize("script", ["smoke.sh", "destroy.sh", "prune_versions.sh"])
def test_a_missing_stack_is_one_line_and_non_zero(aws: Aws, script: str) -> None:
    proc = run(script, aws.env())
    assert proc.returncode != 0
    assert f"stack {STACK} does not exist in us-east-1" in one_error_line(proc)


@pytest.mark.parametrize(
    ("script", "unset", "target"),
    [("deploy.sh", "S3_BUCKET_TWO", "make deploy"), ("destroy.sh", "S3_BUCKET_DEPLOYABLES", "make destroy")],
)
def test_a_missing_setting_names_the_command_that_was_run(aws: Aws, script: str, unset: str, target: str) -> None:
    env = aws.env()
    del env[unset]
    proc = run(script, env)
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert f"set {unset} (e.g. {unset}=my-bucket {target})" in line, line
    assert aws.calls() == []


@pytest.mark.parametrize("script", ["deploy.sh", "smoke.sh", "destroy.sh", "prune_versions.sh"])
def test_an_aws_error_is_one_line_of_our_own(aws: Aws, script: str) -> None:
    seed_stack(aws)
    aws.update(deny=["cloudformation describe-stacks"])
    proc = run(script, aws.env())
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert f"cannot read stack {STACK}: AccessDenied (DescribeStacks): " in line


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS", "DELETE_FAILED"])
def test_smoke_refuses_a_stack_that_is_not_serving(aws: Aws, status: str) -> None:
    seed_stack(aws, status)
    proc = run("smoke.sh", aws.env())
    assert proc.returncode == 2
    assert f"stack {STACK} is {status}, not ready to serve" in one_error_line(proc)
    assert not any(op.startswith("s3api") for op in ops(aws.calls()))


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"])
def test_destroy_refuses_a_stack_being_created_or_updated(aws: Aws, status: str) -> None:
    seed_stack(aws, status)
    proc = run("destroy.sh", aws.env())
    assert proc.returncode == 2
    assert f"is {status}: CloudFormation is still working on it" in one_error_line(proc)
    assert "cloudformation delete-stack" not in ops(aws.calls())


def test_destroy_watches_a_delete_already_running_instead_of_starting_another(aws: Aws) -> None:
    seed_stack(aws, "DELETE_IN_PROGRESS")
    state = aws.read()
    stack = state["stacks"][STACK]
    stack["pending"] = [[STACK, "AWS::CloudFormation::Stack", "DELETE_COMPLETE", ""]]
    stack["final"] = "DELETE_COMPLETE"
    aws.write(state)
    proc = run("destroy.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    assert "already being deleted" in proc.stdout
    assert "cloudformation delete-stack" not in ops(aws.calls())
