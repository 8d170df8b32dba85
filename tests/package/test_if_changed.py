"""build_package.py's bookkeeping: --if-changed skips only a build whose inputs and zip are
unchanged, one build at a time, and Ctrl-C is one line (exit 130) that leaves the zip as it was."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_package.py"
sys.path.insert(0, str(ROOT / "scripts"))
import build_package  # noqa: E402

CONFIG = ROOT / "lambda" / "config.json"


def stamped_zip(tmp_path: Path, bytecode: bool = True, config: Path = CONFIG) -> Path:
    """A zip on disk with the stamp a build from today's inputs leaves (no build needed)."""
    out = tmp_path / "package.zip"
    out.write_bytes(b"PK the zip")
    digest = build_package.input_digest(config, bytecode)
    build_package.write_stamp(out, digest, hashlib.sha256(out.read_bytes()).hexdigest())
    return out


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_an_unchanged_zip_is_not_rebuilt(tmp_path: Path) -> None:
    out = stamped_zip(tmp_path)
    proc = run("--if-changed", "--out", str(out), "--workdir", str(tmp_path / "work"), env={"PY313": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("kept ") and out.read_bytes() == b"PK the zip"


def test_without_if_changed_it_builds(tmp_path: Path) -> None:
    out = stamped_zip(tmp_path)
    # PY313 pointing nowhere stops the build at its first step: it was attempted.
    proc = run("--out", str(out), "--workdir", str(tmp_path / "work"), env={"PY313": "/nonexistent"})
    assert proc.returncode == 1 and "PY313=/nonexistent is not a working Python 3.13" in proc.stderr


def test_a_sources_only_zip_is_kept_only_where_sources_only_is_allowed(tmp_path: Path) -> None:
    out = stamped_zip(tmp_path, bytecode=False)
    args = ("--if-changed", "--out", str(out), "--workdir", str(tmp_path / "work"))
    assert run(*args, env={"PY313": "/nonexistent"}).returncode == 1  # make package: build (here: refuse)
    proc = run(*args, "--allow-source-only", env={"PY313": "/nonexistent"})  # make demo/test
    if build_package.find_python313({**os.environ, "PY313": "/nonexistent"}) is None:
        assert proc.returncode == 0 and "SOURCES ONLY" in proc.stdout
    else:  # this machine has a Python 3.13 now: build the better zip (here: PY313 refused first)
        assert proc.returncode == 1 and "PY313=/nonexistent" in proc.stderr


def test_a_changed_input_or_zip_means_out_of_date(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(CONFIG.read_bytes())
    out = stamped_zip(tmp_path, config=config)
    digest = build_package.input_digest(config, True)
    assert build_package.up_to_date(out, digest)
    assert not build_package.up_to_date(out, build_package.input_digest(config, False))
    config.write_text(CONFIG.read_text().replace("WARNING", "INFO"))
    assert build_package.input_digest(config, True) != digest
    out.write_bytes(b"PK the zip, replaced")
    assert not build_package.up_to_date(out, digest)
    build_package.stamp_path(out).unlink()
    assert not build_package.up_to_date(out, digest)


def test_the_digest_covers_the_handler_and_the_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "lambda"
    shutil.copytree(ROOT / "lambda", copy, ignore=shutil.ignore_patterns("*.zip*", "__pycache__"))
    monkeypatch.setattr(build_package, "LAMBDA_DIR", copy)
    seen = {build_package.input_digest(CONFIG, True)}
    for name in ("lambda_function.py", "mrap_edge/signer.py", "requirements.txt"):
        with open(copy / name, "a") as handle:
            handle.write("\n# changed\n")
        seen.add(build_package.input_digest(CONFIG, True))
    assert len(seen) == 4


def test_a_second_build_waits_for_the_first(tmp_path: Path) -> None:
    out = stamped_zip(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with open(work / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        args = ["--if-changed", "--out", str(out), "--workdir", str(work)]
        proc = subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        assert proc.stderr is not None
        assert "waiting for another build" in proc.stderr.readline()
        time.sleep(0.3)
        assert proc.poll() is None  # still waiting while the lock is held
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and stdout.startswith("kept ")


def test_ctrl_c_is_one_line_and_leaves_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "package.zip"
    out.write_bytes(b"PK the previous zip")
    marker = tmp_path / "started"
    slow = tmp_path / "python3.13"  # a "Python" that hangs when asked its version: the build is under way
    slow.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec sleep 60\n")
    slow.chmod(0o755)
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--out", str(out), "--workdir", str(tmp_path / "work")],
                            env={**os.environ, "PY313": str(slow)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.strip().splitlines() == ["build_package: interrupted; " + str(out) + " left as it was"], stderr
    assert out.read_bytes() == b"PK the previous zip"
