"""buckets.template (make buckets): one content bucket per Region, replicating to the other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "buckets.template"
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE)


def bucket(template: dict) -> dict:
    return template["Resources"]["ContentBucket"]["Properties"]


def replication(template: dict) -> dict:
    cond, config, otherwise = bucket(template)["ReplicationConfiguration"]["Fn::If"]
    assert cond == "Replicates" and otherwise == {"Ref": "AWS::NoValue"}
    return config


def statements(template: dict) -> dict[str, dict]:
    role = template["Resources"]["ReplicationRole"]["Properties"]
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def sub(value: dict) -> str:
    return value["Fn::Sub"]


def test_cfn_lint_reports_nothing() -> None:
    proc = subprocess.run([CFN_LINT, str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template"
    broken.write_text(TEMPLATE.read_text().replace("SSEAlgorithm: AES256", "SSEAlgorithm: ROT13"))
    proc = subprocess.run([CFN_LINT, str(broken)], capture_output=True, text=True)
    assert proc.returncode != 0 and "ROT13" in proc.stdout


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov lives in .venv-tools (make lint-template creates it)")
def test_checkov_fails_nothing_unskipped() -> None:
    proc = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--quiet", "--compact", "--skip-download"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_checkov_skips_carry_a_reason(template: dict) -> None:
    for resource in template["Resources"].values():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip["comment"]) > 40, skip


def test_bucket_is_versioned_private_and_encrypted(template: dict) -> None:
    props = bucket(template)
    assert props["BucketName"] == {"Ref": "BucketName"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")


def test_bucket_policy_refuses_plain_http(template: dict) -> None:
    policy = template["Resources"]["ContentBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ContentBucket"}
    (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert [sub(r) for r in deny["Resource"]] == [
        "arn:${AWS::Partition}:s3:::${BucketName}",
        "arn:${AWS::Partition}:s3:::${BucketName}/*",
    ]


def test_bucket_policy_lets_cloudfront_read_only_through_an_mrap_of_this_account(template: dict) -> None:
    statements = template["Resources"]["ContentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Sid"] == "CloudFrontReadsThroughMrap"
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert sorted(allow["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert sub(allow["Resource"]) == "arn:${AWS::Partition}:s3:::${BucketName}/*"
    (operator, condition), *more = allow["Condition"].items()
    assert operator == "ArnLike" and not more
    # An MRAP's ARN has an empty Region part; ArnLike matches part by part, so a regional
    # access point (arn:aws:s3:REGION:...) does not match.
    assert sub(condition["s3:DataAccessPointArn"]) == "arn:${AWS::Partition}:s3::${AWS::AccountId}:accesspoint/*"
    assert sub(condition["AWS:SourceArn"]) == "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"


def test_replicates_every_object_delete_markers_and_replica_changes_to_the_other_bucket(template: dict) -> None:
    config = replication(template)
    assert config["Role"] == {"Fn::GetAtt": ["ReplicationRole", "Arn"]}
    (rule,) = config["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": ""}  # every key
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert rule["SourceSelectionCriteria"] == {"ReplicaModifications": {"Status": "Enabled"}}
    assert sub(rule["Destination"]["Bucket"]) == "arn:${AWS::Partition}:s3:::${ReplicaBucketName}"


def test_replication_is_off_only_until_the_other_bucket_exists(template: dict) -> None:
    assert template["Parameters"]["ReplicaBucketName"]["Default"] == ""
    assert "Default" not in template["Parameters"]["BucketName"]
    assert template["Conditions"]["Replicates"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReplicaBucketName"}, ""]}]}
    assert template["Resources"]["ReplicationRole"]["Condition"] == "Replicates"


def test_replication_role_is_least_privilege(template: dict) -> None:
    role = template["Resources"]["ReplicationRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    # The documented form, exactly: no conditions on keys AWS does not document S3 sending
    # when it assumes the role (a wrong one fails replication silently).
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html
    assert trust == {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert "ManagedPolicyArns" not in role
    granted = {
        sid: (sorted(s["Action"]), sub(s["Resource"]))
        for sid, s in statements(template).items()
        if s["Effect"] == "Allow"
    }
    assert granted == {
        "ReadReplicationConfiguration": (
            ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "arn:${AWS::Partition}:s3:::${BucketName}",
        ),
        "ReadSourceVersions": (
            ["s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"],
            "arn:${AWS::Partition}:s3:::${BucketName}/*",
        ),
        "WriteReplicas": (
            ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
            "arn:${AWS::Partition}:s3:::${ReplicaBucketName}/*",
        ),
    }
    for statement in statements(template).values():
        assert "*" not in "".join(statement["Action"]) and "Condition" not in statement


def test_outputs_for_the_scripts(template: dict) -> None:
    assert set(template["Outputs"]) == {"BucketName", "BucketArn", "ReplicatesTo"}
    assert template["Metadata"]["mrap-edge"]["OwnershipTag"] == "mrap-edge:buckets"
