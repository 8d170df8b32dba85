"""JSON work for the operations scripts (routes.sh, logs.sh, buckets.sh and friends).

Standard library only. Each subcommand reads JSON on stdin (what the AWS CLI or the
local control API printed) and prints text or JSON for the calling script:

    routes-table | routes-plan (--to BUCKET | --all) | routes-match PLAN | routes-describe
    routes-updates-json | routes-updates-shorthand | error-message
    versions-batch                      list-object-versions -> delete-objects payload
    replication-report ONE TWO          (stdin: {"ONE": {...}, "TWO": {...}}) -> report, exit 1 if incomplete
    logs --group REGION=GROUP ... [--since 15m] [--filter P] [--follow] [--limit N]
    parse-since 15m                     -> milliseconds
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_json() -> object:
    text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        fail(f"expected JSON, got: {text.strip()[:200]!r}")
        raise  # unreachable


# --- routes ----------------------------------------------------------------------------


def routes_of(doc: object) -> list[dict]:
    routes = doc.get("Routes") if isinstance(doc, dict) else None
    if not isinstance(routes, list) or not routes:
        fail("the answer has no routes")
    return routes


def state(dial: int) -> str:
    return "active" if dial else "passive"


def routes_table(doc: object) -> None:
    routes = routes_of(doc)
    width = max(len("bucket"), *(len(r["Bucket"]) for r in routes))
    print(f"    {'bucket':<{width}}  {'region':<15} traffic dial")
    for r in routes:
        dial = int(r.get("TrafficDialPercentage", 0))
        print(f"    {r['Bucket']:<{width}}  {r.get('Region', '?'):<15} {dial:>3} ({state(dial)})")


def routes_plan(doc: object, to: str | None) -> None:
    routes = routes_of(doc)
    buckets = [r["Bucket"] for r in routes]
    if to is not None and to not in buckets:
        fail(f"TO={to} is not one of this MRAP's buckets: {', '.join(buckets)}")
    plan = [
        {
            "Bucket": r["Bucket"],
            "Region": r.get("Region", ""),
            "TrafficDialPercentage": 100 if to in (None, r["Bucket"]) else 0,
        }
        for r in routes
    ]
    print(json.dumps(plan))


def routes_match(doc: object, plan: list[dict]) -> int:
    dials = {r["Bucket"]: int(r.get("TrafficDialPercentage", 0)) for r in routes_of(doc)}
    return 0 if all(dials.get(p["Bucket"]) == p["TrafficDialPercentage"] for p in plan) else 1


def routes_describe(plan: list[dict]) -> None:
    print(", ".join(f"{p['Bucket']} ({p['Region']}) {state(p['TrafficDialPercentage'])}" for p in plan))


def updates_json(plan: list[dict]) -> None:
    print(json.dumps({"RouteUpdates": plan}))


def updates_shorthand(plan: list[dict]) -> None:
    # What `aws s3control submit-multi-region-access-point-routes --route-updates` takes.
    print(" ".join(f"Bucket={p['Bucket']},TrafficDialPercentage={p['TrafficDialPercentage']}" for p in plan))


def error_message(text: str) -> None:
    try:
        doc = json.loads(text)
        print(doc["Error"]["Message"])
    except (json.JSONDecodeError, KeyError, TypeError):
        print(text.strip().splitlines()[0][:300] if text.strip() else "no message")


# --- buckets ---------------------------------------------------------------------------


def versions_batch(doc: object) -> None:
    """At most 1,000 versions and delete markers as a delete-objects payload ('' when none)."""
    doc = doc if isinstance(doc, dict) else {}
    items = [*(doc.get("Versions") or []), *(doc.get("DeleteMarkers") or [])][:1000]
    if items:
        objects = [{"Key": i["Key"], "VersionId": i["VersionId"]} for i in items]
        print(json.dumps({"Objects": objects, "Quiet": True}))


def _covers_everything(rule: dict) -> bool:
    flt = rule.get("Filter")
    if flt is None:
        return not rule.get("Prefix")
    return flt == {} or flt == {"Prefix": ""}


def replication_problems(name: str, other: str, info: dict) -> list[str]:
    """What bucket ``name`` lacks to replicate everything to ``other`` as an MRAP needs."""
    problems = []
    if info.get("versioning") != "Enabled":
        problems.append(f"{name}: versioning is {info.get('versioning') or 'off'} (turn it on: replication needs it)")
    rules = ((info.get("replication") or {}).get("ReplicationConfiguration") or {}).get("Rules") or []
    dest = f"arn:aws:s3:::{other}"
    to_other = [r for r in rules if r.get("Destination", {}).get("Bucket") == dest]
    enabled = [r for r in to_other if r.get("Status") == "Enabled"]
    if not to_other:
        problems.append(f"{name}: no replication rule to {other}")
    elif not enabled:
        problems.append(f"{name}: the replication rule to {other} is disabled")
    else:
        if not any(_covers_everything(r) for r in enabled):
            problems.append(f"{name}: the replication rule to {other} has a filter: not every key is replicated")
        # A rule without Filter (the first schema) replicates delete markers from user deletes; one with a
        # Filter only when it says so. https://docs.aws.amazon.com/AmazonS3/latest/userguide/delete-marker-replication.html
        if not any("Filter" not in r or (r.get("DeleteMarkerReplication") or {}).get("Status") == "Enabled"
                   for r in enabled):  # fmt: skip
            problems.append(f"{name}: delete markers are not replicated to {other}")
        sync = [r.get("SourceSelectionCriteria", {}).get("ReplicaModifications", {}).get("Status") for r in enabled]
        if "Enabled" not in sync:
            problems.append(f"{name}: replica modification sync is off (changes to replicas do not flow back)")
    return problems


def replication_report(doc: dict, one: str, two: str) -> int:
    problems = []
    if doc[one].get("region") == doc[two].get("region"):
        problems.append(f"both buckets are in {doc[one].get('region')}: an MRAP takes one bucket per Region")
    problems += replication_problems(one, two, doc[one])
    problems += replication_problems(two, one, doc[two])
    for name in (one, two):
        print(f"    {name}: {doc[name].get('region')}, versioning {doc[name].get('versioning') or 'off'}")
    if problems:
        print("missing:")
        for p in problems:
            print(f"    - {p}")
        print("make buckets creates a replicated pair; or add the rules:")
        print("    https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointBucketReplication.html")
        return 1
    print(f"ok: versioning on both, every object, delete marker and replica change replicated {one} <-> {two}")
    return 0


# --- logs ------------------------------------------------------------------------------

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not m:
        fail(f"SINCE={text!r}: use a number and s, m, h or d (e.g. 15m, 2h, 1d)")
    return int(m.group(1)) * UNITS[m.group(2)] * 1000


def filter_pattern(text: str) -> str:
    """A request id or a word becomes a quoted term; a JSON/term pattern passes as is."""
    text = text.strip()
    if not text or text[0] in '{"?[-' or " " in text:
        return text
    return f'"{text}"'


def render(message: str) -> str:
    """The function's JSON lines as 'LEVEL event key=value ...'; other lines as they are."""
    line = message.rstrip("\n")
    start = line.find("{")
    if start >= 0:
        try:
            doc = json.loads(line[start:])
        except json.JSONDecodeError:
            return line
        if isinstance(doc, dict) and "event" in doc:
            head = f"{doc.pop('level', '-'):<7} {doc.pop('event')}"
            rest = " ".join(f"{k}={v}" for k, v in doc.items())
            return f"{line[:start]}{head}  {rest}".rstrip()
    return line


def fetch(region: str, group: str, start_ms: int, pattern: str, limit: int) -> tuple[list[dict], str | None]:
    cmd = ["aws", "logs", "filter-log-events", "--region", region, "--log-group-name", group,
           "--start-time", str(start_ms), "--max-items", str(limit), "--output", "json"]  # fmt: skip
    if pattern:
        cmd += ["--filter-pattern", pattern]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        return [], (lines[-1].removeprefix("An error occurred ") if lines else "no answer")
    try:
        events = json.loads(proc.stdout or "{}").get("events") or []
    except json.JSONDecodeError:
        return [], "unreadable answer"
    for e in events:
        e["region"] = region
    return events, None


def show(events: list[dict]) -> None:
    for e in sorted(events, key=lambda e: (e.get("timestamp", 0), e["region"], e.get("eventId", ""))):
        when = datetime.fromtimestamp(e.get("timestamp", 0) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        print(f"{when} {e['region']:<15} {render(e.get('message', ''))}", flush=True)


def logs(args: argparse.Namespace) -> int:
    groups = [g.split("=", 1) for g in args.group]
    start = int(time.time() * 1000) - parse_since(args.since)
    pattern = filter_pattern(args.filter)
    seen: set[str] = set()
    warned: set[str] = set()
    while True:
        batch = []
        for region, group in groups:
            events, error = fetch(region, group, start, pattern, args.limit)
            if error and region not in warned:
                print(f"==> {region}: cannot read {group} ({error})", file=sys.stderr, flush=True)
                warned.add(region)
            batch += [e for e in events if e.get("eventId") not in seen]
        seen.update(e.get("eventId", "") for e in batch)
        show(batch)
        if not args.follow:
            return 0
        if batch:
            # Late events can arrive a little out of order: look back a minute, skip the seen ones.
            start = max(e.get("timestamp", 0) for e in batch) - 60_000
        time.sleep(args.interval)


# --- main ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ops_helper.py")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("routes-table", "routes-describe", "routes-updates-json", "routes-updates-shorthand",
                 "error-message", "versions-batch"):  # fmt: skip
        sub.add_parser(name)
    p = sub.add_parser("routes-plan")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--to")
    g.add_argument("--all", action="store_true")
    sub.add_parser("routes-match").add_argument("plan")
    p = sub.add_parser("replication-report")
    p.add_argument("one")
    p.add_argument("two")
    sub.add_parser("parse-since").add_argument("since")
    p = sub.add_parser("logs")
    p.add_argument("--group", action="append", default=[], help="REGION=LOG_GROUP")
    p.add_argument("--since", default="15m")
    p.add_argument("--filter", default="")
    p.add_argument("--follow", action="store_true")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)

    if args.cmd == "error-message":
        error_message(sys.stdin.read())
    elif args.cmd == "routes-table":
        routes_table(read_json())
    elif args.cmd == "routes-plan":
        routes_plan(read_json(), None if args.all else args.to)
    elif args.cmd == "routes-match":
        return routes_match(read_json(), json.loads(args.plan))
    elif args.cmd == "routes-describe":
        routes_describe(read_json())
    elif args.cmd == "routes-updates-json":
        updates_json(read_json())
    elif args.cmd == "routes-updates-shorthand":
        updates_shorthand(read_json())
    elif args.cmd == "versions-batch":
        versions_batch(read_json())
    elif args.cmd == "replication-report":
        return replication_report(read_json(), args.one, args.two)
    elif args.cmd == "parse-since":
        print(parse_since(args.since))
    elif args.cmd == "logs":
        try:
            return logs(args)
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
