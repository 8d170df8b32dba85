"""deploy.sh passes the viewer opt-ins (docs/security.md) only when they are set."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_harness import Aws, run

pytestmark = pytest.mark.slow  # each run builds the deployment zip


@pytest.fixture
def aws(tmp_path: Path) -> Aws:
    return Aws(tmp_path)


def create_parameters(aws: Aws) -> list[str]:
    create = next(call for call in aws.calls() if "create-change-set" in call)
    start = create.index("--parameters") + 1
    end = next((i for i in range(start, len(create)) if create[i].startswith("--")), len(create))
    return create[start:end]


def test_unset_opt_ins_keep_the_templates_defaults(aws: Aws) -> None:
    proc = run("deploy.sh", aws.env())
    assert proc.returncode == 0, proc.stderr
    passed = " ".join(create_parameters(aws))
    assert "AllowVersionReads" not in passed and "AllowedResponseOverrides" not in passed


def test_set_opt_ins_are_passed_with_commas_escaped(aws: Aws) -> None:
    env = aws.env(ALLOW_VERSION_READS="yes", ALLOWED_RESPONSE_OVERRIDES="response-content-type,response-expires")
    proc = run("deploy.sh", env)
    assert proc.returncode == 0, proc.stderr
    passed = create_parameters(aws)
    assert "ParameterKey=AllowVersionReads,ParameterValue=yes" in passed
    # The CLI's shorthand splits on unescaped commas.
    assert "ParameterKey=AllowedResponseOverrides,ParameterValue=response-content-type\\,response-expires" in passed
