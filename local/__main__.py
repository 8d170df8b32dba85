"""``make demo``: the whole path on this machine, until Ctrl-C.

    python -m local [--port 8080] [--zip lambda/deployment-package.zip]

Starts the buckets (moto), the MRAP endpoint, the function from the deployment zip
and the edge on 127.0.0.1, prints what to curl, and logs each request's decision.
A small control server (edge port + 1) marks buckets down or passive.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from . import settings
from .httputil import BackgroundServer, Handler
from .stack import DEFAULT_ZIP, LocalStack


def control_server(stack: LocalStack, port: int) -> BackgroundServer:
    """POST /buckets/<name>/(down|up|active|passive): change the MRAP's routing."""

    def serve(h: Handler) -> None:
        parts = h.path.strip("/").split("/")
        try:
            if h.command != "POST" or len(parts) != 3 or parts[0] != "buckets":
                raise KeyError(f"{h.command} {h.path}")
            _, bucket, action = parts
            if action in ("down", "up"):
                stack.mrap.mark_down(bucket, action == "down")
            elif action in ("active", "passive"):
                stack.mrap.set_traffic_dial(bucket, 100 if action == "active" else 0)
            else:
                raise KeyError(action)
        except (KeyError, ValueError) as exc:
            h.send_all(400, [("Content-Type", "text/plain")], f"cannot do that: {exc}\n".encode())
            return
        routes = [r.__dict__ for r in stack.mrap.routes]
        h.send_all(200, [("Content-Type", "application/json")], (json.dumps(routes, indent=1) + "\n").encode())
        print(f"control: {bucket} is now {action}", flush=True)

    return BackgroundServer(serve, "local-control", port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--port", type=int, default=8080, help="the edge's port on 127.0.0.1")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="the deployment package to run")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stack = LocalStack(zip_path=args.zip, port=args.port, log=lambda line: print(line, flush=True))
    except OSError as exc:
        print(f"local edge: cannot start: {exc} (is port {args.port} taken? use --port)", file=sys.stderr)
        return 1
    with stack:
        control = control_server(stack, args.port + 1)
        edge = stack.edge.url
        ctl = f"http://127.0.0.1:{args.port + 1}"
        one, two = (b.name for b in settings.BUCKETS)
        print(
            f"""
Local edge is up: CloudFront, Lambda@Edge ({stack.function.python}), an MRAP and its buckets on 127.0.0.1.
  CloudFrontDns   {edge}
  function        {args.zip} (unpacked read-only, run by {stack.function.python})
  MRAP            {settings.MRAP_DOMAIN} -> {stack.mrap.address[0]}:{stack.mrap.address[1]}
  buckets         {", ".join(f"{b.name} ({b.region}, {b.latency_ms:.0f} ms)" for b in settings.BUCKETS)}
  failover origin {settings.FAILOVER_DOMAIN} (bucket {settings.FAILOVER_BUCKET})

Try:
  curl -i {edge}/index.html                        # hello from s3 bucket one (the nearer)
  curl -i -H 'Range: bytes=0-4' {edge}/index.html  # 206
  curl -i {edge}/missing.txt                       # 404 from S3, signed and verified
  curl -i -X POST {edge}/index.html                # 403: the behavior allows GET/HEAD/OPTIONS
  curl -X POST {ctl}/buckets/{one}/down  # an outage: the MRAP routes to {two}
  curl -X POST {ctl}/buckets/{two}/down  # both down: 503, the origin group fails over
  curl -X POST {ctl}/buckets/{one}/up    # and back

Ctrl-C stops everything.
""",
            flush=True,
        )
        stop.wait()
        print("\nstopping...", flush=True)
        control.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
