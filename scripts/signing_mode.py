"""Which signing mode fits this deployment, and why (scripts/preflight.sh, scripts/deploy.sh).

Standard library only. The decision is a pure function of facts the scripts read from AWS:

    signing_mode.py decide REQUESTED --regions FILE --bucket NAME=FILE [--bucket ...]
                    [--distribution FILE --own ARN] [--triggers LIST] [--cors ORIGINS]
        REQUESTED is auto, oac or lambda-edge. FILE arguments hold the CLI's JSON:
        `account list-regions`, `s3api get-bucket-location`, `cloudfront
        get-distribution-config`. Prints a few lines of why, then `mode: MODE`; exits 2
        when the requested mode cannot work here (the reason is on stderr).
    signing_mode.py schema          `cloudformation describe-type` JSON on stdin: exit 0 if the
                                    live AWS::CloudFront::OriginAccessControl schema accepts
                                    SigningProtocol sigv4a, else one line on stderr and exit 1
    signing_mode.py switch FROM TO [FUNCTION]
                                    what switching a deployed stack between modes does

Sources (docs/signing-modes.md has them all):
- OAC for an MRAP origin fails when any bucket of the MRAP is in an opt-in Region, and an
  origin with OAC takes no origin-request/origin-response Lambda@Edge trigger:
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3-mrap.html
- A Region's opt-in status (ENABLED_BY_DEFAULT for the Regions every account has):
  https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html
- GetBucketLocation answers null for us-east-1 and EU for the oldest eu-west-1 buckets:
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MODES = ("lambda-edge", "oac")
ORIGIN_EVENTS = ("origin-request", "origin-response")
DEFAULT_STATUS = "ENABLED_BY_DEFAULT"
# GetBucketLocation's legacy answers.
LEGACY_LOCATIONS = {"": "us-east-1", "EU": "eu-west-1"}


class InputError(ValueError):
    """A fact the scripts passed is missing or not what the CLI answers."""


@dataclass(frozen=True)
class Facts:
    buckets: Mapping[str, str]  # bucket -> Region
    region_status: Mapping[str, str]  # Region -> RegionOptStatus (account list-regions)
    triggers: tuple[str, ...] = ()  # origin triggers the distribution needs besides the signer
    cors: bool = False


@dataclass(frozen=True)
class Decision:
    mode: str
    why: tuple[str, ...]
    notes: tuple[str, ...] = ()


def bucket_region(location: Mapping[str, object]) -> str:
    """The Region of a bucket from `s3api get-bucket-location` JSON."""
    value = location.get("LocationConstraint")
    if value is not None and not isinstance(value, str):
        raise InputError(f"LocationConstraint is not a Region: {value!r}")
    value = value or ""
    return LEGACY_LOCATIONS.get(value, value)


def region_statuses(listing: Mapping[str, object]) -> dict[str, str]:
    """Region -> RegionOptStatus from `account list-regions` JSON."""
    regions = listing.get("Regions")
    if not isinstance(regions, list):
        raise InputError("the account's Region list has no Regions")
    return {str(r["RegionName"]): str(r["RegionOptStatus"]) for r in regions if isinstance(r, dict)}


def other_origin_triggers(config: Mapping[str, object], own: str) -> tuple[str, ...]:
    """Event types of origin triggers in a distribution config that are not the signer `own`."""
    dist = config.get("DistributionConfig", config)
    if not isinstance(dist, Mapping):
        return ()
    behaviors = [dist.get("DefaultCacheBehavior") or {}, *((dist.get("CacheBehaviors") or {}).get("Items") or [])]
    found = []
    for behavior in behaviors:
        for item in (behavior.get("LambdaFunctionAssociations") or {}).get("Items") or []:
            if item.get("EventType") in ORIGIN_EVENTS and item.get("LambdaFunctionARN") != own:
                found.append(str(item["EventType"]))
    return tuple(sorted(set(found)))


def parse_triggers(text: str) -> tuple[str, ...]:
    """ORIGIN_TRIGGERS: a comma-separated list of origin event types."""
    names = tuple(sorted({t.strip() for t in text.split(",") if t.strip()}))
    for name in names:
        if name not in ORIGIN_EVENTS:
            raise InputError(f"ORIGIN_TRIGGERS lists '{name}': use origin-request and/or origin-response")
    return names


def decide(facts: Facts) -> Decision:
    """oac where CloudFront's own signing works; lambda-edge, with the reasons, where not."""
    if not facts.buckets:
        raise InputError("no buckets to decide for")
    blockers = []
    for bucket, region in sorted(facts.buckets.items()):
        status = facts.region_status.get(region)
        if status is None:
            blockers.append(f"bucket {bucket} is in {region}, which the account's Region list does not show")
        elif status != DEFAULT_STATUS:
            blockers.append(
                f"bucket {bucket} is in {region}, an opt-in Region ({status}): CloudFront's origin access "
                "control cannot sign for an MRAP with a bucket in an opt-in Region"
            )
    for trigger in facts.triggers:
        line = f"the distribution needs an {trigger} trigger: CloudFront takes no origin trigger on an origin with OAC"
        if trigger == "origin-request":
            line += " (and the signer is the one origin-request function a behavior may have: fold that logic into it)"
        blockers.append(line)
    notes = []
    if blockers:
        return Decision("lambda-edge", tuple(blockers))
    regions = ", ".join(f"{b}: {r}" for b, r in sorted(facts.buckets.items()))
    why = (
        f"every bucket is in a Region enabled by default ({regions})",
        "no other origin trigger is needed",
        "oac: no function invocation or cold start on a cache miss, and no Lambda@Edge charge",
    )
    notes.append("query strings: CloudFront signs whatever it forwards; the cache policy's allowlist decides")
    notes.append("missing keys answer 403, not 404 (CloudFront may read, not list)")
    if facts.cors:
        notes.append("CORS: no preflight (OPTIONS) is answered in oac mode; simple cross-origin GET/HEAD still work")
    return Decision("oac", why, tuple(notes))


def choose(requested: str, decision: Decision) -> tuple[str, list[str], str | None]:
    """(mode, lines to print, error): the requested mode, or the decision for auto."""
    if requested not in (*MODES, "auto"):
        raise InputError(f"SIGNING must be auto, oac or lambda-edge, not '{requested}'")
    lines = [f"  - {line}" for line in decision.why]
    if requested == "auto":
        lines.insert(0, f"{decision.mode} fits:")
        lines += [f"  note: {n}" for n in decision.notes]
        return decision.mode, lines, None
    if requested == "oac" and decision.mode != "oac":
        return requested, lines, "SIGNING=oac cannot work here: " + "; ".join(decision.why)
    if requested == decision.mode:
        lines.insert(0, f"{requested} (as asked) fits:")
        lines += [f"  note: {n}" for n in decision.notes]
    else:
        lines.insert(0, "lambda-edge (as asked); oac would also work here:")
    return requested, lines, None


def sigv4a_accepted(describe_type: Mapping[str, object]) -> tuple[bool, str]:
    """Whether the live resource schema lets SigningProtocol be sigv4a, and what it allows."""
    try:
        schema = json.loads(str(describe_type["Schema"]))
        prop = schema["definitions"]["OriginAccessControlConfig"]["properties"]["SigningProtocol"]
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"the AWS::CloudFront::OriginAccessControl schema has no SigningProtocol ({e})") from e
    if "enum" in prop:
        return "sigv4a" in prop["enum"], " | ".join(map(str, prop["enum"]))
    pattern = prop.get("pattern")
    if pattern is None:
        return True, "any string"
    return re.fullmatch(str(pattern), "sigv4a") is not None, f"pattern {pattern}"


def switch_notes(current: str, target: str, function: str = "") -> list[str]:
    """What a mode switch of a deployed stack does, before its change set is shown."""
    if current == target:
        return []
    name = function or "the signer function"
    if target == "oac":
        return [
            f"switching {current} -> {target}:",
            "  - the distribution gets the origin access control and loses the origin-request association",
            "  - the MRAP policy then lets this distribution's CloudFront principal read, not the function's role;",
            "    until both changes reach every edge (5-15 minutes), some cache misses may answer 403",
            f"  - {name}, its role and versions leave the stack; CloudFront deletes the function's replicas",
            "    within hours, and until then CloudFormation cannot delete it (DELETE_FAILED during cleanup;",
            "    the update still completes). Delete it later with",
            f"    'aws lambda delete-function --region us-east-1 --function-name {function or 'NAME'}'",
        ]
    return [
        f"switching {current} -> {target}:",
        "  - a new signer function, role and version are created and associated on origin-request",
        "  - the origin access control is detached and deleted; the MRAP policy lets the function's role read",
        "    instead of CloudFront; until both reach every edge (5-15 minutes), some cache misses may answer 403",
    ]


def _read(path: str, what: str) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {what} from {path}: {e}") from e
    if not isinstance(doc, dict):
        raise InputError(f"{what} in {path} is not a JSON object")
    return doc


def _options(args: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    items = list(args)
    for i in range(0, len(items), 2):
        if not items[i].startswith("--") or i + 1 >= len(items):
            raise InputError(f"unexpected argument {items[i]!r}")
        found.setdefault(items[i][2:], []).append(items[i + 1])
    return found


def cmd_decide(requested: str, args: list[str]) -> int:
    opts = _options(args)
    statuses = region_statuses(_read(opts["regions"][0], "the account's Regions"))
    buckets = {}
    for spec in opts.get("bucket", []):
        name, _, path = spec.partition("=")
        buckets[name] = bucket_region(_read(path, f"the location of bucket {name}"))
    triggers = set(parse_triggers(opts.get("triggers", [""])[0]))
    if "distribution" in opts:
        config = _read(opts["distribution"][0], "the distribution's config")
        triggers |= set(other_origin_triggers(config, opts.get("own", [""])[0]))
    facts = Facts(buckets, statuses, tuple(sorted(triggers)), bool(opts.get("cors", [""])[0]))
    mode, lines, error = choose(requested, decide(facts))
    print("\n".join(lines))
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"mode: {mode}")
    return 0


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["decide"] and len(argv) >= 2:
            return cmd_decide(argv[1], argv[2:])
        if argv[:1] == ["schema"]:
            ok, allowed = sigv4a_accepted(json.load(sys.stdin))
            if not ok:
                print(
                    "error: CloudFormation in us-east-1 does not accept SigningProtocol sigv4a for "
                    f"AWS::CloudFront::OriginAccessControl (its schema allows {allowed}): "
                    "deploy with SIGNING=lambda-edge",
                    file=sys.stderr,
                )
                return 1
            return 0
        if argv[:1] == ["switch"] and len(argv) in (3, 4):
            print("\n".join(switch_notes(argv[1], argv[2], argv[3] if len(argv) == 4 else "")))
            return 0
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("usage: signing_mode.py decide|schema|switch ... (see its docstring)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
