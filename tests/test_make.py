"""The Makefile as a newcomer meets it: `make` alone lists every target, and `make demo`
checks its settings before it spends time building."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

from local.web import free_port_pair

ROOT = Path(__file__).resolve().parents[1]
# Never let a test reinstall the venv: its stamp counts as up to date (-o).
MAKE = ["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed"]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAKE, *args], capture_output=True, text=True, timeout=120)


def targets() -> set[str]:
    rules = re.findall(r"^([a-z][a-z-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M)
    return set(rules)


def test_make_alone_lists_every_target_with_a_line_each() -> None:
    proc = make()
    assert proc.returncode == 0, proc.stderr
    listed = {}
    for line in proc.stdout.splitlines()[1:]:
        name, _, what = line.strip().partition(" ")
        listed[name] = what.strip()
    assert len(targets()) > 20
    assert set(listed) == targets() - {"help"}
    assert all(listed.values()), listed
    assert make("help").stdout == proc.stdout


def test_demo_refuses_a_busy_port_before_building() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = make("demo", f"PORT={port}")
    assert proc.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in proc.stderr
    assert "build_package" not in proc.stdout + proc.stderr


def test_demo_refuses_a_missing_site_before_building(tmp_path: Path) -> None:
    proc = make("demo", f"SITE={tmp_path / 'nowhere'}", f"PORT={free_port_pair()}")
    assert proc.returncode != 0
    assert f"SITE={tmp_path / 'nowhere'} is not a folder" in proc.stderr
    assert "build_package" not in proc.stdout + proc.stderr
