#!/usr/bin/env python3
"""Build lambda/deployment-package.zip for the Lambda runtime python3.13 on x86_64.

    python scripts/build_package.py --python313 python3.13 --out lambda/deployment-package.zip

- Installs exactly the wheels pinned (with hashes) in lambda/requirements.txt, and
  fails if any is not for CPython 3.13 on manylinux x86_64 (pure, or abi3 from 3.11).
- Trims what the signer never loads (botocore's service models, docs, CA bundle, the
  debug info of the native module, ...).
- Ships bytecode compiled by python3.13 itself (unchecked-hash pycs, so the read-only
  code folder is never a reason to compile at cold start) and no other bytecode.
  The Python 3.13 is $PY313, or found (project-local .python/, pyenv, PATH, uv), or
  fetched by the project's pinned uv into .python/. Without one, only
  --allow-source-only (make demo/test) or ALLOW_SLOW_COLD_START=1 builds a zip of
  sources only; the default (make package, scripts/deploy.sh) refuses.
- Deterministic: same inputs, same sha256 (sorted entries, fixed timestamps and modes).
- With --if-changed (make package/demo/test), skips the build when the zip on disk was
  built from the same inputs (a digest of the handler, config, pins and this script,
  kept beside it in <out>.inputs). One build at a time per work folder (a lock); the zip
  is written to a temporary file and renamed, so an interrupted build (Ctrl-C: one line,
  exit 130) leaves the previous zip as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = ROOT / "lambda"
RUNTIME = (3, 13)
PLATFORM = "manylinux2014_x86_64"
# Matches the zip's unpacked path on Lambda, so tracebacks name /var/task/...
TASK_ROOT = "/var/task"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Where `uv python install 3.13` puts the Python that byte-compiles the package when the
# machine has none (git-ignored). Quick to fail where its download host is unreachable:
# one retry, short connect timeout; a stalled download gives up after UV_HTTP_TIMEOUT.
LOCAL_PYTHON_DIR = ROOT / ".python"
UV_FETCH_DEFAULTS = {"UV_HTTP_RETRIES": "1", "UV_HTTP_CONNECT_TIMEOUT": "10", "UV_HTTP_TIMEOUT": "30"}
FETCH_TIMEOUT = 600
# Cold import of the handler from a read-only folder, python3.13, with and without the
# shipped pycs (median of 9 fresh processes each, alternated; see docs/performance.md).
SOURCE_ONLY_COST = "every module would be compiled from source at each Lambda@Edge cold start, about 2x slower"
HOW_TO_GET_313 = (
    "get Python 3.13 (`uv python install 3.13`, `pyenv install 3.13` or your system's python3.13 package) "
    "or point PY313=/path/to/python3.13 at one"
)
OPT_IN = "ALLOW_SLOW_COLD_START"

# Never imported by the signer: dropping them is most of the size saving.
TRIM = (
    "botocore/data/*",
    "botocore/docs/*",
    "botocore/cacert.pem",
    "dateutil/zoneinfo/*.tar.gz",
    "*/tests/*",
    "*/__pycache__/*",
    "*.dist-info/RECORD",
    "*.dist-info/INSTALLER",
    "*.dist-info/REQUESTED",
    "*.dist-info/direct_url.json",
)
HANDLER_FILES = ("lambda_function.py", "mrap_edge/*.py")
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<ver>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


class BuildError(RuntimeError):
    pass


def check_wheel_tags(filename: str) -> None:
    """Accept pure wheels and CPython abi3 manylinux x86_64 wheels usable on 3.13."""
    match = _WHEEL.match(filename)
    if not match:
        raise BuildError(f"{filename}: not a wheel file name")
    py, abi, plat = match["py"].split("."), match["abi"], match["plat"].split(".")
    if abi == "none" and plat == ["any"] and any(tag in ("py3", "py2.py3") or tag == "py3" for tag in py):
        return
    if abi == "abi3" and all(p.startswith("manylinux") and p.endswith("_x86_64") for p in plat):
        versions = [int(tag[3:]) for tag in py if re.fullmatch(r"cp3\d+", tag)]
        if versions and all(v <= RUNTIME[1] for v in versions):
            return
    raise BuildError(f"{filename}: built for {match['py']}-{abi}-{match['plat']}, not python3.13 on x86_64 (abi3)")


def download_wheels(requirements: Path, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--require-hashes", "--only-binary=:all:",
        "--platform", PLATFORM, "--implementation", "cp",
        "--python-version", f"{RUNTIME[0]}.{RUNTIME[1]}",
        "-r", str(requirements), "-d", str(dest),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        raise BuildError(f"pip download failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")
    wanted = {
        re.split(r"[=\s]", line.strip())[0].lower().replace("-", "_")
        for line in requirements.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "--"))
    }
    wheels = sorted(p for p in dest.glob("*.whl") if p.name.split("-")[0].lower() in wanted)
    if len(wheels) != len(wanted):
        raise BuildError(f"expected {len(wanted)} wheels for {sorted(wanted)}, found {[w.name for w in wheels]}")
    for wheel in wheels:
        check_wheel_tags(wheel.name)
    return wheels


def is_trimmed(relpath: str) -> bool:
    return any(fnmatch.fnmatch(relpath, pattern) for pattern in TRIM)


def extract_wheel(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir():
                continue
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers: never used in Lambda
                name = "/".join(parts[2:])
            if is_trimmed(name):
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))


def check_native_code(root: Path) -> None:
    """Every shared object must be a stable-ABI (abi3) x86-64 ELF file."""
    for path in root.rglob("*.so*"):
        rel = path.relative_to(root).as_posix()
        if not path.name.endswith(".abi3.so"):
            raise BuildError(f"{rel}: native module is not abi3; it would be tied to one Python version")
        head = path.read_bytes()[:20]
        if head[:4] != b"\x7fELF" or head[4] != 2 or int.from_bytes(head[18:20], "little") != 0x3E:
            raise BuildError(f"{rel}: not a 64-bit x86-64 ELF shared object")


def strip_debug_info(root: Path) -> None:
    """Drop DWARF debug sections (half of _awscrt's size); code and symbols stay."""
    strip = shutil.which("strip")
    if strip is None:
        raise BuildError("'strip' (binutils) is needed to drop debug info from native modules")
    for path in sorted(root.rglob("*.abi3.so")):
        subprocess.run([strip, "--strip-debug", "--enable-deterministic-archives", str(path)], check=True)


def copy_handler(dest: Path, config: Path) -> None:
    for pattern in HANDLER_FILES:
        for src in sorted(LAMBDA_DIR.glob(pattern)):
            target = dest / src.relative_to(LAMBDA_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
    sys.path.insert(0, str(LAMBDA_DIR))
    from mrap_edge.config import load_config  # validate before shipping

    load_config(config)
    # Normalised JSON so the zip does not depend on the file's formatting.
    (dest / "config.json").write_text(json.dumps(json.loads(config.read_text()), indent=2, sort_keys=True) + "\n")


def python_version(candidate: str, env: dict[str, str] | None = None) -> str | None:
    """'3.13' for a working Python 3.13 (any 'major.minor' it reports), None if it does not run."""
    try:
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


def _newest_first(paths: list[Path]) -> list[str]:
    def key(path: Path) -> list[int]:
        return [int(n) for n in re.findall(r"\d+", path.relative_to(path.parents[2]).as_posix())]

    return [str(p) for p in sorted(paths, key=key, reverse=True)]


def default_uv(env: dict[str, str] | None = None) -> str | None:
    """The uv pinned in requirements-dev.txt (installed into the project venv), else one on PATH."""
    env = os.environ if env is None else env
    for beside in (ROOT / ".venv" / "bin" / "uv", Path(sys.executable).parent / "uv"):
        if os.access(beside, os.X_OK):
            return str(beside)
    return shutil.which("uv", path=env.get("PATH", ""))


def python313_candidates(env: dict[str, str], local_dir: Path, uv: str | None) -> Iterator[str]:
    """Where a Python 3.13 may be, in order. Lazy: later (slower) places are looked at only if needed."""
    yield env.get("PY313", "")
    yield from _newest_first(list(local_dir.glob("cpython-3.13*/bin/python3.13")))  # fetched by uv earlier
    path = env.get("PATH", "")
    pyenv = shutil.which("pyenv", path=path)
    if pyenv:
        try:
            root = subprocess.run([pyenv, "root"], capture_output=True, text=True, env=env, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            root = ""
        if root:
            yield from _newest_first(list(Path(root).glob("versions/3.13*/bin/python3.13")))
    yield shutil.which("python3.13", path=path) or ""
    if uv:
        try:
            found = subprocess.run([uv, "python", "find", "--no-project", "3.13"],
                                   capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return
        if found.returncode == 0:
            yield found.stdout.strip()


def find_python313(
    env: dict[str, str] | None = None, local_dir: Path | None = None, uv: str | None = None
) -> str | None:
    """A working Python 3.13 already on this machine, or None. Looks, in order, at: ``$PY313``;
    the project-local one uv fetched (.python/); pyenv's versions; ``python3.13`` on PATH;
    ``uv python find 3.13``. Never downloads anything (see fetch_python313)."""
    env = dict(os.environ) if env is None else env
    local_dir = LOCAL_PYTHON_DIR if local_dir is None else local_dir
    uv = default_uv(env) if uv is None else uv
    for candidate in python313_candidates(env, local_dir, uv):
        if candidate and python_version(candidate, env) == "3.13":
            return candidate
    return None


def fetch_python313(
    env: dict[str, str] | None = None, local_dir: Path | None = None, uv: str | None = None
) -> tuple[str | None, str]:
    """``uv python install 3.13`` into the project-local, git-ignored .python/ (used only to
    byte-compile the package). Returns (the interpreter, "") or (None, why not), quickly when
    the download cannot be reached."""
    env = dict(os.environ) if env is None else env
    local_dir = LOCAL_PYTHON_DIR if local_dir is None else local_dir
    uv = default_uv(env) if uv is None else uv
    if not uv:
        return None, "uv is not installed (make venv installs the pinned one)"
    shown = local_dir.relative_to(ROOT) if local_dir.is_relative_to(ROOT) else local_dir
    print(f"build_package: fetching CPython 3.13 (a python-build-standalone build, with uv) into {shown}/ "
          "(git-ignored), only to byte-compile the package", file=sys.stderr, flush=True)  # fmt: skip
    uv_env = {**UV_FETCH_DEFAULTS, **env, "UV_PYTHON_INSTALL_DIR": str(local_dir)}
    try:
        proc = subprocess.run([uv, "python", "install", "--no-bin", "3.13"],
                              capture_output=True, text=True, env=uv_env, timeout=FETCH_TIMEOUT)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, f"uv python install 3.13 took more than {FETCH_TIMEOUT} s"
    except OSError as exc:
        return None, f"uv could not run: {exc}"
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        causes = [line.removeprefix("cause:").strip() for line in lines if line.startswith("cause:")]
        reason = causes[-1] if causes else (lines[-1] if lines else f"exit status {proc.returncode}")
        return None, f"uv python install 3.13 failed: {reason}"
    for candidate in _newest_first(list(local_dir.glob("cpython-3.13*/bin/python3.13"))):
        if python_version(candidate, env) == "3.13":
            return candidate, ""
    return None, f"uv python install 3.13 left no working python3.13 in {shown}/"


def compile_bytecode(python313: str, root: Path) -> None:
    version = python_version(python313)
    if version != f"{RUNTIME[0]}.{RUNTIME[1]}":
        raise BuildError(
            f"{python313!r} is not a working Python 3.13 (it reports {version or 'nothing'}); "
            "the package must carry bytecode for the Lambda runtime python3.13"
        )
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(
        [
            python313, "-m", "compileall", "-q", "-j", "1",
            "--invalidation-mode", "unchecked-hash",
            "-s", str(root), "-p", TASK_ROOT, str(root),
        ],
        check=True,
        env=env,
    )  # fmt: skip
    for pyc in root.rglob("*.pyc"):
        if pyc.parent.name != "__pycache__" or not pyc.name.endswith(".cpython-313.pyc"):
            raise BuildError(f"{pyc.relative_to(root)}: bytecode for another Python version")
    missing = [p for p in root.rglob("*.py") if not (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").exists()]
    if missing:
        raise BuildError(f"{len(missing)} modules did not compile, e.g. {missing[0].relative_to(root)}")


def write_zip(root: Path, out: Path) -> None:
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    tmp = out.with_suffix(".zip.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for path in files:
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=ZIP_DATE)
                info.create_system = 3
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes(), compresslevel=9)
        tmp.replace(out)  # atomic: a reader sees the old zip or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)


def input_digest(config: Path, bytecode: bool) -> str:
    """What the zip is built from: the handler's files, the shipped settings, the pinned
    wheels, this script, and whether it carries bytecode. Same digest, same zip."""
    digest = hashlib.sha256(f"bytecode={bytecode}\n".encode())
    sources = [LAMBDA_DIR / "requirements.txt", Path(__file__).resolve()]
    sources += [p for pattern in HANDLER_FILES for p in sorted(LAMBDA_DIR.glob(pattern))]
    for path in sources:
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        digest.update(f"{name}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"config.json\0" + hashlib.sha256(config.read_bytes()).digest())
    return digest.hexdigest()


def stamp_path(out: Path) -> Path:
    return out.with_name(out.name + ".inputs")


def up_to_date(out: Path, digest: str) -> bool:
    """The zip exists, is the one the stamp describes (not replaced or truncated since),
    and was built from these inputs."""
    stamp = stamp_path(out)
    try:
        recorded = json.loads(stamp.read_text())
        data = out.read_bytes()
    except (OSError, ValueError):
        return False
    return (
        isinstance(recorded, dict)
        and recorded.get("inputs") == digest
        and recorded.get("sha256") == hashlib.sha256(data).hexdigest()
    )


def write_stamp(out: Path, digest: str, sha256: str) -> None:
    stamp = stamp_path(out)
    tmp = stamp.with_name(stamp.name + ".tmp")
    tmp.write_text(json.dumps({"inputs": digest, "sha256": sha256}) + "\n")
    tmp.replace(stamp)


@contextlib.contextmanager
def build_lock(workdir: Path) -> Iterator[None]:
    """One build at a time in a work folder (make demo and make test in two terminals share build/)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"build_package: waiting for another build in {workdir} to finish", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build(out: Path, python313: str | None, config: Path, workdir: Path) -> dict[str, object]:
    """The zip; with python313=None, sources only (no bytecode at all)."""
    wheels = download_wheels(LAMBDA_DIR / "requirements.txt", workdir / "wheels")
    staging = workdir / "package"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for wheel in wheels:
        extract_wheel(wheel, staging)
    check_native_code(staging)
    strip_debug_info(staging)
    copy_handler(staging, config)
    if python313 is not None:
        compile_bytecode(python313, staging)
    elif any(staging.rglob("*.pyc")):
        raise BuildError("a sources-only package must hold no bytecode")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_zip(staging, out)
    data = out.read_bytes()
    unpacked = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    return {
        "zip": str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out),
        "bytes": len(data),
        "unpacked_bytes": unpacked,
        "files": sum(1 for p in staging.rglob("*") if p.is_file()),
        "sha256": hashlib.sha256(data).hexdigest(),
        "wheels": [w.name for w in wheels],
        "bytecode": python313 is not None,
    }


def choose_python313(explicit: str | None, env: dict[str, str]) -> tuple[str | None, str]:
    """(the Python 3.13 to compile with, "") or (None, why there is none): --python313, else
    $PY313 (which must be 3.13), else one found on this machine, else one fetched with uv."""
    if explicit:
        return explicit, ""
    if env.get("PY313"):
        if python_version(env["PY313"], env) != "3.13":
            raise BuildError(f"PY313={env['PY313']} is not a working Python 3.13")
        return env["PY313"], ""
    found = find_python313(env)
    return (found, "") if found else fetch_python313(env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=LAMBDA_DIR / "deployment-package.zip")
    parser.add_argument("--python313", help="the Python 3.13 that compiles bytecode (default: found on this machine)")
    parser.add_argument("--config", type=Path, default=LAMBDA_DIR / "config.json", help="settings to ship")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build")
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help="do nothing when the zip on disk was built from the same sources, settings and pins",
    )
    parser.add_argument(
        "--allow-source-only",
        action="store_true",
        help=f"without any Python 3.13, build a zip of sources only after a warning (make demo/test); "
        f"otherwise that needs {OPT_IN}=1, as a deployment must not carry it by accident",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    try:
        with build_lock(args.workdir):
            return build_if_needed(args, out)
    except KeyboardInterrupt:
        # Ctrl-C: one line, not a traceback; write_zip renames only a finished zip.
        print(f"\nbuild_package: interrupted; {shown} left as it was", file=sys.stderr)
        return 130


def build_if_needed(args: argparse.Namespace, out: Path) -> int:
    env = dict(os.environ)
    try:
        if args.if_changed and out.exists() and args.config.is_file():
            # Cheap first: a zip with bytecode built from these inputs needs no Python 3.13
            # lookup at all. A sources-only one is kept only where sources only is allowed,
            # and only while this machine still has no Python 3.13 to do better with.
            sources_only_ok = args.allow_source_only or env.get(OPT_IN, "").lower() in ("1", "true", "yes")
            for bytecode in (True, False) if sources_only_ok else (True,):
                if up_to_date(out, input_digest(args.config, bytecode)) and (
                    bytecode or (args.python313 is None and find_python313(env) is None)
                ):
                    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
                    kind = "python3.13 bytecode" if bytecode else "SOURCES ONLY (no bytecode)"
                    # Not "up to date": deploy.sh says that of the stack, and only of the stack.
                    print(f"kept {shown} ({kind}): built from these same sources, settings and pins")
                    return 0
        python313, why = choose_python313(args.python313, env)
        if python313 is None:
            if not (args.allow_source_only or env.get(OPT_IN, "").lower() in ("1", "true", "yes")):
                raise BuildError(
                    f"no Python 3.13 found, and {why}. Refusing to build a deployment zip without bytecode "
                    f"({SOURCE_ONLY_COST}): {HOW_TO_GET_313}, or accept the slow zip with {OPT_IN}=1"
                )
            print(
                f"build_package: warning: no Python 3.13 found, and {why}. Building the zip from sources only, "
                f"without bytecode ({SOURCE_ONLY_COST}); fine for make demo/test, but to deploy {HOW_TO_GET_313}",
                file=sys.stderr,
                flush=True,
            )
        stamp_path(out).unlink(missing_ok=True)
        summary = build(out, python313, args.config, args.workdir)
        write_stamp(out, input_digest(args.config, python313 is not None), str(summary["sha256"]))
    except BuildError as exc:
        print(f"build_package: error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"build_package: error: {' '.join(map(str, exc.cmd[:4]))}... failed ({exc.returncode})", file=sys.stderr)
        return 1
    print(
        f"built {summary['zip']}: {summary['bytes'] / 1e6:.2f} MB zipped, "
        f"{summary['unpacked_bytes'] / 1e6:.2f} MB unpacked, {summary['files']} files, "
        f"{'python3.13 bytecode' if summary['bytecode'] else 'SOURCES ONLY (no bytecode)'}, sha256 {summary['sha256']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
