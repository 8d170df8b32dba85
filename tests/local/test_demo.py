"""`make demo`'s program: serves a site folder, the control API, stops cleanly on Ctrl-C;
a busy port is one clear line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from local.web import free_port_pair

ROOT = Path(__file__).resolve().parents[2]
JSON = {"Content-Type": "application/json"}  # the control API takes JSON POSTs only
pytestmark = pytest.mark.slow


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "local", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:  # readline returns as soon as a line is printed
        line = proc.stdout.readline()
        lines.append(line)
        if "Ctrl-C stops everything" in line or not line:
            break
    return proc, "".join(lines)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize("signing", ["lambda-edge", "oac"])  # make demo SIGNING=oac
def test_demo_serves_a_site_and_stops_on_ctrl_c(tmp_path: Path, signing: str) -> None:
    site = tmp_path / "site"
    (site / "sub dir").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<h1>my site</h1>\n")
    (site / "sub dir" / "a+b ü.txt").write_bytes(b"exact name\n")
    (tmp_path / "secret.txt").write_bytes(b"not for the web\n")
    (site / "leak.txt").symlink_to(tmp_path / "secret.txt")  # leaves the folder: never served
    port = free_port_pair()  # the control port is port + 1
    proc, text = start(["--port", str(port), "--site", str(site), "--replication-delay", "10", "--signing", signing])
    try:
        edge, control = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
        assert f"CloudFrontDns   {edge}" in text, text
        assert ("function        none (SigningMode oac" in text) == (signing == "oac")
        assert "S3 (moto)       http://127.0.0.1:" in text and "--endpoint-url" in text
        for verb in ("/buckets", "/down", "/up", "/passive", "/active", "/routes", "/cache", "/cache/purge"):
            assert verb in text, verb
        assert get(edge + "/")[1] == b"<h1>my site</h1>\n"
        assert get(edge + "/" + quote("sub dir/a+b ü.txt")) == (200, b"exact name\n")
        assert "reached through a symlink that leaves the folder: leak.txt" in text, text
        assert get(edge + "/leak.txt")[0] in (403, 404)
        # The farther bucket has not received the files yet: routed there, a key is missing.
        req = urllib.request.Request(control + "/buckets/local-bucket-one/down", method="POST", headers=JSON)
        assert json.loads(urllib.request.urlopen(req, timeout=30).read())[0]["up"] is False
        urllib.request.urlopen(
            urllib.request.Request(control + "/cache/purge", method="POST", headers=JSON), timeout=30
        ).read()
        assert get(edge + "/index.html")[0] in (403, 404)
        deadline = time.monotonic() + 30  # replicated 10 s after seeding
        while get(edge + "/index.html")[0] != 200 and time.monotonic() < deadline:
            urllib.request.urlopen(
                urllib.request.Request(control + "/cache/purge", method="POST", headers=JSON), timeout=30
            ).read()
            time.sleep(0.5)
        assert get(edge + "/index.html") == (200, b"<h1>my site</h1>\n")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopping..." in out and "Traceback" not in out
    assert "edge  GET /index.html -> 200 signed cache=miss mrap=local-bucket-two(ap-southeast-2) 200" in out


def test_a_busy_port_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "local", "--port", str(port)], cwd=ROOT, capture_output=True,
                                text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"local edge: port {port} on 127.0.0.1 is in use; pick another with PORT=... (the control API takes PORT+1)"
    )
    assert "Traceback" not in result.stdout + result.stderr
