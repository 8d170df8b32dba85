"""Shared fixtures: the handler from the source tree, fake credentials, CloudFront events."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "lambda", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from local.cloudfront.event import custom_origin, origin_request_event, validate_result, wire_request  # noqa: E402
from local.s3.verifier import Credential, verify_s3_request  # noqa: E402
from mrap_edge.allowlist import ALLOW_HEADER, ANONYMOUS_SAFE, GUARDED  # noqa: E402

MRAP_DOMAIN = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="
REQUEST_ID = "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="
# The MRAP origin's custom header of a distribution that allows every guarded
# parameter (AllowVersionReads=yes, every AllowedResponseOverrides): for tests of what
# the function signs, not of what it refuses (tests/lambda/test_allowlist.py).
ALLOW_ALL = {ALLOW_HEADER: ",".join((*ANONYMOUS_SAFE, *sorted(GUARDED)))}


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> dict[str, Credential]:
    """Long-term keys in the environment, as the verifier knows them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return {AKID: Credential(AKID, SECRET)}


@pytest.fixture
def session_creds(monkeypatch: pytest.MonkeyPatch) -> dict[str, Credential]:
    """Role credentials with a session token, as Lambda provides them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEROLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    return {"ASIAEXAMPLEROLE": Credential("ASIAEXAMPLEROLE", SECRET, TOKEN)}


def make_event(
    uri: str = "/index.html",
    querystring: str = "",
    method: str = "GET",
    headers: dict[str, list[str]] | None = None,
    domain: str = MRAP_DOMAIN,
    origin_path: str = "",
    custom_headers: dict[str, str] | None = None,
    request_id: str = REQUEST_ID,
) -> dict:
    base = {
        "Host": [domain],
        "User-Agent": ["Amazon CloudFront"],
        "Via": ["2.0 0123456789abcdef.cloudfront.net (CloudFront)"],
        "X-Forwarded-For": ["203.0.113.7"],
        "Accept-Encoding": ["br,gzip"],
    }
    base.update(headers or {})
    origin = custom_origin(domain, origin_path, custom_headers)
    return origin_request_event(method, uri, querystring, base, origin, request_id)


def request_of(event: dict) -> dict:
    return event["Records"][0]["cf"]["request"]


def check_signed(event: dict, result: dict, credentials: dict[str, Credential]):
    """CloudFront's validation, then S3's verification of what CloudFront would send."""
    validate_result(request_of(event), result)
    wire = wire_request(result, event["Records"][0]["cf"]["config"]["requestId"])
    verify_s3_request(wire, credentials, now=time.time())
    return wire


# The longest test files (measured: `make test` prints the slowest tests) go first. With
# `make test`'s --dist loadfile a file runs whole in one worker, in collection order, so a
# long file collected last would keep one core busy while the other sits idle at the end.
LONGEST_FIRST = (
    "tests/scripts/test_scripts.py",
    "tests/scripts/test_deploy_flow.py",
    "tests/scripts/test_ops.py",
    "tests/bench/test_bench.py",
    "tests/lambda/test_properties.py",
    "tests/package/test_zip.py",
    "tests/package/test_python313.py",
    "tests/local/test_demo.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other file, and the tests within a file, keep their order
