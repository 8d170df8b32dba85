"""Render the AWS CLI's CloudFormation/Lambda/CloudFront JSON for the deploy scripts.

Standard library only (run by the project venv, or any python3): the scripts stay
bash + the AWS CLI, and this turns JSON into the lines a person reads.

    cfn_view.py get KEY...            one value per KEY from a JSON object on stdin ('' if absent)
    cfn_view.py changes               describe-change-set: one line per change; exit 3 if the
                                      MRAP or the distribution would be replaced
    cfn_view.py events SEEN START [AFTER]
                                      describe-stack-events: print events not yet in SEEN (a file
                                      of event ids), oldest first, with the time since START
    cfn_view.py failures [AFTER]      describe-stack-events: the first failed resources and why
    cfn_view.py newest                describe-stack-events: the newest event id ('' if none)
    cfn_view.py in-progress [AFTER]   describe-stack-events: resources still in progress
    cfn_view.py remaining             list-stack-resources: what a failed delete left behind
    cfn_view.py keys                  list-objects-v2: the keys, one a line
    cfn_view.py object-versions [KEY] list-object-versions: "key<TAB>version id" of every version
                                      and delete marker (of exactly KEY when given; a prefix
                                      listing also finds longer keys)
    cfn_view.py versions              list-versions-by-function: numbered versions, one a line
    cfn_view.py associations          get-distribution-config: Lambda@Edge version ARNs in use
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

# Replacing these changes what viewers get: say why and ask first.
GUARDED = {
    "AWS::S3::MultiRegionAccessPoint": (
        "a new MRAP has a new alias, so the distribution gets a new origin; the old MRAP name "
        "stays taken until its deletion finishes"
    ),
    "AWS::CloudFront::Distribution": (
        "a new distribution has a new domain name and an empty cache; the old one is deleted"
    ),
}
EXPECTED = {
    "AWS::Lambda::Version": (
        "expected: new code or settings publish a new version; the old one is retained until "
        "'make prune-versions' removes it"
    ),
    # Removed only by a switch to SigningMode oac (docs/signing-modes.md, "Switching").
    "AWS::Lambda::Function": (
        "expected with SigningMode oac: its replicas outlive the association by hours, so its "
        "deletion fails (DELETE_FAILED) and the update still completes; delete it later"
    ),
}
# Known to take long: said once, when the step starts.
SLOW = {
    ("AWS::S3::MultiRegionAccessPoint", "CREATE_IN_PROGRESS"): "creating an MRAP usually takes 10-20 minutes",
    ("AWS::S3::MultiRegionAccessPoint", "DELETE_IN_PROGRESS"): "deleting an MRAP takes several minutes",
    ("AWS::CloudFront::Distribution", "CREATE_IN_PROGRESS"): "a distribution deploys to every edge: 5-15 minutes",
    ("AWS::CloudFront::Distribution", "UPDATE_IN_PROGRESS"): "a distribution deploys to every edge: 5-15 minutes",
    ("AWS::CloudFront::Distribution", "DELETE_IN_PROGRESS"): "a distribution is disabled, then deleted: 5-15 minutes",
    ("AWS::Lambda::Function", "DELETE_IN_PROGRESS"): (
        "a Lambda@Edge function can be deleted only once CloudFront has removed its replicas, "
        "usually within a few hours of the distribution's deletion"
    ),
}
# The cascade that follows a real failure: not a cause.
CASCADE = ("Resource creation cancelled", "Resource update cancelled", "Resource deletion cancelled")


def read_json() -> dict:
    text = sys.stdin.read().strip()
    return json.loads(text) if text else {}


def events_after(doc: dict, after: str) -> list[dict]:
    """This operation's events (newer than event id AFTER), oldest first."""
    out = []
    for event in doc.get("StackEvents", []):  # newest first, as the API returns them
        if after and event.get("EventId") == after:
            break
        out.append(event)
    return out[::-1]


def clock(timestamp: str) -> str:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).strftime("%H:%M:%S")
    except ValueError:
        return timestamp


def elapsed(start: float) -> str:
    seconds = max(0, int(time.time() - start))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def reason(event: dict) -> str:
    return " ".join(str(event.get("ResourceStatusReason") or "").split())


def cmd_get(keys: list[str]) -> None:
    doc = read_json()
    for key in keys:
        value = doc
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        print("" if value is None else value)


def cmd_changes() -> int:
    doc = read_json()
    guarded = []
    for change in doc.get("Changes", []):
        rc = change.get("ResourceChange", {})
        action, logical, rtype = rc.get("Action", "?"), rc.get("LogicalResourceId", "?"), rc.get("ResourceType", "?")
        replacement = rc.get("Replacement") if action == "Modify" else None
        line = f"  {action:<7} {logical:<24} {rtype:<40}"
        if replacement:
            line += f" replacement: {replacement}"
        replaced = action == "Remove" or replacement in ("True", "Conditional")
        if replaced and rtype in GUARDED:
            guarded.append(f"{logical} ({rtype}): {GUARDED[rtype]}")
            line += "  <- needs CONFIRM=yes"
        elif replaced and rtype in EXPECTED:
            line += f"  ({EXPECTED[rtype]})"
        print(line.rstrip())
    for item in guarded:
        print(f"  replaces {item}")
    return 3 if guarded else 0


def cmd_events(seen_path: str, start: str, after: str) -> None:
    seen_file = Path(seen_path)
    seen = set(seen_file.read_text().split()) if seen_file.exists() else set()
    new = [e for e in events_after(read_json(), after) if e.get("EventId") not in seen]
    with seen_file.open("a") as out:
        for event in new:
            out.write(event["EventId"] + "\n")
            rtype, status = event.get("ResourceType", ""), event.get("ResourceStatus", "")
            line = (
                f"  [{elapsed(float(start))}] {clock(event.get('Timestamp', ''))}  "
                f"{event.get('LogicalResourceId', '?'):<24} {status:<34} {reason(event)}"
            )
            print(line.rstrip())
            hint = SLOW.get((rtype, status))
            if hint and not reason(event):  # the first IN_PROGRESS event of a step has no reason
                print(f"           ({hint})")


def root_causes(events: list[dict]) -> list[dict]:
    failed = [
        e
        for e in events
        if e.get("ResourceStatus", "").endswith("_FAILED") and e.get("ResourceType") != "AWS::CloudFormation::Stack"
    ]
    causes = [e for e in failed if not reason(e).startswith(CASCADE)]
    return causes or failed


def cmd_failures(after: str) -> None:
    events = events_after(read_json(), after)
    causes = root_causes(events)
    if not causes:
        # The stack's own event names the cause when no resource failed (e.g. a Rules assertion).
        stack_events = [
            e
            for e in events
            if e.get("ResourceType") == "AWS::CloudFormation::Stack" and reason(e) and reason(e) != "User Initiated"
        ]
        causes = stack_events[:1]
    for event in causes[:3]:
        print(
            f"  {event.get('LogicalResourceId', '?')} ({event.get('ResourceType', '?')}) "
            f"{event.get('ResourceStatus', '')}: {reason(event) or 'no reason given'}"
        )


def cmd_newest() -> None:
    events = read_json().get("StackEvents", [])
    print(events[0]["EventId"] if events else "")


def cmd_in_progress(after: str) -> None:
    latest: dict[str, str] = {}
    for event in events_after(read_json(), after):
        if event.get("ResourceType") != "AWS::CloudFormation::Stack":
            latest[event.get("LogicalResourceId", "?")] = event.get("ResourceStatus", "")
    print(", ".join(name for name, status in latest.items() if status.endswith("_IN_PROGRESS")))


def cmd_remaining() -> None:
    for res in read_json().get("StackResourceSummaries", []):
        status = res.get("ResourceStatus", "")
        if status in ("DELETE_COMPLETE", "DELETE_SKIPPED"):
            continue
        rtype, physical = res.get("ResourceType", "?"), res.get("PhysicalResourceId") or "-"
        note = ""
        if rtype == "AWS::S3::MultiRegionAccessPoint":
            note = f": the MRAP name {physical} cannot be used for a new MRAP until this one is deleted"
        elif rtype == "AWS::Lambda::Function":
            note = ": waits for CloudFront to remove its Lambda@Edge replicas"
        elif rtype == "AWS::IAM::Role":
            note = ": the function still uses it"
        print(f"  {res.get('LogicalResourceId', '?')} ({rtype}, {physical}) {status}{note}")


def cmd_keys() -> None:
    for item in read_json().get("Contents") or []:
        print(item["Key"])


def cmd_object_versions(key: str | None) -> None:
    doc = read_json()
    for item in (doc.get("Versions") or []) + (doc.get("DeleteMarkers") or []):
        if key is None or item.get("Key") == key:
            print(f"{item['Key']}\t{item['VersionId']}")


def cmd_versions() -> None:
    for version in read_json().get("Versions", []):
        if version.get("Version", "$LATEST") != "$LATEST":
            print(version["Version"])


def cmd_associations() -> None:
    config = read_json().get("DistributionConfig", {})
    behaviors = [config.get("DefaultCacheBehavior") or {}] + ((config.get("CacheBehaviors") or {}).get("Items") or [])
    for behavior in behaviors:
        for item in (behavior.get("LambdaFunctionAssociations") or {}).get("Items") or []:
            print(item.get("LambdaFunctionARN", ""))


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "get":
        cmd_get(args)
    elif command == "changes":
        return cmd_changes()
    elif command == "events":
        cmd_events(args[0], args[1], args[2] if len(args) > 2 else "")
    elif command == "failures":
        cmd_failures(args[0] if args else "")
    elif command == "newest":
        cmd_newest()
    elif command == "in-progress":
        cmd_in_progress(args[0] if args else "")
    elif command == "remaining":
        cmd_remaining()
    elif command == "keys":
        cmd_keys()
    elif command == "object-versions":
        cmd_object_versions(args[0] if args else None)
    elif command == "versions":
        cmd_versions()
    elif command == "associations":
        cmd_associations()
    else:
        print(f"cfn_view.py: unknown command {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
