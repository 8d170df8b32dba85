"""``make demo``: the whole path on this machine, until Ctrl-C.

    python -m local [--port 8080] [--site FOLDER] [--replication-delay 5] [--zip ...] [--template ...]
                    [--param AllowVersionReads=yes ...]
    python -m local --check-only --port 8080 [--site FOLDER] [--param ...]   # check the arguments and ports only

Starts the buckets (moto), the MRAP endpoint, the function from the deployment zip,
the edge on 127.0.0.1:PORT and the control API on PORT+1, prints what to try, and
logs one line per request.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import settings
from .cloudfront.oac import OacSigner
from .lambda_edge.pool import FunctionError
from .stack import DEFAULT_ZIP, LocalStack
from .template import TEMPLATE
from .web import port_free


def cache_hint(size: int, max_cached: int) -> str:
    """What two GETs of an object show in X-Cache: the edge stores bodies up to its bound only."""
    if size > max_cached:
        bound = f"{max_cached // 2**20} MiB" if max_cached % 2**20 == 0 else f"{max_cached:,} bytes"
        return f"Miss each time: over {bound}, it streams through uncached (cache=miss-too-big)"
    return "Miss, then Hit from cloudfront"


def upload_command(moto: str, bucket: str, region: str, path: str, key: str) -> str:
    """`aws s3 cp` to moto that works as pasted on a machine with no AWS configuration: the
    CLI wants some credentials and a Region before it sends anything; moto accepts any."""
    return (
        f"AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION={region} "
        f"aws s3 cp {path} s3://{bucket}/{key} --endpoint-url {moto}"
    )


def banner(stack: LocalStack, port: int, zip_path: Path, site: Path | None, delay: float) -> str:
    edge = stack.edge.url
    ctl = stack.control.url if stack.control else f"http://127.0.0.1:{port + 1}"
    moto = "http://{}:{}".format(*stack.buckets.endpoint)
    one, two = (b.name for b in settings.BUCKETS)
    near, far = sorted(settings.BUCKETS, key=lambda b: b.latency_ms)
    first = stack.seeded[0] if stack.seeded else "index.html"
    size = (site / first).stat().st_size if site is not None and stack.seeded else 0
    params = ", ".join(f"{k}={v}" for k, v in stack.parameters.items()) or "defaults (make demo PARAMS='Key=value ...')"
    if site is not None:
        seeded = f"{len(stack.seeded)} files from {site}"
        seeded += f" (in {far.name} after {delay:g} s: replication)" if delay else ""
        skipped = stack.buckets.skipped
        if skipped:
            seeded += f"; not served, reached through a symlink that leaves the folder: {', '.join(skipped)}"
    else:
        seeded = "index.html says which bucket answered"
    from urllib.parse import quote

    if isinstance(stack.function, OacSigner):  # SigningMode oac
        signer = "CloudFront signing with its origin access control (SigV4A)"
        function = "none (SigningMode oac: CloudFront signs for the MRAP origin)"
    else:
        signer = f"Lambda@Edge ({stack.function.python})"
        function = f"{zip_path} (unpacked read-only, {stack.function.size} workers at most)"
    return f"""
Local edge is up: CloudFront, {signer}, an MRAP and its buckets on 127.0.0.1.
  CloudFrontDns   {edge}
  function        {function}
  MRAP            {settings.MRAP_DOMAIN} -> {stack.mrap.address[0]}:{stack.mrap.address[1]}
  buckets         {", ".join(f"{b.name} ({b.region}, {b.latency_ms:.0f} ms)" for b in settings.BUCKETS)}: {seeded}
  S3 (moto)       {moto}
  control API     {ctl}
  parameters      {params}

Try:
  curl -i {edge}/{quote(first)}                    # {cache_hint(size, stack.edge.max_cached_body)}
  curl -i -H 'Range: bytes=0-4' {edge}/{quote(first)}  # 206
  curl -i {edge}/missing.txt                       # 404 or 403, as ListBucket in the template says
  curl -i -X POST {edge}/index.html                # 403: the behavior allows GET/HEAD/OPTIONS
Upload (moto's S3 takes any keys; these dummy ones are all the AWS CLI needs, no AWS account):
  echo 'a new file' > new.txt
  {upload_command(moto, near.name, near.region, "new.txt", "new.txt")}
  curl {edge}/new.txt                              # from {near.name} (uploads are not replicated to {far.name})
Control ({ctl}; POSTs say JSON, so no web page can make them: J='Content-Type: application/json'):
  curl {ctl}/buckets                              # routes and health
  curl -X POST -H "$J" {ctl}/buckets/{one}/down  # an outage: the MRAP routes to {two} (also /up)
  curl -X POST -H "$J" {ctl}/buckets/{one}/passive  # traffic dial 0 (also /active)
  curl {ctl}/routes                               # as s3control get-multi-region-access-point-routes
  curl -X POST -H "$J" {ctl}/routes -d '{{"RouteUpdates": [{{"Bucket": "{one}", "Region": "{near.region}",
                                     "TrafficDialPercentage": 0}}]}}'   # failover, as s3control does
  curl {ctl}/cache                                # cached entries
  curl -X POST -H "$J" {ctl}/cache/purge     # an invalidation (optional {{"Paths": ["/*"]}})

Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--port", type=int, default=8080, help="the edge's port on 127.0.0.1 (control: port + 1)")
    parser.add_argument("--site", type=Path, default=None, help="a folder to serve: seeds both buckets")
    parser.add_argument("--replication-delay", type=float, default=5.0,
                        help="seconds before the farther bucket has the site's files (default 5)")  # fmt: skip
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="the deployment package to run")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the CloudFormation template to model")
    parser.add_argument("--workers", type=int, default=4, help="function workers at most (default 4)")
    parser.add_argument("--signing", choices=("lambda-edge", "oac"), default=None,
                        help="who signs origin requests: the template's SigningMode")  # fmt: skip
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter's value, as at deploy time (repeatable; "
                             "e.g. AllowVersionReads=yes, AllowedResponseOverrides=response-content-type)")  # fmt: skip
    parser.add_argument("--check-only", action="store_true",
                        help="check the port and the site folder only (make demo, before building)")  # fmt: skip
    args = parser.parse_args(argv)

    if not 1 <= args.port <= 65534:
        print(f"local edge: --port must be 1-65534 (the control API takes port + 1), not {args.port}", file=sys.stderr)
        return 2
    for port in (args.port, args.port + 1):
        if not port_free(port):
            print(f"local edge: port {port} on 127.0.0.1 is in use; pick another with PORT=... "
                  "(the control API takes PORT+1)", file=sys.stderr)  # fmt: skip
            return 1
    if args.site is not None and not args.site.is_dir():
        print(f"local edge: SITE={args.site} is not a folder", file=sys.stderr)
        return 2
    parameters = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"local edge: --param {item!r} is not KEY=VALUE (e.g. AllowVersionReads=yes)", file=sys.stderr)
            return 2
        parameters[key] = value
    if args.check_only:
        return 0

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stack = LocalStack(
            zip_path=args.zip, port=args.port, log=lambda line: print(line, flush=True), template_path=args.template,
            control_port=args.port + 1, site=args.site, replication_delay=args.replication_delay,
            concurrency=args.workers, parameters=parameters, signing=args.signing,
        )  # fmt: skip
    except OSError as exc:
        print(f"local edge: cannot start: {exc} (is port {args.port} or {args.port + 1} taken? use PORT=...)",
              file=sys.stderr)  # fmt: skip
        return 1
    except (FunctionError, ValueError) as exc:
        print(f"local edge: cannot start: {exc}", file=sys.stderr)
        return 1
    with stack:
        print(banner(stack, args.port, args.zip, args.site, args.replication_delay), flush=True)
        stop.wait()
        print("\nstopping...", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
