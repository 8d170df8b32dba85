"""Helpers for the end-to-end tests: template copies with permissions granted or
revoked, an access-log collector, one-shot HTTP requests."""

from __future__ import annotations

import copy
import http.client
import socket
import time
from pathlib import Path
from typing import Any

import yaml

from local import settings
from local.template import load_template

S3_READ_EXTRAS = ("s3:GetObjectVersion", "s3:ListBucket")
# Template parameters that allow viewers every guarded S3 parameter (response-*, versionId) (docs/security.md).
OPTED_IN = {
    "AllowVersionReads": "yes",
    "AllowedResponseOverrides": "response-cache-control,response-content-disposition,response-content-encoding,"
    "response-content-language,response-content-type,response-expires",
}


def _mrap_statements(template: dict[str, Any], mode: str = "lambda-edge") -> list[dict[str, Any]]:
    """The MRAP policy's statements for a signing mode (a list the caller may edit)."""
    statement = template["Resources"]["MrapPolicy"]["Properties"]["Policy"]["Statement"]
    if isinstance(statement, dict) and "Fn::If" in statement:  # [SignsWithOac, oac, lambda-edge]
        return statement["Fn::If"][1 if mode == "oac" else 2]
    return statement


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def revoke(template: dict[str, Any], *actions: str) -> dict[str, Any]:
    """The template without these actions in any Allow of the role or MRAP policy."""
    out = copy.deepcopy(template)
    role = out["Resources"]["EdgeFunctionRole"]["Properties"]
    lists = [p["PolicyDocument"]["Statement"] for p in role["Policies"]] + [_mrap_statements(out)]
    for statements in lists:
        for statement in list(statements):
            if statement.get("Effect") != "Allow":
                continue
            kept = [a for a in _actions(statement) if a not in actions]
            if kept:
                statement["Action"] = kept
            else:
                statements.remove(statement)
    return out


def grant(template: dict[str, Any], *actions: str) -> dict[str, Any]:
    """The template with these S3 read actions allowed to the role, on the MRAP and the
    buckets (objects, or the bucket level for ListBucket), in both policies."""
    out = revoke(template, *actions)
    mrap = "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}"
    buckets = ["arn:${AWS::Partition}:s3:::${S3BucketOneName}", "arn:${AWS::Partition}:s3:::${S3BucketTwoName}"]
    for action in actions:
        suffix = "" if action == "s3:ListBucket" else "/*"
        mrap_arn = mrap if action == "s3:ListBucket" else mrap + "/object/*"
        resources = [{"Fn::Sub": mrap_arn}] + [{"Fn::Sub": b + suffix} for b in buckets]
        policies = out["Resources"]["EdgeFunctionRole"]["Properties"]["Policies"]
        statement = {"Effect": "Allow", "Action": action, "Resource": resources}
        policies.append({"PolicyName": f"granted-{action.split(':')[1]}", "PolicyDocument": {"Statement": [statement]}})
        _mrap_statements(out).append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::GetAtt": ["EdgeFunctionRole", "Arn"]}},
                "Action": action,
                "Resource": [{"Fn::Sub": mrap_arn}],
            }
        )
    return out


def with_error_caching(template: dict[str, Any], code: int, seconds: int | None) -> dict[str, Any]:
    """The template with CustomErrorResponses' ErrorCachingMinTTL for ``code`` set, or
    removed (``None``: CloudFront's 10 s default)."""
    out = copy.deepcopy(template)
    config = out["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    errors = [e for e in config.get("CustomErrorResponses", []) if int(e["ErrorCode"]) != code]
    if seconds is not None:
        errors.append({"ErrorCode": code, "ErrorCachingMinTTL": seconds})
    config["CustomErrorResponses"] = errors
    return out


def write_template(template: dict[str, Any], path: Path) -> Path:
    """Long forms only (Fn::Sub, Ref, ...): valid CloudFormation YAML that load_template reads."""
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


def template_copy(tmp: Path, name: str, *, grants: tuple[str, ...] = (), revokes: tuple[str, ...] = ()) -> Path:
    template = load_template()
    if revokes:
        template = revoke(template, *revokes)
    if grants:
        template = grant(template, *grants)
    return write_template(template, tmp / f"{name}.template")


class Log(list):
    def __call__(self, line: str) -> None:
        self.append(line)

    def wait_for(self, text: str, since: int, timeout: float = 10.0) -> str:
        """The edge writes its access line after the response: poll for it, bounded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self[since:]:
                if line.startswith("edge ") and text in line:
                    return line
            time.sleep(0.01)
        raise AssertionError(f"no edge log line with {text!r} in {self[since:]}")


def request(edge: Any, method: str, target: str, headers: dict[str, str] | None = None, body: bytes | None = None):
    conn = http.client.HTTPConnection(*edge.address, timeout=30)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def raw_exchange(address: tuple[str, int], data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read until the server closes (or the timeout)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def put_everywhere(stack: Any, key: str, body: bytes) -> list[str | None]:
    """MRAP buckets hold the same objects (replication keeps them in sync)."""
    return [stack.buckets.put(b.name, key, body, "text/plain") for b in settings.BUCKETS]
