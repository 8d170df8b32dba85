#!/usr/bin/env python3
"""Build lambda/deployment-package.zip for the Lambda runtime python3.13 on x86_64.

    python scripts/build_package.py --python313 python3.13 --out lambda/deployment-package.zip

- Installs exactly the wheels pinned (with hashes) in lambda/requirements.txt, and
  fails if any is not for CPython 3.13 on manylinux x86_64 (pure, or abi3 from 3.11).
- Trims what the signer never loads (botocore's service models, docs, CA bundle, the
  debug info of the native module, ...).
- Ships bytecode compiled by python3.13 itself (unchecked-hash pycs, so the read-only
  code folder is never a reason to compile at cold start) and no other bytecode.
- Deterministic: same inputs, same sha256 (sorted entries, fixed timestamps and modes).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = ROOT / "lambda"
RUNTIME = (3, 13)
PLATFORM = "manylinux2014_x86_64"
# Matches the zip's unpacked path on Lambda, so tracebacks name /var/task/...
TASK_ROOT = "/var/task"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

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
    subprocess.run(cmd, check=True)
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


def find_python313() -> str | None:
    """``$PY313``, else a pyenv-installed 3.13, else a working ``python3.13`` on PATH."""
    candidates = [os.environ.get("PY313", "")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root).glob("versions/3.13*/bin/python3.13")) if root else []
    candidates.append(shutil.which("python3.13") or "")
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                               capture_output=True, text=True)  # fmt: skip
        if probe.stdout.strip() == "True":
            return candidate
    return None


def compile_bytecode(python313: str, root: Path) -> None:
    probe = subprocess.run(
        [python313, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
    )
    version = probe.stdout.strip()
    if probe.returncode != 0 or version != f"{RUNTIME[0]}.{RUNTIME[1]}":
        raise BuildError(
            f"{python313!r} is not Python 3.13 (got {version or probe.stderr.strip()!r}); "
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
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=ZIP_DATE)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(out)


def build(out: Path, python313: str, config: Path, workdir: Path) -> dict[str, object]:
    wheels = download_wheels(LAMBDA_DIR / "requirements.txt", workdir / "wheels")
    staging = workdir / "package"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for wheel in wheels:
        extract_wheel(wheel, staging)
    check_native_code(staging)
    strip_debug_info(staging)
    copy_handler(staging, config)
    compile_bytecode(python313, staging)
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
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=LAMBDA_DIR / "deployment-package.zip")
    parser.add_argument("--python313", help="the Python 3.13 that compiles bytecode (default: found on this machine)")
    parser.add_argument("--config", type=Path, default=LAMBDA_DIR / "config.json", help="settings to ship")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    python313 = args.python313 or find_python313()
    try:
        if python313 is None:
            raise BuildError(
                "no Python 3.13 found (set PY313=/path/to/python3.13); the package must carry its bytecode"
            )
        summary = build(args.out.resolve(), python313, args.config, args.workdir)
    except BuildError as exc:
        print(f"build_package: error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"build_package: error: {' '.join(map(str, exc.cmd[:4]))}... failed ({exc.returncode})", file=sys.stderr)
        return 1
    print(
        f"built {summary['zip']}: {summary['bytes'] / 1e6:.2f} MB zipped, "
        f"{summary['unpacked_bytes'] / 1e6:.2f} MB unpacked, {summary['files']} files, sha256 {summary['sha256']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
