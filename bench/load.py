"""Load on the local stand-in (``make bench-load``): not a timed test, a measurement.

Starts ``python -m local`` (edge, function pool from the zip, MRAP, moto) in its own
process, serving a generated site, then over loopback:

1. 1,000 concurrent viewers, one connection each, cold cache: every response's body is
   compared byte for byte with the file it should be; lost (no response, a connection
   error) and corrupted responses are counted;
2. 200 concurrent viewers, warm cache (mostly hits): p50/p99 latency;
3. 200 concurrent viewers, every request a miss (cache purged, distinct keys): the
   function -> MRAP -> bucket path, p50/p99;

and samples the peak RSS of the whole stack (the process and all its children: the
function workers). Exits 1 when a response is lost or corrupted or p99 at 200
concurrent is 2 s or more. Bounded: fixed request counts and a deadline per phase.

    python bench/load.py [--zip lambda/deployment-package.zip] [--viewers 1000] [--port 18480]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def make_site(folder: Path, count: int) -> dict[str, bytes]:
    """Files of 1 KB to 256 KB, names with spaces, '+' and unicode."""
    rng = random.Random(20261127)
    files = {}
    names = ["page {i}.html", "a+b/{i}.css", "日本語/{i}.txt", "img/ø {i}.bin"]
    for i in range(count):
        key = names[i % len(names)].format(i=i)
        size = rng.choice([1024, 4096, 16384, 65536, 262144])
        body = rng.randbytes(size)
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        files[key] = body
    return files


def tree_rss(pid: int) -> int:
    """RSS in bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
        todo.extend(children.get(current, []))
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.peak = max(self.peak, tree_rss(self.pid))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


async def phase(base: str, keys: list[str], files: dict[str, bytes], viewers: int, deadline: float) -> dict:
    """``viewers`` concurrent viewers, one connection each, ``len(keys)`` requests in all."""
    latencies: list[float] = []
    problems: list[str] = []
    lost = corrupted = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)

    async def viewer() -> None:
        nonlocal lost, corrupted
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            while not queue.empty():
                key = queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    async with session.get(base + "/" + quote(key), timeout=aiohttp.ClientTimeout(total=30)) as r:
                        body = await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError):
                    lost += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if status != 200 or body != files[key]:
                    corrupted += 1
                    if len(problems) < 5:
                        problems.append(f"{key}: {status}, {len(body)} of {len(files[key])} bytes, {body[:120]!r}")

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(viewer() for _ in range(viewers))), timeout=deadline)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "viewers": viewers,
        "requests": len(keys),
        "lost": lost,
        "corrupted": corrupted,
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "rps": round(len(latencies) / elapsed, 1),
        "problems": problems,
    }


def purge(control: str) -> None:
    json_post = {"Content-Type": "application/json"}  # the control API takes JSON POSTs only
    req = urllib.request.Request(control + "/cache/purge", data=b"{}", method="POST", headers=json_post)  # noqa: S310
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zip", type=Path, default=ROOT / "lambda" / "deployment-package.zip")
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--files", type=int, default=400)
    args = parser.parse_args()

    site = Path(tempfile.mkdtemp(prefix="mrap-edge-load-"))
    files = make_site(site, args.files)
    keys = sorted(files)
    cmd = [sys.executable, "-m", "local", "--port", str(args.port), "--site", str(site), "--replication-delay", "0",
           "--zip", str(args.zip)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            print("".join(lines), file=sys.stderr)
            print("bench-load: the stand-in did not start", file=sys.stderr)
            return 1
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            break
    access_log: list[str] = []
    threading.Thread(target=lambda: access_log.extend(proc.stdout), daemon=True).start()  # drain it
    base, control = f"http://127.0.0.1:{args.port}", f"http://127.0.0.1:{args.port + 1}"
    sampler = RssSampler(proc.pid)
    sampler.start()
    results = {}
    try:
        rng = random.Random(1)
        cold = [keys[i % len(keys)] for i in range(args.viewers)]
        rng.shuffle(cold)
        results["1000 viewers, cold cache"] = asyncio.run(phase(base, cold, files, args.viewers, 180))
        warm = [rng.choice(keys) for _ in range(2000)]
        results["200 viewers, warm cache"] = asyncio.run(phase(base, warm, files, 200, 120))
        purge(control)
        results["200 viewers, every request a miss"] = asyncio.run(phase(base, keys, files, 200, 120))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        peak = sampler.stop()
    for name, r in results.items():
        print(f"{name:36s} {r['requests']:5d} req  lost {r['lost']}  corrupted {r['corrupted']}  "
              f"p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms  {r['rps']} req/s")  # fmt: skip
        for problem in r["problems"]:
            print(f"    not as expected: {problem}")
    print(f"peak RSS of the whole stack (edge, MRAP, moto, function workers): {peak / 2**20:.1f} MiB")
    print(json.dumps({"results": results, "peak_rss_mib": round(peak / 2**20, 1)}))
    log_path = site.with_suffix(".log")
    log_path.write_text("".join(access_log))
    print(f"the stand-in's log: {log_path}")
    unusual = [line.rstrip() for line in access_log if line.startswith("edge ") and " -> 200 " not in line]
    for line in unusual[:5]:
        print(f"    stand-in log: {line}")
    bad = sum(r["lost"] + r["corrupted"] for r in results.values())
    p99 = max(r["p99_ms"] or 0 for name, r in results.items() if name.startswith("200"))
    if bad or p99 >= 2000:
        print(f"bench-load: FAILED ({bad} lost or corrupted, p99 at 200 concurrent {p99} ms)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
