#!/usr/bin/env python3
"""Benchmark: warm invocation latency, cold import time and memory, in one run.

    python bench/run.py --zip lambda/deployment-package.zip

Subjects, in fresh ``python3.13 -I -S -B`` processes (the runtime's Python; no
bytecode written, as in Lambda's read-only code folder). Warm calls of ours and
bare awscrt run interleaved in one process, the baseline in its own, alternating;
cold imports run in a fresh process each:

- ``ours``: the handler from the deployment zip.
- ``baseline``: bench/baseline_naive.py, the public sample's pattern (a boto3 Session
  and signer per request), with boto3 and the same botocore/awscrt, shipped without
  bytecode as the sample ships.
- ``bare-awscrt``: one awscrt SigV4A sign call with a prebuilt credentials provider.

Prints p50/p99 per call, cold import medians and peak RSS, then the ratios the
targets are stated in, and exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_package import find_python313  # noqa: E402

WORKER = Path(__file__).with_name("worker.py")
BASELINE = Path(__file__).with_name("baseline_naive.py")
ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PATH": os.environ.get("PATH", ""),
}
TARGETS = {
    "warm p50 speed-up over baseline (>= 100x)": (lambda r: r["warm_speedup"] >= 100),
    "warm p50 vs bare awscrt (<= 2.5x)": (lambda r: r["warm_vs_bare"] <= 2.5),
    "cold import vs baseline (<= 0.6x)": (lambda r: r["cold_vs_baseline"] <= 0.6),
    "zip size (<= 6 MB)": (lambda r: r["zip_mb"] <= 6.0),
}


def prepare(zip_path: Path, workdir: Path) -> dict[str, Path]:
    shutil.rmtree(workdir, ignore_errors=True)
    ours = workdir / "ours"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(ours)
    baseline = workdir / "baseline"
    # The same pinned wheels as the zip, plus boto3, with no bytecode.
    pins = [line.split()[0] for line in (ROOT / "lambda" / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")]  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--target", str(baseline), "--only-binary=:all:", "--platform", "manylinux2014_x86_64",
         "--implementation", "cp", "--python-version", "3.13", "boto3==1.44.8", "s3transfer==0.19.3", *pins],
        check=True,
    )  # fmt: skip
    for cache in baseline.rglob("__pycache__"):
        shutil.rmtree(cache)
    shutil.copyfile(BASELINE, baseline / "baseline_naive.py")
    return {"ours": ours, "baseline": baseline}


def run_worker(python: str, *args: object) -> dict:
    proc = subprocess.run(
        [python, "-I", "-S", "-B", str(WORKER), *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zip", type=Path, default=ROOT / "lambda" / "deployment-package.zip")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--iterations", type=int, default=3000, help="warm calls of ours and of bare awscrt")
    parser.add_argument("--rounds", type=int, default=3, help="warm processes per subject, alternated")
    parser.add_argument("--cold-runs", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)

    python = find_python313() or sys.executable
    folders = prepare(args.zip, args.workdir)
    samples: dict[str, list[float]] = {"ours": [], "bare-awscrt": [], "baseline": []}
    for _ in range(args.rounds):  # alternate the processes so drift in machine speed hits all
        for name, values in run_worker(python, "warm", folders["ours"], args.iterations // args.rounds)[
            "timings"
        ].items():
            samples[name] += values
        baseline_calls = max(10, args.iterations // args.rounds // 10)
        samples["baseline"] += run_worker(python, "warm-baseline", folders["baseline"], baseline_calls)["timings"][
            "baseline"
        ]
    warm = {name: (percentile(sorted(t), 0.5), percentile(sorted(t), 0.99), len(t)) for name, t in samples.items()}
    cold: dict[str, float] = {}
    first: dict[str, float] = {}
    rss: dict[str, int] = {}
    for subject, module in (("ours", "lambda_function"), ("baseline", "baseline_naive")):
        runs = [run_worker(python, "cold", folders[subject], module) for _ in range(args.cold_runs)]
        cold[subject] = statistics.median(r["import_seconds"] for r in runs)
        first[subject] = statistics.median(r["first_call_seconds"] for r in runs)
        rss[subject] = max(r["max_rss_kib"] for r in runs)

    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()  # fmt: skip
    print(f"python {version}, {os.cpu_count()} cpus; warm: {warm['ours'][2]} calls each of ours and bare "
          f"(interleaved), {warm['baseline'][2]} of baseline, over {args.rounds} alternating processes; "
          f"cold: median of {args.cold_runs} fresh processes")  # fmt: skip
    print(f"{'subject':<12} {'warm p50':>11} {'warm p99':>11} {'cold import':>12} {'1st call':>10} {'peak RSS':>9}")
    for subject in ("ours", "baseline", "bare-awscrt"):
        p50, p99, _ = warm[subject]
        if subject in cold:
            tail = f"{cold[subject] * 1e3:9.1f} ms {first[subject] * 1e3:7.1f} ms {rss[subject] / 1024:6.1f} MB"
        else:
            tail = f"{'-':>12} {'-':>10} {'-':>9}"
        print(f"{subject:<12} {p50 * 1e6:8.1f} µs {p99 * 1e6:8.1f} µs {tail}")
    results = {
        "warm_speedup": warm["baseline"][0] / warm["ours"][0],
        "warm_vs_bare": warm["ours"][0] / warm["bare-awscrt"][0],
        "cold_vs_baseline": cold["ours"] / cold["baseline"],
        "zip_mb": args.zip.stat().st_size / 1e6,
    }
    print(f"ratios: warm speed-up over baseline {results['warm_speedup']:.0f}x, "
          f"warm vs bare awscrt {results['warm_vs_bare']:.2f}x, "
          f"cold import vs baseline {results['cold_vs_baseline']:.2f}x, zip {results['zip_mb']:.2f} MB")  # fmt: skip
    failed = [name for name, check in TARGETS.items() if not check(results)]
    for name, check in TARGETS.items():
        print(f"  {'ok  ' if check(results) else 'MISS'} {name}")
    if args.json:
        print(json.dumps({"warm": warm, "cold": cold, "rss_kib": rss, **results}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
