"""Which Python 3.13 byte-compiles the zip, and what happens where none can be had.

Discovery order: $PY313, the project-local .python/ (fetched by uv earlier), pyenv,
``python3.13`` on PATH, ``uv python find``; then ``uv python install`` into .python/.
Without any: make demo/test (--allow-source-only) build a zip of sources only after one
warning; a deployment build refuses unless ALLOW_SLOW_COLD_START=1.

The machine is simulated: fake interpreters (scripts that report a version), a fake
pyenv and uv, and a PATH holding only them. The real pinned uv runs too, against a
closed loopback port instead of its download host: no test here uses the network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.package.test_zip import ZIP, _check_run

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_package  # noqa: E402

REAL_UV = ROOT / ".venv" / "bin" / "uv"
SHELL_PATH = "PATH=/usr/bin:/bin\n"  # the fakes' own tools; the PATH under test holds only fakes


def script(path: Path, body: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + SHELL_PATH + body)
    path.chmod(0o755)
    return str(path)


def fake_python(path: Path, version: str = "3.13") -> str:
    """Answers the version probe like a real interpreter of that version."""
    return script(path, f"echo {version}\n")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Machine:
    """A machine where every place holds a Python 3.13; tests take them away one by one."""

    def __init__(self, tmp: Path) -> None:
        self.local_dir = tmp / "project" / ".python"
        self.explicit = fake_python(tmp / "explicit" / "python3.13")
        self.local = fake_python(self.local_dir / "cpython-3.13.7-linux-x86_64-gnu" / "bin" / "python3.13")
        pyenv_root = tmp / "pyenv-root"
        fake_python(pyenv_root / "versions" / "3.13.2" / "bin" / "python3.13")
        self.pyenv = fake_python(pyenv_root / "versions" / "3.13.10" / "bin" / "python3.13")  # newest wins
        fake_python(pyenv_root / "versions" / "3.12.9" / "bin" / "python3.13", "3.12")
        self.pyenv_bin = tmp / "pyenv-bin"
        script(self.pyenv_bin / "pyenv", f'[ "$1" = root ] && echo {pyenv_root}\n')
        self.path_bin = tmp / "path-bin"
        self.on_path = fake_python(self.path_bin / "python3.13")
        self.uv_found = fake_python(tmp / "uv-managed" / "cpython-3.13.5" / "bin" / "python3.13")
        self.uv_log = tmp / "uv.log"
        self.uv = script(
            tmp / "uv-bin" / "uv",
            f"""echo "$* HTTP_TIMEOUT=$UV_HTTP_TIMEOUT RETRIES=$UV_HTTP_RETRIES DIR=$UV_PYTHON_INSTALL_DIR" \\
  >> {self.uv_log}
case "$1 $2" in
  "python find")
    [ -x {self.uv_found} ] && {{ echo {self.uv_found}; exit 0; }}
    echo "error: No interpreter found for Python 3.13" >&2; exit 2 ;;
  "python install")
    if [ "$FAKE_UV_INSTALL" = ok ]; then
      bin="$UV_PYTHON_INSTALL_DIR/cpython-3.13.9-linux-x86_64-gnu/bin"
      mkdir -p "$bin" && printf '#!/bin/sh\\necho 3.13\\n' > "$bin/python3.13" && chmod 755 "$bin/python3.13"
      exit 0
    fi
    printf 'error: Failed to install cpython-3.13.9\\n  cause: Request failed\\n  cause: dns error\\n' >&2
    exit 1 ;;
esac
exit 3
""",
        )
        self.env = {"PY313": self.explicit, "PATH": f"{self.pyenv_bin}:{self.path_bin}"}

    def take_away(self, place: str) -> None:
        if place == "explicit":
            self.env["PY313"] = ""
        elif place == "local":
            shutil.rmtree(self.local_dir)
        elif place == "pyenv":
            self.env["PATH"] = str(self.path_bin)
        else:
            os.remove(getattr(self, place))

    def find(self) -> str | None:
        return build_package.find_python313(dict(self.env), self.local_dir, self.uv)

    def uv_calls(self) -> list[str]:
        return self.uv_log.read_text().splitlines() if self.uv_log.exists() else []


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_discovery_order(machine: Machine) -> None:
    assert machine.find() == machine.explicit
    machine.take_away("explicit")
    assert machine.find() == machine.local
    machine.take_away("local")
    assert machine.find() == machine.pyenv
    machine.take_away("pyenv")
    assert machine.find() == machine.on_path
    assert machine.uv_calls() == []  # uv is asked only when everything before it failed
    machine.take_away("on_path")
    assert machine.find() == machine.uv_found
    assert machine.uv_calls()[-1].startswith("python find --no-project 3.13 ")
    machine.take_away("uv_found")
    assert machine.find() is None
    assert not any(" install " in f" {call}" for call in machine.uv_calls())  # finding never downloads


@pytest.mark.parametrize("place", ["explicit", "local", "pyenv", "on_path"])
@pytest.mark.parametrize("broken", ["3.12", "exit 1"])
def test_a_place_without_a_working_313_is_passed_over(machine: Machine, place: str, broken: str) -> None:
    order = ["explicit", "local", "pyenv", "on_path", "uv_found"]
    for earlier in order[: order.index(place)]:  # only `place` and what follows hold a 3.13
        machine.take_away(earlier)
    if broken == "exit 1":
        script(Path(getattr(machine, place)), "exit 1\n")
    else:
        fake_python(Path(getattr(machine, place)), broken)
    expected = getattr(machine, order[order.index(place) + 1])
    if place == "pyenv":  # the older 3.13 of pyenv still works
        expected = str(Path(machine.pyenv).parents[2] / "3.13.2" / "bin" / "python3.13")
    assert machine.find() == expected


def test_fetch_installs_into_the_project_local_folder_then_is_found_there(machine, capsys) -> None:
    env = {"PATH": str(machine.path_bin), "FAKE_UV_INSTALL": "ok"}
    shutil.rmtree(machine.local_dir)
    found, why = build_package.fetch_python313(env, machine.local_dir, machine.uv)
    assert why == ""
    assert found == str(machine.local_dir / "cpython-3.13.9-linux-x86_64-gnu" / "bin" / "python3.13")
    call = machine.uv_calls()[-1]
    assert call.startswith("python install --no-bin 3.13 ")  # --no-bin: nothing put in ~/.local/bin
    assert f"DIR={machine.local_dir}" in call and "HTTP_TIMEOUT=30" in call and "RETRIES=1" in call
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "fetching CPython 3.13" in said[0] and str(machine.local_dir) in said[0]
    # next time it is found as the project-local interpreter, before pyenv and PATH
    machine.env["PY313"] = ""
    assert machine.find() == found


def test_fetch_failure_gives_the_reason(machine) -> None:
    found, why = build_package.fetch_python313({"PATH": str(machine.path_bin)}, machine.local_dir, machine.uv)
    assert found is None and why == "uv python install 3.13 failed: dns error"
    found, why = build_package.fetch_python313({"PATH": str(machine.path_bin)}, machine.local_dir, uv="")
    assert found is None and "uv is not installed" in why


def uv_offline_env(tmp: Path) -> dict[str, str]:
    """The real uv with its download host unreachable (a closed loopback port), its own
    cache and managed-Python folder, and a PATH with no Python at all."""
    return {
        "PATH": str(tmp / "empty-bin"),
        "HOME": str(tmp / "home"),
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        "UV_PYTHON_INSTALL_DIR": str(tmp / "uv-managed"),
        "UV_PYTHON_INSTALL_MIRROR": f"http://127.0.0.1:{closed_port()}",
    }


def test_real_uv_fails_fast_without_its_download_host(tmp_path) -> None:
    if not REAL_UV.exists():
        pytest.fail("the pinned uv is missing from .venv: run make venv")
    local_dir = tmp_path / "project" / ".python"
    start = time.monotonic()
    found, why = build_package.fetch_python313(uv_offline_env(tmp_path), local_dir, str(REAL_UV))
    assert found is None
    assert why.startswith("uv python install 3.13 failed: ") and "refused" in why.lower()
    assert time.monotonic() - start < 60
    assert not list(local_dir.glob("*/bin/python3.13"))


# --- the whole build on a machine with no Python 3.13 -------------------------------

BUILD = """import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import build_package
build_package.LOCAL_PYTHON_DIR = Path(sys.argv[2])
sys.exit(build_package.main(sys.argv[3:]))
"""


def build_without_313(tmp: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """build_package.py on a simulated machine: no Python 3.13 anywhere (PATH holds only
    strip, no pyenv), uv's download host unreachable, wheels from the last make package."""
    wheels = ROOT / "build" / "wheels"
    if not any(wheels.glob("*.whl")):
        pytest.fail("build/wheels is empty: run `make package` first (make test does)")
    env = uv_offline_env(tmp)
    bin_dir = Path(env["PATH"])
    bin_dir.mkdir(parents=True, exist_ok=True)
    strip = shutil.which("strip")
    assert strip, "binutils' strip is needed to build the zip"
    (bin_dir / "strip").symlink_to(strip)
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra})
    cmd = [sys.executable, "-c", BUILD, str(ROOT / "scripts"), str(tmp / "project" / ".python"), *args]
    return subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=600)


def said(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("build_package:")]


@pytest.fixture(scope="module")
def source_only(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    tmp = tmp_path_factory.mktemp("no313")
    out = tmp / "sources-only.zip"
    proc = build_without_313(tmp, "--allow-source-only", "--out", str(out), "--workdir", str(tmp / "work"))
    assert proc.returncode == 0, proc.stderr
    return proc, out


def test_deployment_build_refuses_without_313(tmp_path) -> None:
    out = tmp_path / "deploy.zip"
    for opt_in in ({}, {"ALLOW_SLOW_COLD_START": "0"}):
        proc = build_without_313(tmp_path / str(len(opt_in)), "--out", str(out), **opt_in)
        assert proc.returncode == 1
        lines = said(proc)
        assert len(lines) == 2 and "fetching CPython 3.13" in lines[0]
        assert lines[1].startswith("build_package: error: no Python 3.13 found, and uv python install 3.13 failed")
        assert "without bytecode" in lines[1] and "2x slower" in lines[1]
        assert "PY313=" in lines[1] and "ALLOW_SLOW_COLD_START=1" in lines[1]
        assert "Traceback" not in proc.stderr
        assert not out.exists()


def test_deployment_build_goes_on_when_the_user_opts_in(tmp_path) -> None:
    # Passing the gate is what is tested: the wheels then cannot be found, so it stops there.
    proc = build_without_313(tmp_path, "--out", str(tmp_path / "z.zip"), ALLOW_SLOW_COLD_START="1",
                             PIP_FIND_LINKS=str(tmp_path / "no-wheels"))  # fmt: skip
    lines = said(proc)
    assert lines[1].startswith("build_package: warning: no Python 3.13 found")
    assert lines[2].startswith("build_package: error: ") and "pip download" in lines[2]


@pytest.mark.slow
def test_demo_and_test_build_a_sources_only_zip_after_one_warning(source_only) -> None:
    proc, _ = source_only
    lines = said(proc)
    assert len(lines) == 2 and "fetching CPython 3.13" in lines[0]
    warning = lines[1]
    assert warning.startswith("build_package: warning: no Python 3.13 found, and uv python install 3.13 failed")
    assert "sources only" in warning and "2x slower" in warning and "PY313=" in warning
    assert "SOURCES ONLY (no bytecode)" in proc.stdout


@pytest.mark.slow
def test_sources_only_zip_is_the_package_without_its_bytecode(source_only) -> None:
    _, out = source_only
    names = zipfile.ZipFile(out).namelist()
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    if not ZIP.exists():
        pytest.fail("lambda/deployment-package.zip is missing: run `make package` (make test does)")
    assert names == [n for n in zipfile.ZipFile(ZIP).namelist() if not n.endswith(".pyc")]


@pytest.mark.slow
def test_sources_only_zip_imports_and_signs_on_the_local_python(source_only, tmp_path, creds) -> None:
    _, out = source_only
    task = tmp_path / "task"
    zipfile.ZipFile(out).extractall(task)
    for path in sorted(task.rglob("*"), reverse=True):  # read-only, like /var/task
        path.chmod(0o555 if path.is_dir() else 0o444)
    result = _check_run(sys.executable, task, creds)
    assert result["version"] == list(sys.version_info[:2])
    assert str(task / "lambda_function.py") in result["compiled"]  # the cost: compiled at each cold start
    assert not list(task.rglob("*.pyc"))


@pytest.mark.parametrize(("target", "source_only_allowed"), [("demo", True), ("test", True), ("package", False)])
def test_make_lets_only_demo_and_test_build_sources_only(target: str, source_only_allowed: bool) -> None:
    plan = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    build = [line for line in plan.splitlines() if "scripts/build_package.py" in line]
    assert len(build) == 1
    assert ("--allow-source-only" in build[0].split()) is source_only_allowed


def test_an_explicit_py313_that_is_not_313_is_an_error(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PY313", fake_python(tmp_path / "python3.12", "3.12"))
    out = tmp_path / "z.zip"
    assert build_package.main(["--allow-source-only", "--out", str(out), "--workdir", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"build_package: error: PY313={tmp_path / 'python3.12'} is not a working Python 3.13"]
    assert not out.exists()
