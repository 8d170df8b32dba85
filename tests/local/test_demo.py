"""`make demo`'s program: starts, serves the edge and the control port, stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local.web import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_demo_serves_and_stops_on_ctrl_c() -> None:
    port = free_port()  # the control port is port + 1
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:  # readline returns as soon as a line is printed
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C stops everything" in line or not line:
                break
        text = "".join(lines)
        assert f"CloudFrontDns   http://127.0.0.1:{port}" in text, text
        assert f"curl -i http://127.0.0.1:{port}/index.html" in text
        edge = f"http://127.0.0.1:{port}"
        assert urllib.request.urlopen(edge + "/index.html", timeout=30).read() == b"hello from s3 bucket one\n"
        control = urllib.request.Request(f"http://127.0.0.1:{port + 1}/buckets/local-bucket-one/down", method="POST")
        urllib.request.urlopen(control, timeout=30).read()
        assert urllib.request.urlopen(edge + "/", timeout=30).read() == b"hello from s3 bucket two\n"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopping..." in out and "Traceback" not in out
    assert "edge  GET /index.html -> 200 signed" in out
    assert "mrap  GET /index.html -> local-bucket-two" in out
