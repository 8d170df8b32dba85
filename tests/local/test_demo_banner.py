"""`make demo`'s banner tells the truth: the X-Cache a viewer will see for the example
object, and an upload command that works as pasted on a machine with no AWS set-up."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from local.__main__ import banner, cache_hint
from local.stack import LocalStack
from tests.local.helpers import Log, request

pytestmark = pytest.mark.slow
BOUND = 4096  # the edge's cache bound for bodies, small so the test moves little data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    (folder / "a-big.bin").write_bytes(b"x" * (BOUND + 1))  # first in order: the banner's example
    (folder / "index.html").write_bytes(b"<h1>small</h1>\n")
    return folder


@pytest.fixture(scope="module")
def stack(site: Path) -> Iterator[LocalStack]:
    with LocalStack(log=Log(), concurrency=2, site=site, max_cached_body=BOUND) as stack:
        yield stack


def x_cache_twice(stack: LocalStack, key: str) -> list[str]:
    stack.edge.cache.purge()
    return [request(stack.edge, "GET", "/" + quote(key))[1]["x-cache"] for _ in range(2)]


@pytest.mark.parametrize("key", ["a-big.bin", "index.html"])
def test_the_cache_hint_is_what_two_gets_show(stack: LocalStack, site: Path, key: str) -> None:
    hint = cache_hint((site / key).stat().st_size, stack.edge.max_cached_body)
    seen = x_cache_twice(stack, key)
    assert seen[0] == "Miss from cloudfront"
    if "Hit" in hint:
        assert seen[1] == "Hit from cloudfront", hint
    else:
        assert seen[1] == "Miss from cloudfront" and "miss-too-big" in hint, hint


def test_the_banner_gives_the_example_object_its_own_hint(stack: LocalStack, site: Path) -> None:
    text = banner(stack, stack.edge.address[1], Path("lambda/deployment-package.zip"), site, 5)
    line = next(line for line in text.splitlines() if line.strip().startswith("curl -i http") and "a-big.bin" in line)
    assert "Miss each time" in line and "4,096 bytes" in line and "Hit" not in line, line


def test_the_hint_at_the_default_bound_names_8_mib() -> None:
    assert "over 8 MiB" in cache_hint(8 * 2**20 + 1, 8 * 2**20)
    assert cache_hint(8 * 2**20, 8 * 2**20) == "Miss, then Hit from cloudfront"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed, so its command is not run")
def test_the_upload_command_works_as_pasted_without_aws_configuration(stack: LocalStack, site: Path,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    text = banner(stack, stack.edge.address[1], Path("lambda/deployment-package.zip"), site, 5)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Upload"))
    echo, upload, fetch = (line.strip() for line in lines[start + 1 : start + 4])
    assert echo.startswith("echo ") and " aws s3 cp new.txt " in upload and fetch.startswith("curl ")
    # A machine with no AWS set-up: no AWS_* variables, no ~/.aws.
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": str(home)}

    def sh(command: str) -> subprocess.CompletedProcess[str]:
        # As a user pastes it: the shell reads the leading VAR=value assignments.
        return subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)  # noqa: S602

    assert sh(echo).returncode == 0
    bare = sh("aws " + upload.split(" aws ", 1)[1])  # what the banner used to print
    assert bare.returncode != 0 and "credentials" in bare.stderr.lower(), bare.stderr
    proc = sh(upload)
    assert proc.returncode == 0, proc.stderr
    url = fetch.split()[1]
    assert url.startswith(stack.edge.url)
    status, _, body = request(stack.edge, "GET", url.removeprefix(stack.edge.url))
    assert (status, body) == (200, b"a new file\n")
