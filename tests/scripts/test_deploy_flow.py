"""deploy.sh's change-set path and progress: the preview, the confirmation stop before
the MRAP or the distribution is replaced, a failed change set that is not "up to
date", events streamed once each and in order, and the root cause of a failure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_harness import STACK, Aws, ops, run, seed_stack

pytestmark = pytest.mark.slow  # each run builds the deployment zip
STACK_TYPE = "AWS::CloudFormation::Stack"


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


def modify(logical: str, rtype: str, replacement: str) -> dict:
    change = {"Action": "Modify", "LogicalResourceId": logical, "ResourceType": rtype, "Replacement": replacement}
    return {"Type": "Resource", "ResourceChange": change}


def event_lines(stdout: str) -> list[tuple[str, str]]:
    """(resource, status) of each streamed event line: '  [mm:ss] hh:mm:ss  Resource  STATUS  reason'."""
    found = re.findall(r"^  \[\d\d:\d\d\] \d\d:\d\d:\d\d  (\S+)\s+([A-Z_]+)", stdout, re.M)
    return [(resource, status) for resource, status in found]


def test_update_previews_each_change_and_calls_a_new_version_expected(aws: Aws) -> None:
    seed_stack(aws)
    aws.update(
        next_changes=[
            modify("EdgeFunction", "AWS::Lambda::Function", "False"),
            modify("EdgeFunctionVersion", "AWS::Lambda::Version", "True"),
            modify("Distribution", "AWS::CloudFront::Distribution", "False"),
        ]
    )
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    preview = proc.stdout.split("==> changes:\n", 1)[1].split("==> executing", 1)[0].splitlines()
    assert len(preview) == 3  # one line per change
    assert re.fullmatch(r"  Modify\s+EdgeFunction\s+AWS::Lambda::Function\s+replacement: False", preview[0])
    assert re.match(
        r"  Modify\s+EdgeFunctionVersion\s+AWS::Lambda::Version\s+replacement: True\s+\(expected", preview[1]
    )
    assert re.fullmatch(r"  Modify\s+Distribution\s+AWS::CloudFront::Distribution\s+replacement: False", preview[2])
    seen = ops(aws.calls())
    assert seen.index("cloudformation describe-change-set") < seen.index("cloudformation execute-change-set")
    assert aws.stack()["status"] == "UPDATE_COMPLETE"


@pytest.mark.parametrize(
    ("logical", "rtype", "replacement", "why"),
    [
        ("Mrap", "AWS::S3::MultiRegionAccessPoint", "True", "new alias"),
        ("Distribution", "AWS::CloudFront::Distribution", "Conditional", "new domain name and an empty cache"),
    ],
)
def test_replacing_the_mrap_or_the_distribution_stops_for_confirmation(
    aws: Aws, logical: str, rtype: str, replacement: str, why: str
) -> None:
    seed_stack(aws)
    changes = [modify(logical, rtype, replacement)]
    aws.update(next_changes=changes)
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 2
    assert "CONFIRM=yes" in proc.stderr and "empty cache" in proc.stderr and "stays taken" in proc.stderr
    assert re.search(
        rf"  Modify\s+{logical}\s+{rtype}\s+replacement: {replacement}\s+<- needs CONFIRM=yes", proc.stdout
    )
    assert f"replaces {logical} ({rtype}): " in proc.stdout and why in proc.stdout
    seen = ops(aws.calls())
    assert "cloudformation execute-change-set" not in seen
    assert seen[-1] == "cloudformation delete-change-set"  # nothing left pending
    assert aws.read()["change_sets"] == {}
    assert aws.stack()["status"] == "CREATE_COMPLETE"  # untouched

    if logical == "Mrap":
        aws.update(next_changes=changes)
        # CloudFormation replaces a named resource only under a new name (fake_aws.py refuses the same one).
        confirmed = run("deploy.sh", aws.env(CONFIRM="yes", MRAP_NAME="mrap-edge-renamed"))
        assert confirmed.returncode == 0, confirmed.stderr
        assert "cloudformation execute-change-set" in ops(aws.calls())
        assert aws.stack()["status"] == "UPDATE_COMPLETE"


def test_a_failed_change_set_is_not_up_to_date(aws: Aws) -> None:
    seed_stack(aws)
    aws.update(next_change_set_failure="Parameter 'LambdaCodeKey' must have length less than or equal to 100")
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 1
    assert "up to date" not in proc.stdout and "no change" not in proc.stdout
    assert "CloudFormation refused the change set: Parameter 'LambdaCodeKey'" in proc.stderr
    seen = ops(aws.calls())
    assert "cloudformation execute-change-set" not in seen and seen[-1] == "cloudformation delete-change-set"


def test_a_failed_update_reports_its_cause_state_and_next_step(aws: Aws) -> None:
    seed_stack(aws)
    cause = 'Resource handler returned message: "Invalid request provided: The parameter Origin DomainName"'
    aws.update(
        next_changes=[modify("Distribution", "AWS::CloudFront::Distribution", "False")],
        next_outcome={
            "events": [
                [STACK, STACK_TYPE, "UPDATE_IN_PROGRESS", "User Initiated"],
                ["Distribution", "AWS::CloudFront::Distribution", "UPDATE_IN_PROGRESS", ""],
                ["Distribution", "AWS::CloudFront::Distribution", "UPDATE_FAILED", cause],
                [
                    STACK,
                    STACK_TYPE,
                    "UPDATE_ROLLBACK_IN_PROGRESS",
                    "The following resource(s) failed to update: [Distribution].",
                ],
                ["Distribution", "AWS::CloudFront::Distribution", "UPDATE_COMPLETE", ""],
                [STACK, STACK_TYPE, "UPDATE_ROLLBACK_COMPLETE", ""],
            ],
            "final": "UPDATE_ROLLBACK_COMPLETE",
        },
    )
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 1
    assert "up to date" not in proc.stdout
    assert f"error: stack {STACK} ended in UPDATE_ROLLBACK_COMPLETE" in proc.stderr
    assert f"Distribution (AWS::CloudFront::Distribution) UPDATE_FAILED: {cause}" in proc.stderr
    assert "next: the update was rolled back" in proc.stderr
    assert "outputs of" not in proc.stdout


def test_a_failed_create_streams_each_event_once_in_order_and_names_the_root_cause(aws: Aws) -> None:
    cause = 'Resource handler returned message: "Access Denied (Service: S3Control, Status Code: 403)"'
    events = [
        [STACK, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated"],
        ["EdgeFunctionRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS", ""],
        ["Mrap", "AWS::S3::MultiRegionAccessPoint", "CREATE_IN_PROGRESS", ""],
        ["EdgeFunctionRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS", "Resource creation Initiated"],
        ["Mrap", "AWS::S3::MultiRegionAccessPoint", "CREATE_FAILED", cause],
        ["EdgeFunctionRole", "AWS::IAM::Role", "CREATE_FAILED", "Resource creation cancelled"],
        [
            STACK,
            STACK_TYPE,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Mrap, EdgeFunctionRole]. Rollback requested by user.",
        ],
        ["EdgeFunctionRole", "AWS::IAM::Role", "DELETE_IN_PROGRESS", ""],
        ["EdgeFunctionRole", "AWS::IAM::Role", "DELETE_COMPLETE", ""],
        ["Mrap", "AWS::S3::MultiRegionAccessPoint", "DELETE_COMPLETE", ""],
        [STACK, STACK_TYPE, "ROLLBACK_COMPLETE", ""],
    ]
    aws.update(next_outcome={"events": events, "final": "ROLLBACK_COMPLETE"})
    proc = run("deploy.sh", aws.env(FAKE_EVENTS_PER_POLL="2"))
    assert proc.returncode == 1
    # Streamed as they happened (several polls), each event exactly once, in order.
    polls = ops(aws.calls()).count("cloudformation describe-stack-events")
    assert polls >= len(events) // 2
    assert event_lines(proc.stdout) == [(e[0], e[2]) for e in events]
    assert "(creating an MRAP usually takes 10-20 minutes)" in proc.stdout
    # The root cause, not the cascade it set off; the final state; the one next step.
    cause_block = proc.stderr.split("cause:\n", 1)[1].split("next:", 1)[0]
    assert cause_block.strip() == f"Mrap (AWS::S3::MultiRegionAccessPoint) CREATE_FAILED: {cause}"
    assert f"error: stack {STACK} ended in ROLLBACK_COMPLETE" in proc.stderr
    assert "next: the stack failed to create and serves nothing" in proc.stderr and "make destroy" in proc.stderr


def test_a_refused_create_leaves_no_empty_stack_behind(aws: Aws) -> None:
    aws.update(next_change_set_failure="Template error: Fn::Select cannot select nonexistent value at index 2")
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 1
    assert "CloudFormation refused the change set: Template error" in proc.stderr
    seen = ops(aws.calls())
    assert seen[-2:] == ["cloudformation delete-change-set", "cloudformation delete-stack"]
    assert "cloudformation execute-change-set" not in seen


def test_a_refused_create_keeps_a_stack_it_did_not_make(aws: Aws) -> None:
    seed_stack(aws, "REVIEW_IN_PROGRESS")  # a create change set from elsewhere, never executed
    aws.update(next_change_set_failure="Template error: something")
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 1
    calls = aws.calls()
    create = calls[ops(calls).index("cloudformation create-change-set")]
    assert create[create.index("--change-set-type") + 1] == "CREATE"
    assert "cloudformation delete-stack" not in ops(calls)
