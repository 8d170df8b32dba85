"""Runs inside a fresh ``python -I -S`` process, like a Lambda execution environment.

    python -I -S -B worker.py /path/to/extracted/package PROTOCOL_FD

Imports ``lambda_function`` from the package folder only, then answers one JSON
invocation per line on stdin with one JSON line on the protocol file descriptor.
The function's own stdout (its logs) goes to stderr, as CloudWatch would collect it.
Uses only the standard library.
"""

import json
import os
import sys
import time
import traceback

task, fd = sys.argv[1], int(sys.argv[2])
sys.path[:] = [task] + [p for p in sys.path if "site-packages" not in p and p != ""]
protocol = os.fdopen(fd, "w", buffering=1)
sys.stdout = sys.stderr  # the function's log lines

started = time.perf_counter()
try:
    import lambda_function

    init = {"ready": True, "init_ms": round((time.perf_counter() - started) * 1000, 2)}
except Exception as exc:  # an INIT failure: report it, CloudFront answers 503
    init = {"ready": False, "error": f"{type(exc).__name__}: {exc}"}
protocol.write(json.dumps(init) + "\n")
if not init["ready"]:
    sys.exit(1)

for line in sys.stdin:
    invocation = json.loads(line)
    t0 = time.perf_counter()
    try:
        result = lambda_function.lambda_handler(invocation["event"], None)
        answer = {"result": result}
    except Exception as exc:  # unhandled: CloudFront answers 503
        traceback.print_exc()
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    answer["ms"] = round((time.perf_counter() - t0) * 1000, 3)
    try:
        protocol.write(json.dumps(answer) + "\n")
    except (TypeError, ValueError) as exc:
        protocol.write(json.dumps({"error": f"result is not JSON: {exc}", "ms": answer["ms"]}) + "\n")
