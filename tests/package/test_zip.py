"""The deployment zip as shipped: contents, determinism, and the handler run from it
in fresh isolated interpreters (the local Python, and python3.13 like the runtime).
On a machine with no Python 3.13 (make test then builds the zip from sources only),
what needs 3.13 is skipped and the zip must hold no bytecode at all."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import AKID, ALLOW_ALL, MRAP_DOMAIN, REQUEST_ID, SECRET, check_signed, make_event

ROOT = Path(__file__).resolve().parents[2]
ZIP = ROOT / "lambda" / "deployment-package.zip"
sys.path.insert(0, str(ROOT / "scripts"))
import build_package  # noqa: E402

MAX_ZIP_BYTES = 6_000_000


NO_313 = "no Python 3.13 on this machine, so the zip carries sources only (README: The two commands)"


@functools.cache
def python313() -> str | None:
    return build_package.find_python313()


@pytest.fixture(scope="module")
def package() -> zipfile.ZipFile:
    if not ZIP.exists():
        pytest.fail("lambda/deployment-package.zip is missing: run `make package` (make test does)")
    return zipfile.ZipFile(ZIP)


@pytest.fixture(scope="module")
def extracted(package, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("task")
    package.extractall(folder)
    for path in sorted(folder.rglob("*"), reverse=True):  # read-only, like /var/task
        path.chmod(0o555 if path.is_dir() else 0o444)
    return folder


def test_zip_is_small(package) -> None:
    assert ZIP.stat().st_size <= MAX_ZIP_BYTES


def test_zip_holds_the_handler_and_its_dependencies(package) -> None:
    names = set(package.namelist())
    for required in (
        "lambda_function.py",
        "config.json",
        "mrap_edge/signer.py",
        "botocore/crt/auth.py",
        "awscrt/auth.py",
        "_awscrt.abi3.so",
    ):
        assert required in names
    if python313():
        for required in (
            "__pycache__/lambda_function.cpython-313.pyc",
            "mrap_edge/__pycache__/signer.cpython-313.pyc",
            "botocore/__pycache__/auth.cpython-313.pyc",
        ):
            assert required in names
    assert not any(n.startswith("botocore/data/") for n in names)
    assert not any(n.endswith("RECORD") for n in names)


def test_zip_ships_bytecode_for_python313_only(package) -> None:
    pycs = [n for n in package.namelist() if n.endswith(".pyc")]
    sources = [n for n in package.namelist() if n.endswith(".py")]
    if python313() is None:  # sources only: no bytecode of any version
        assert sources and pycs == []
        return
    assert pycs and all(n.endswith(".cpython-313.pyc") and "/__pycache__/" in f"/{n}" for n in pycs)
    assert len(pycs) == len(sources)
    for name in pycs[:20]:
        flags = int.from_bytes(package.read(name)[4:8], "little")
        assert flags == 0b01, f"{name} is not an unchecked-hash pyc"  # never re-validated at import


def test_zip_entries_are_deterministic(package) -> None:
    infos = package.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {build_package.ZIP_DATE}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_config_json_is_valid(package) -> None:
    config = json.loads(package.read("config.json"))
    assert config["failover_header"] == "originTypeFailover"


@pytest.mark.slow
def test_build_is_reproducible(tmp_path) -> None:
    py313 = python313()
    if py313 is None:
        pytest.skip(NO_313)
    out = tmp_path / "again.zip"
    build_package.main(["--python313", py313, "--out", str(out), "--workdir", str(tmp_path / "work")])
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(ZIP.read_bytes()).hexdigest()


RUN_FROM_ZIP = r"""
import importlib.machinery, json, sys
task = sys.argv[1]
sys.path[:] = [task] + [p for p in sys.path if "site-packages" not in p and p != ""]
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    if path.startswith(task):
        compiled.append(path)
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counting
import lambda_function
event = json.load(sys.stdin)
result = lambda_function.lambda_handler(event, None)
outside = sorted({m.__file__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and "site-packages" in m.__file__})
print(json.dumps({"result": result, "compiled": compiled, "outside": outside,
                  "version": list(sys.version_info[:2])}))
"""


def run_from_zip(python: str, task: Path, event: dict) -> dict:
    env = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET, "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run(
        [python, "-I", "-S", "-B", "-c", RUN_FROM_ZIP, str(task)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check_run(python: str, extracted: Path, creds) -> dict:
    # A distribution that allows both (the allowlist step ships in the zip too).
    event = make_event("/a+b/日本.txt", "versionId=v1&response-content-type=text%2Fplain", custom_headers=ALLOW_ALL)
    out = run_from_zip(python, extracted, event)
    assert out["outside"] == []  # nothing imported from an installed site-packages
    wire = check_signed(event, out["result"], creds)
    assert wire.headers[-1] == ("X-Amz-Cf-Id", REQUEST_ID)
    assert out["result"]["headers"]["host"][0]["value"] == MRAP_DOMAIN
    return out


@pytest.mark.slow
def test_handler_runs_from_the_zip_on_the_local_python(extracted, creds) -> None:
    out = _check_run(sys.executable, extracted, creds)
    assert out["version"] == list(sys.version_info[:2])


@pytest.mark.slow
def test_handler_runs_from_the_zip_on_python313_without_compiling(extracted, creds) -> None:
    py313 = python313()
    if py313 is None:
        pytest.skip(NO_313)
    out = _check_run(py313, extracted, creds)
    assert out["version"] == [3, 13]
    assert out["compiled"] == []  # every module came from the shipped bytecode


@pytest.mark.parametrize(
    "name",
    [
        "awscrt-0.38.0-cp313-cp313-manylinux2014_x86_64.whl",
        "awscrt-0.38.0-cp311-abi3-manylinux2014_aarch64.whl",
        "awscrt-0.38.0-cp311-abi3-macosx_11_0_arm64.whl",
        "awscrt-0.38.0-cp314-abi3-manylinux2014_x86_64.whl",
        "awscrt-0.38.0-cp311-abi3-win_amd64.whl",
        "thing-1.0-py2-none-any.whl",
        "not-a-wheel.tar.gz",
    ],
)
def test_wrong_platform_wheels_are_refused(name: str) -> None:
    with pytest.raises(build_package.BuildError):
        build_package.check_wheel_tags(name)


@pytest.mark.parametrize(
    "name",
    [
        "awscrt-0.38.0-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "botocore-1.44.8-py3-none-any.whl",
        "six-1.17.0-py2.py3-none-any.whl",
    ],
)
def test_runtime_wheels_are_accepted(name: str) -> None:
    build_package.check_wheel_tags(name)


def test_non_abi3_native_module_is_refused(tmp_path) -> None:
    (tmp_path / "_thing.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    with pytest.raises(build_package.BuildError, match="not abi3"):
        build_package.check_native_code(tmp_path)


def test_foreign_bytecode_is_refused(tmp_path) -> None:
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "m.py").write_text("x = 1\n")
    (tmp_path / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"")
    py313 = python313()
    if py313 is None:
        pytest.skip(NO_313)
    with pytest.raises(build_package.BuildError, match="another Python version"):
        build_package.compile_bytecode(py313, tmp_path)
