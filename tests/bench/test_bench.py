"""The benchmark runs end to end (tiny sizes: this checks it works, not the numbers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_prints_every_subject_and_ratio(tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_package import find_python313

    if find_python313() is None:  # its baseline is installed for 3.13, the runtime's Python
        pytest.skip("no Python 3.13 on this machine: the benchmark measures on the runtime's Python 3.13")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--iterations", "60", "--rounds", "1",
         "--cold-runs", "1", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr  # 1 = a target missed at this tiny size
    out = proc.stdout
    for subject in ("ours", "baseline", "bare-awscrt"):
        assert f"\n{subject} " in out
    assert "ratios: warm speed-up over baseline" in out
    assert out.count("ok  ") + out.count("MISS") == 4
