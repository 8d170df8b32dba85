"""The original sample's flow, by hand, as docs/deploy.md gives it: the shell block is
taken from the doc (so the two cannot drift) and run as written against the recording
``aws``, with pip fetching the pinned wheels from PyPI. The zip it uploads must hold the
function and run it: the local stand-in serves the recipe's curl through it (its MRAP
endpoint verifies each SigV4A signature with the public key), and a fresh interpreter
signs a request with it that the stand-in's verifier accepts."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from aws_harness import ROOT, Aws, HttpStub, arg

from tests.conftest import AKID, MRAP_DOMAIN, SECRET, check_signed, make_event

DOC = ROOT / "docs" / "deploy.md"
MARKER = "<!-- by-hand recipe: tests/scripts/test_by_hand.py runs this block as written -->"
SAMPLE_PARAMETERS = {"S3BucketOneName", "S3BucketTwoName", "S3BucketDeployables"}
POLICY = json.loads((ROOT / "deployer-policy.json").read_text())

pytestmark = pytest.mark.slow  # pip, a zip, the local stand-in


def recipe() -> str:
    text = DOC.read_text()
    assert text.count(MARKER) == 1
    block = re.search(r"```sh\n(.*?)\n```", text.split(MARKER, 1)[1], re.S)
    assert block, "no ```sh block after the marker"
    return block.group(1)


def commands(script: str) -> list[str]:
    """The recipe's commands, continued lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class LazyEdge:
    """The distribution of the recipe's outputs: the local stand-in, started on the first
    request with the zip the recipe uploaded (it does not exist before)."""

    def __init__(self, uploaded: Path) -> None:
        self.stack = None
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with lock:
                    if outer.stack is None:
                        from local.stack import LocalStack

                        outer.stack = LocalStack(zip_path=uploaded, log=lambda line: None, concurrency=1)
                try:
                    with urllib.request.urlopen(outer.stack.edge.url + self.path, timeout=60) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as err:
                    status, body = err.code, err.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = HttpStub(Handler)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()
        if self.stack is not None:
            self.stack.close()


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The recipe, run once in a fresh copy of the checkout's files it reads."""
    tmp = tmp_path_factory.mktemp("by-hand")
    checkout = tmp / "checkout"
    shutil.copytree(ROOT / "lambda", checkout / "lambda",
                    ignore=shutil.ignore_patterns("deployment-package.zip", "__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "cloudformation.template", checkout)
    aws = Aws(tmp)
    uploaded = tmp / "uploads" / "my-deployables-us-east-1" / "lambdapackage" / "deployment-package.zip"
    edge = LazyEdge(uploaded)
    env = aws.env(FAKE_CLOUDFRONT_DNS=edge.url)
    # python3 with pip (the venv's); PIP_* from the user's shell would change the install.
    env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    env["PATH"] = f"{aws.bin}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    try:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", recipe()], cwd=checkout, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
    finally:
        edge.close()
    return {"proc": proc, "calls": aws.calls(), "state": aws.read(), "zip": uploaded, "tmp": tmp}


def test_the_recipe_runs_as_written_and_curl_gets_the_object(ran: dict) -> None:
    proc = ran["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"^HTTP/1\.[01] 200", proc.stdout, re.M), proc.stdout[-2000:]
    assert re.search(r"^hello from s3 bucket \S+$", proc.stdout, re.M)
    for output in ("S3BucketOneName\tmy-site-eu-west-1", "S3BucketTwoName\tmy-site-us-west-2", "CloudFrontDns\t"):
        assert output in proc.stdout


def test_it_is_the_samples_create_stack(ran: dict) -> None:
    [create] = [c for c in ran["calls"] if c[:2] == ["cloudformation", "create-stack"]]
    assert arg(create, "--stack-name") == "cloudfront-s3-mrap-demo"
    assert arg(create, "--capabilities") == "CAPABILITY_IAM" and arg(create, "--region") == "us-east-1"
    i = create.index("--parameters") + 1
    given = {p.split(",")[0].removeprefix("ParameterKey=") for p in create[i:] if p.startswith("ParameterKey=")}
    assert given == SAMPLE_PARAMETERS  # no LambdaCodeKey: the template's default must be the sample's path
    [upload] = [c for c in ran["calls"] if c[:2] == ["s3", "cp"]]
    assert upload[3] == "s3://my-deployables-us-east-1/lambdapackage/deployment-package.zip"
    assert ran["state"]["stacks"]["cloudfront-s3-mrap-demo"]["status"] == "CREATE_COMPLETE"


def test_the_uploaded_zip_holds_the_function_and_its_dependencies(ran: dict) -> None:
    names = set(zipfile.ZipFile(ran["zip"]).namelist())
    for module in (ROOT / "lambda" / "mrap_edge").glob("*.py"):
        assert f"mrap_edge/{module.name}" in names
    for required in ("lambda_function.py", "config.json", "_awscrt.abi3.so", "awscrt/auth.py", "botocore/crt/auth.py"):
        assert required in names
    assert not any("__pycache__" in n for n in names)  # no bytecode of the Python that ran pip


RUN = r"""
import json, sys
sys.path[:] = [sys.argv[1]] + [p for p in sys.path if "site-packages" not in p and p != ""]
import lambda_function
print(json.dumps(lambda_function.lambda_handler(json.load(sys.stdin), None)))
"""


def test_the_uploaded_zip_signs_what_the_verifier_accepts(ran: dict, creds, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_package import find_python313

    task = tmp_path / "task"
    zipfile.ZipFile(ran["zip"]).extractall(task)
    python = find_python313() or sys.executable  # awscrt's wheel is abi3: 3.11 imports it too
    event = make_event("/a+b/日本.txt")  # a plain read: the default distribution refuses versionId
    keys = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET, "PATH": os.environ["PATH"]}
    proc = subprocess.run([python, "-I", "-S", "-B", "-c", RUN, str(task)], input=json.dumps(event),
                          capture_output=True, text=True, timeout=120, env=keys)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    check_signed(event, result, creds)  # the stand-in's verifier, with the public key
    assert result["headers"]["host"][0]["value"] == MRAP_DOMAIN


def allowed(action: str, resource: str) -> bool:
    for statement in POLICY["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if (
            statement["Effect"] == "Allow"
            and any(fnmatch.fnmatchcase(action, a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


def test_the_deployer_policy_covers_the_recipe() -> None:
    code = "arn:aws:s3:::my-deployables-us-east-1/lambdapackage/deployment-package.zip"
    assert allowed("s3:PutObject", code)  # aws s3 cp
    assert allowed("s3:GetObject", code)  # Lambda reads the code with the caller's permissions
    stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/cloudfront-s3-mrap-demo/0f1e2d3c"
    seen = set()
    for command in commands(recipe()):
        found = re.search(r"\baws (cloudformation) (?:wait )?([a-z-]+)", command)
        if found:
            op = "describe-stacks" if "wait " in command else found.group(2)  # the waiter polls DescribeStacks
            seen.add(op)
            assert allowed("cloudformation:" + "".join(w.title() for w in op.split("-")), stack), op
    assert seen == {"create-stack", "describe-stacks"}


def test_the_recording_aws_rolls_back_when_the_code_is_not_at_the_default_key(tmp_path: Path) -> None:
    # What the sample's flow met before: the template's default key elsewhere than the upload.
    template = tmp_path / "old.template"
    template.write_text(
        (ROOT / "cloudformation.template")
        .read_text()
        .replace("Default: lambdapackage/deployment-package.zip", "Default: mrap-edge/deployment-package.zip")
    )
    aws = Aws(tmp_path)
    env = aws.env()
    (tmp_path / "code.zip").write_bytes(b"PK")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(aws.bin / "aws"), *args], env=env, capture_output=True, text=True, timeout=60)

    assert cli("s3", "cp", str(tmp_path / "code.zip"), "s3://dep/lambdapackage/deployment-package.zip").returncode == 0
    made = cli("cloudformation", "create-stack", "--stack-name", "demo", "--template-body", f"file://{template}",
               "--parameters", "ParameterKey=S3BucketOneName,ParameterValue=a",
               "ParameterKey=S3BucketTwoName,ParameterValue=b", "ParameterKey=S3BucketDeployables,ParameterValue=dep",
               "--capabilities", "CAPABILITY_IAM", "--region", "us-east-1")  # fmt: skip
    assert made.returncode == 0, made.stderr
    waited = cli("cloudformation", "wait", "stack-create-complete", "--stack-name", "demo", "--region", "us-east-1")
    assert waited.returncode == 255 and "ROLLBACK_COMPLETE" in waited.stderr
    events = aws.read()["stacks"]["demo"]["events"]
    assert any("NoSuchKey" in e.get("ResourceStatusReason", "") for e in events)


SAMPLE_ARGS = (
    "--parameters",
    "ParameterKey=S3BucketOneName,ParameterValue=a",
    "ParameterKey=S3BucketTwoName,ParameterValue=b",
    "ParameterKey=S3BucketDeployables,ParameterValue=dep",
)


def sample_cli(tmp_path: Path) -> tuple[Aws, object]:
    """The recording aws with the sample's package uploaded at the template's default key."""
    aws = Aws(tmp_path)
    env = aws.env()
    (tmp_path / "code.zip").write_bytes(b"PK")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(aws.bin / "aws"), *args], env=env, capture_output=True, text=True, timeout=60)

    assert cli("s3", "cp", str(tmp_path / "code.zip"), "s3://dep/lambdapackage/deployment-package.zip").returncode == 0
    return aws, cli


def test_the_recording_aws_refuses_a_named_role_without_named_iam(tmp_path: Path) -> None:
    # What the sample's create-stack met when the role had a RoleName.
    template = tmp_path / "named.template"
    text = (ROOT / "cloudformation.template").read_text()
    assert text.count("      Path: /mrap-edge/\n") == 1
    template.write_text(text.replace("      Path: /mrap-edge/\n", "      RoleName: mrap-edge-signer\n"))
    _, cli = sample_cli(tmp_path)
    base = ("cloudformation", "create-stack", "--template-body", f"file://{template}", *SAMPLE_ARGS)
    made = cli(*base, "--stack-name", "demo", "--capabilities", "CAPABILITY_IAM")
    assert made.returncode == 254 and "Requires capabilities : [CAPABILITY_NAMED_IAM]" in made.stderr
    assert cli(*base, "--stack-name", "demo", "--capabilities", "CAPABILITY_NAMED_IAM").returncode == 0


def test_the_recording_aws_rolls_back_a_role_whose_boundary_does_not_exist(tmp_path: Path) -> None:
    # What the sample's create-stack met when the boundary was on by default: no such policy.
    aws, cli = sample_cli(tmp_path)
    boundary = "ParameterKey=FunctionPermissionsBoundary,ParameterValue=mrap-edge-function-boundary"
    base = ("cloudformation", "create-stack", "--template-body", f"file://{ROOT / 'cloudformation.template'}",
            *SAMPLE_ARGS, boundary, "--capabilities", "CAPABILITY_IAM", "--region", "us-east-1")  # fmt: skip
    assert cli(*base, "--stack-name", "first").returncode == 0
    waited = cli("cloudformation", "wait", "stack-create-complete", "--stack-name", "first", "--region", "us-east-1")
    assert waited.returncode == 255 and "ROLLBACK_COMPLETE" in waited.stderr
    [failed] = [e for e in aws.read()["stacks"]["first"]["events"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "EdgeFunctionRole"
    assert "policy/mrap-edge-function-boundary does not exist or is not attachable" in failed["ResourceStatusReason"]
    # Once an administrator has created it, the same call succeeds.
    created = cli("iam", "create-policy", "--policy-name", "mrap-edge-function-boundary",
                  "--policy-document", f"file://{ROOT / 'edge-function-boundary.json'}")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert cli(*base, "--stack-name", "second").returncode == 0
    waited = cli("cloudformation", "wait", "stack-create-complete", "--stack-name", "second", "--region", "us-east-1")
    assert waited.returncode == 0, waited.stderr


def test_the_recording_aws_rolls_back_a_change_set_whose_boundary_does_not_exist(tmp_path: Path) -> None:
    # The same refusal on deploy.sh's path (change sets), had it not made sure of the boundary first.
    aws, cli = sample_cli(tmp_path)
    boundary = "ParameterKey=FunctionPermissionsBoundary,ParameterValue=mrap-edge-function-boundary"
    made = cli("cloudformation", "create-change-set", "--stack-name", "mrap-edge", "--change-set-name", "cs",
               "--change-set-type", "CREATE", "--template-body", f"file://{ROOT / 'cloudformation.template'}",
               *SAMPLE_ARGS, boundary, "--capabilities", "CAPABILITY_IAM", "--region", "us-east-1")  # fmt: skip
    assert made.returncode == 0, made.stderr
    cli("cloudformation", "describe-change-set", "--stack-name", "mrap-edge", "--change-set-name", "cs")
    executed = cli("cloudformation", "execute-change-set", "--stack-name", "mrap-edge", "--change-set-name", "cs")
    assert executed.returncode == 0, executed.stderr
    waited = cli("cloudformation", "wait", "stack-create-complete", "--stack-name", "mrap-edge")
    assert waited.returncode == 255 and "ROLLBACK_COMPLETE" in waited.stderr
    [failed] = [e for e in aws.read()["stacks"]["mrap-edge"]["events"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "EdgeFunctionRole" and "not attachable" in failed["ResourceStatusReason"]
