"""`make mutation`: mutmut over the function (lambda/) and the verifier (local/s3/sigv4a.py,
local/s3/verifier.py), each against its own tests; prints each target's score and survivors.

Usage::

    python mutation/run.py                 # both targets
    python mutation/run.py verifier        # one
    MUTATION_JOBS=1 python mutation/run.py # fewer parallel test processes (default: CPUs)

Each target is staged in build/mutation/<target>/ (mutmut writes its mutants/ there,
never into the source tree), with mutation/<target>.toml as its [tool.mutmut]
settings.  Survivors that are equivalent mutants (no test can tell them apart from
the original) are listed in CONTRIBUTING.md, each with why; the score leaves them out.
Exits 1 if a target kills less than 90% of its non-equivalent mutants.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "mutation"
TARGET_SCORE = 90.0
# Fewer Hypothesis examples per mutant for the differential test (300 in `make test`).
DIFFERENTIAL_EXAMPLES = "30"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.zip", ".hypothesis", ".pytest_cache")
EQUIVALENT = re.compile(r"^- `([\w.ǁ]+__mutmut_\d+)`: \S")


def stage(target: str) -> Path:
    """A copy of what the target's tests need, laid out so module names match import names."""
    dest = BUILD / target
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=IGNORE)
    shutil.copytree(ROOT / "local", dest / "local", ignore=IGNORE)
    shutil.copy2(ROOT / "cloudformation.template", dest / "cloudformation.template")  # the stand-in's policies
    shutil.copy2(ROOT / "edge-function-boundary.json", dest / "edge-function-boundary.json")  # the role's boundary
    if target == "lambda":
        # As src/, mutmut names mutants mrap_edge.* and lambda_function.*, the names the
        # tests import; lambda/ keeps only config.json for the tests that read it there.
        shutil.copytree(ROOT / "lambda", dest / "src", ignore=IGNORE)
        (dest / "lambda").mkdir()
        shutil.copy2(ROOT / "lambda" / "config.json", dest / "lambda" / "config.json")
    else:
        shutil.copytree(ROOT / "lambda", dest / "lambda", ignore=IGNORE)
    settings = (ROOT / "mutation" / f"{target}.toml").read_text(encoding="utf-8")
    (dest / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8") + "\n" + settings)
    return dest


def mutmut(dest: Path, *args: str, log: Path | None = None) -> str:
    """Run mutmut in the stage; with ``log``, its output (a progress spinner) goes there."""
    env = {**os.environ, "MRAP_EDGE_DIFFERENTIAL_EXAMPLES": DIFFERENTIAL_EXAMPLES, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "mutmut", *args]
    if log:
        with log.open("w", encoding="utf-8") as sink:
            done = subprocess.run(command, cwd=dest, env=env, text=True, stdout=sink, stderr=subprocess.STDOUT)
    else:
        done = subprocess.run(command, cwd=dest, env=env, text=True, capture_output=True)
    if done.returncode != 0:
        where = f"; see {log}" if log else f":\n{done.stdout}{done.stderr}"
        raise SystemExit(f"mutation: `mutmut {' '.join(args)}` failed in {dest} (exit {done.returncode}){where}")
    return done.stdout or ""


SHOW = """
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
for name in sys.argv[1:]:
    print(f"# {name}")
    print(get_diff_for_mutant(name, path=find_mutant(name).path))
"""


def show(dest: Path, names: list[str]) -> str:
    """``mutmut show`` for many mutants in one process (one mutmut start-up each is slow)."""
    done = subprocess.run([sys.executable, "-c", SHOW, *names], cwd=dest, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        return "\n".join(names) + f"\n(diffs unavailable: {done.stderr.strip().splitlines()[-1:]})"
    return done.stdout


def equivalent_mutants() -> dict[str, str]:
    """``- `name`: why`` lines from CONTRIBUTING.md."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return {m[1]: line for line in text.splitlines() if (m := EQUIVALENT.match(line))}


def run_target(target: str, jobs: str) -> bool:
    started = time.monotonic()
    dest = stage(target)
    log = dest / "mutmut-run.log"
    print(f"== mutation: {target}: mutmut run, {jobs} jobs (progress: {log.relative_to(ROOT)})", flush=True)
    mutmut(dest, "run", "--max-children", jobs, log=log)
    mutmut(dest, "export-cicd-stats")
    stats = json.loads((dest / "mutants" / "mutmut-cicd-stats.json").read_text())
    results = {}
    for line in mutmut(dest, "results", "--all", "true").splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            results[name] = status
    listed = equivalent_mutants()
    not_killed = sorted(name for name, status in results.items() if status not in ("killed", "timeout", "skipped"))
    equivalent = [name for name in not_killed if name in listed]
    survivors = [name for name in not_killed if name not in listed]
    killed = sum(1 for status in results.values() if status in ("killed", "timeout"))
    total = sum(1 for status in results.values() if status != "skipped")
    scored = total - len(equivalent)
    score = 100.0 * killed / scored if scored else 0.0
    minutes = (time.monotonic() - started) / 60

    print(f"\n== {target}: {len(survivors)} non-equivalent survivors")
    if survivors:
        print(show(dest, survivors).rstrip())
    print(f"\n== {target}: equivalent survivors (CONTRIBUTING.md): {len(equivalent)}")
    for name in equivalent:
        print("   " + listed[name])
    stale = sorted(n for n in listed if n.startswith(_prefixes(target)) and results.get(n) in (None, "killed"))
    if stale:
        print(f"   listed as equivalent but killed or gone (update CONTRIBUTING.md): {', '.join(stale)}")
    print(
        f"== {target}: killed {killed} of {total} mutants; {len(equivalent)} equivalent; "
        f"score {killed}/{scored} = {score:.1f}% of non-equivalent (target {TARGET_SCORE:.0f}%); "
        f"mutmut counts {json.dumps({k: v for k, v in stats.items() if v})}; {minutes:.1f} min\n",
        flush=True,
    )
    return score >= TARGET_SCORE


def _prefixes(target: str) -> tuple[str, ...]:
    return ("mrap_edge.", "lambda_function.") if target == "lambda" else ("local.",)


def main(argv: list[str]) -> int:
    targets = argv or ["lambda", "verifier"]
    unknown = [t for t in targets if t not in ("lambda", "verifier")]
    if unknown:
        print(f"mutation: unknown target {unknown[0]!r}; use lambda and/or verifier", file=sys.stderr)
        return 2
    jobs = os.environ.get("MUTATION_JOBS", str(os.cpu_count() or 2))
    results = {target: run_target(target, jobs) for target in targets}
    failed = [target for target, ok in results.items() if not ok]
    if failed:
        print(f"mutation: below {TARGET_SCORE:.0f}% in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
