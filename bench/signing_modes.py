"""Added latency of a cache miss per signing mode, on the local stand-in (``make bench-modes``).

A measurement, not a test. For each mode (lambda-edge: the zip's function in a warm
worker pool; oac: the edge signing as CloudFront's origin access control does) it serves
``--misses`` sequential cache misses over loopback (distinct keys, one viewer) and reads
the edge's access line: ``fn=`` is the time the edge spent getting the signed request
(the function invocation, or its own signing), ``total=`` the whole request. The first
requests warm each mode up and are not counted. Prints median and p99 of both per mode.

    python bench/signing_modes.py [--zip lambda/deployment-package.zip] [--misses 300]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local import settings  # noqa: E402
from local.stack import LocalStack  # noqa: E402

LINE = re.compile(r"-> 200 signed cache=miss .* fn=([0-9.]+)ms .*total=([0-9.]+)ms")
WARMUP = 20


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(mode: str, zip_path: Path, misses: int) -> tuple[list[float], list[float]]:
    lines: list[str] = []
    with LocalStack(zip_path=zip_path, signing=mode, log=lines.append, with_failover=False) as stack:
        keys = [f"bench/{i}.txt" for i in range(WARMUP + misses)]
        for key in keys:  # in both buckets, as replication would have it
            for bucket in settings.BUCKETS:
                stack.buckets.put(bucket.name, key, b"x" * 1024, "text/plain")
        for key in keys:  # distinct keys: every request is a miss
            urllib.request.urlopen(f"{stack.edge.url}/{key}", timeout=30).read()  # noqa: S310 (loopback)
    found = [(float(m[1]), float(m[2])) for m in map(LINE.search, lines) if m][WARMUP:]
    return [f for f, _ in found], [t for _, t in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zip", type=Path, default=ROOT / "lambda" / "deployment-package.zip")
    parser.add_argument("--misses", type=int, default=300)
    args = parser.parse_args(argv)
    for mode in ("lambda-edge", "oac"):
        fn, total = measure(mode, args.zip, args.misses)
        if len(fn) < args.misses:
            print(f"{mode}: only {len(fn)} of {args.misses} misses were signed and served", file=sys.stderr)
            return 1
        print(f"{mode:<12} signing: median {statistics.median(fn):.2f} ms, p99 {quantile(fn, 0.99):.2f} ms;"
              f"  whole miss: median {statistics.median(total):.1f} ms, p99 {quantile(total, 0.99):.1f} ms"
              f"  ({len(fn)} misses)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
