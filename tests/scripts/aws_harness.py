"""Runs the deploy scripts against the recording ``aws`` (fake_aws.py) and reads back
what they called and printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).with_name("fake_aws.py")
STACK = "mrap-edge-test"
# What the scripts read from the user's shell: never inherited from the one running the tests.
USER_NAMES = ("LOCAL_CONTROL", "REGION_ONE", "REGION_TWO", "BUCKET_ONE", "BUCKET_TWO", "CONFIRM", "TO", "SINCE",
              "FILTER", "FOLLOW", "RETENTION", "REGIONS", "MRAP_ARN", "FUNCTION_NAME")  # fmt: skip


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
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FAKE_")) and k not in USER_NAMES}
        env.update(
            PATH=f"{self.bin}:{os.environ['PATH']}",
            FAKE_AWS_STATE=str(self.state),
            FAKE_AWS_LOG=str(self.log),
            PYTHON=sys.executable,
            S3_BUCKET_ONE="bucket-eu",
            S3_BUCKET_TWO="bucket-ap",
            S3_BUCKET_DEPLOYABLES="deployables",
            STACK_NAME=STACK,
            POLL_SECONDS="0",
            SETTLE_POLL="0",  # replication in the recording aws advances with each call, not with time
            # These tests check the deploy steps, not the bytecode: build on machines without 3.13 too.
            ALLOW_SLOW_COLD_START="1",
        )
        env.update(extra)
        return env

    def calls(self) -> list[list[str]]:
        """The calls since the last look (and forget them)."""
        lines = self.log.read_text().splitlines()
        self.log.write_text("")
        return [json.loads(line) for line in lines]

    def read(self) -> dict:
        return json.loads(self.state.read_text()) if self.state.exists() else {}

    def write(self, state: dict) -> None:
        self.state.write_text(json.dumps(state, indent=1))

    def update(self, **keys: object) -> None:
        state = self.read()
        state.update(keys)
        self.write(state)

    def stack(self, name: str = STACK) -> dict:
        return self.read()["stacks"][name]

    def set_status(self, status: str, name: str = STACK) -> None:
        state = self.read()
        state["stacks"][name]["status"] = status
        self.write(state)


def run(script: str, env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts" / script), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def ops(calls: list[list[str]]) -> list[str]:
    """'service op' for each call (the wait's waiter name too)."""
    out = []
    for call in calls:
        args = [a for i, a in enumerate(call) if a != "--region" and (i == 0 or call[i - 1] != "--region")]
        out.append(" ".join(args[:3] if args[1] == "wait" else args[:2]))
    return out


def arg(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def seed_stack(aws: Aws, status: str = "CREATE_COMPLETE", name: str = STACK, version: int = 1) -> None:
    """A stack as a finished deploy leaves it, without building and deploying."""
    template = (ROOT / "cloudformation.template").read_text()
    stack_id = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/0000-seed"
    params = {"S3BucketOneName": "bucket-eu", "S3BucketTwoName": "bucket-ap", "S3BucketDeployables": "deployables"}
    state = aws.read()
    state.setdefault("stacks", {})[name] = {
        "name": name, "id": stack_id, "status": status, "params": params, "template": template,
        "resources": {}, "events": [], "version": version,
        "outputs": {
            "CloudFrontDns": "https://d111111abcdef8.cloudfront.net", "DistributionId": "EDFDVBD6EXAMPLE",
            "S3BucketOneName": "bucket-eu", "S3BucketTwoName": "bucket-ap",
            "FunctionName": "mrap-edge-1a2b3c4d-signer",
            "FunctionVersionArn": f"arn:aws:lambda:us-east-1:123456789012:function:mrap-edge-1a2b3c4d-signer:{version}",
        },
    }  # fmt: skip
    aws.write(state)


class HttpStub:
    """A ``BaseHTTPRequestHandler`` class served on 127.0.0.1 from a thread (a stand-in the
    scripts talk to over HTTP: a distribution, the local control API)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
