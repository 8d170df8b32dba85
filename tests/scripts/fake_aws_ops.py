"""The recording ``aws`` for the operations scripts: what fake_aws.py dispatches to for
the calls it does not answer itself (route controls, logs, Regions, the bucket stacks
and their buckets). Same JSON state file; it applies ``--query`` with jmespath and
prints ``--output text`` as the CLI does for the shapes used here.

State keys: ``mrap`` ({"arn", "routes", "pending"}), ``buckets`` (name -> region,
versioning, replication, versions, owner), ``bucket_stacks`` (region -> name -> stack),
``log_groups`` (region -> group -> {"retention", "events"}), ``regions``.
Environment: FAKE_DOWN_REGIONS (comma list: calls there fail as an unreachable
endpoint), FAKE_ROUTE_DELAY (route reads that still show the old routes after a submit).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import jmespath

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
ROUTE_REGIONS = ("us-east-1", "us-west-2", "ap-southeast-2", "ap-northeast-1", "eu-west-1")
SERVICES = ("s3control", "logs", "ec2", "sts")
S3API_OPS = ("head-bucket", "list-object-versions", "delete-objects", "get-bucket-location",
             "get-bucket-versioning", "get-bucket-replication")  # fmt: skip
GLOBAL_VALUE_OPTIONS = ("--region", "--query", "--output", "--cli-connect-timeout", "--cli-read-timeout")


class CliError(Exception):
    def __init__(self, message: str, code: int = 254) -> None:
        super().__init__(message)
        self.code = code


def service_error(code: str, op: str, message: str) -> CliError:
    return CliError(f"\nAn error occurred ({code}) when calling the {op} operation: {message}")


def split(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    args, glob, i = [], {}, 0
    while i < len(argv):
        if argv[i] in GLOBAL_VALUE_OPTIONS:
            glob[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    return args, glob


def opt(args: list[str], name: str, default: Any = None) -> Any:
    return args[args.index(name) + 1] if name in args else default


def opt_list(args: list[str], name: str) -> list[str]:
    if name not in args:
        return []
    i, out = args.index(name) + 1, []
    while i < len(args) and not args[i].startswith("--"):
        out.append(args[i])
        i += 1
    return out


def shorthand(item: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in item.split(","))


def handles(argv: list[str]) -> bool:
    """Whether this module answers the call (fake_aws.py answers the rest)."""
    args, glob = split(argv)
    if not args:
        return False
    if args[0] in SERVICES:
        return True
    if args[0] == "s3api":
        return args[1] in S3API_OPS
    if args[0] == "cloudformation":
        region = glob.get("--region", "us-east-1")
        template = opt(args, "--template-body", "") or ""
        name = opt(args, "--stack-name")
        state = load()
        ours = any(name in stacks for stacks in state.get("bucket_stacks", {}).values())
        return region != "us-east-1" or template.endswith("/buckets.template") or ours
    return False


def load() -> dict:
    path = Path(os.environ["FAKE_AWS_STATE"])
    return json.loads(path.read_text()) if path.exists() else {}


def save(state: dict) -> None:
    Path(os.environ["FAKE_AWS_STATE"]).write_text(json.dumps(state, indent=1))


def text(value: Any) -> str:
    """The AWS CLI's text output for the shapes the scripts query."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return "\n".join(text(v) for v in value)
        return "\t".join(text(v) for v in value)
    if isinstance(value, dict):
        return "\t".join(text(v) for v in value.values())
    return str(value)


def emit(doc: Any, glob: dict[str, str]) -> None:
    if "--query" in glob:
        doc = jmespath.search(glob["--query"], doc)
    if glob.get("--output") == "text":
        print(text(doc))
    else:
        print(json.dumps(doc, indent=4))


def down(region: str, service: str) -> None:
    if region in [r for r in os.environ.get("FAKE_DOWN_REGIONS", "").split(",") if r]:
        raise CliError(f'\nCould not connect to the endpoint URL: "https://{service}.{region}.amazonaws.com/"', 255)


# --- s3control: MRAP routes ------------------------------------------------------------


def s3control(args: list[str], glob: dict, state: dict) -> None:
    op, region = args[0], glob.get("--region", "us-east-1")
    down(region, f"{ACCOUNT}.s3-control")
    name = "GetMultiRegionAccessPointRoutes" if op.startswith("get") else "SubmitMultiRegionAccessPointRoutes"
    if region not in ROUTE_REGIONS:
        raise service_error("InvalidRequest", name, f"Multi-Region Access Point routes are not served in {region}")
    mrap = state["mrap"]
    if opt(args, "--account-id") != ACCOUNT or opt(args, "--mrap") != mrap["arn"]:
        raise service_error(
            "NoSuchMultiRegionAccessPoint", name, "The specified Multi-Region Access Point does not exist"
        )
    pending = mrap.get("pending")
    if op == "get-multi-region-access-point-routes":
        if pending:
            if pending["polls_left"] > 0:
                pending["polls_left"] -= 1
            else:
                mrap["routes"], mrap["pending"] = pending["routes"], None
        emit({"Mrap": mrap["arn"], "Routes": mrap["routes"]}, glob)
    elif op == "submit-multi-region-access-point-routes":
        routes = [dict(r) for r in (pending["routes"] if pending else mrap["routes"])]
        for update in map(shorthand, opt_list(args, "--route-updates")):
            match = [r for r in routes if r["Bucket"] == update.get("Bucket") or r["Region"] == update.get("Region")]
            dial = int(update["TrafficDialPercentage"])
            if not match or dial not in (0, 100):
                raise service_error("InvalidRequest", name, f"invalid route update {update}")
            match[0]["TrafficDialPercentage"] = dial
        if not any(r["TrafficDialPercentage"] for r in routes):
            raise service_error("InvalidRequest", name, "At least one route must be active")
        mrap["pending"] = {"routes": routes, "polls_left": int(os.environ.get("FAKE_ROUTE_DELAY", "0"))}
        emit({}, glob)
    else:
        raise CliError(f"fake aws: unsupported s3control {op}", 2)


# --- logs, ec2, sts --------------------------------------------------------------------


def match(pattern: str, message: str) -> bool:
    if not pattern:
        return True
    json_term = re.fullmatch(r'\{\s*\$\.(\w+)\s*=\s*"?([^"}]*)"?\s*\}', pattern.strip())
    if json_term:
        try:
            doc = json.loads(message[message.index("{") :])
        except ValueError:
            return False
        return str(doc.get(json_term.group(1))) == json_term.group(2).strip()
    return pattern.strip().strip('"') in message


def logs(args: list[str], glob: dict, state: dict) -> None:
    op, region = args[0], glob.get("--region", "us-east-1")
    down(region, "logs")
    groups = state.setdefault("log_groups", {}).get(region, {})
    if op == "describe-log-groups":
        prefix = opt(args, "--log-group-name-prefix", "")
        found = [{"logGroupName": g, **({"retentionInDays": v["retention"]} if v.get("retention") else {})}
                 for g, v in sorted(groups.items()) if g.startswith(prefix)]  # fmt: skip
        emit({"logGroups": found}, glob)
    elif op == "put-retention-policy":
        group = opt(args, "--log-group-name")
        if group not in groups:
            raise service_error(
                "ResourceNotFoundException", "PutRetentionPolicy", "The specified log group does not exist."
            )
        groups[group]["retention"] = int(opt(args, "--retention-in-days"))
    elif op == "filter-log-events":
        group = opt(args, "--log-group-name")
        if group not in groups:
            raise service_error(
                "ResourceNotFoundException", "FilterLogEvents", "The specified log group does not exist."
            )
        start, limit = int(opt(args, "--start-time", "0")), int(opt(args, "--max-items", "10000"))
        events = [e for e in groups[group]["events"]
                  if e["timestamp"] >= start and match(opt(args, "--filter-pattern", ""), e["message"])]  # fmt: skip
        emit({"events": sorted(events, key=lambda e: e["timestamp"])[:limit], "searchedLogStreams": []}, glob)
    else:
        raise CliError(f"fake aws: unsupported logs {op}", 2)


def ec2(args: list[str], glob: dict, state: dict) -> None:
    assert args[0] == "describe-regions", args
    down(glob.get("--region", "us-east-1"), "ec2")
    regions = state.get("regions", ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"])
    emit({"Regions": [{"RegionName": r, "OptInStatus": "opt-in-not-required"} for r in regions]}, glob)


def sts(args: list[str], glob: dict, state: dict) -> None:
    assert args[0] == "get-caller-identity", args
    emit({"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev", "UserId": "AIDAEXAMPLE"}, glob)


# --- s3api: the content buckets --------------------------------------------------------


def s3api(args: list[str], glob: dict, state: dict) -> None:
    op, name = args[0], opt(args, "--bucket")
    region = glob.get("--region", "us-east-1")
    down(region, "s3")
    bucket = state.setdefault("buckets", {}).get(name)
    api = "".join(w.capitalize() for w in op.split("-"))
    if op == "head-bucket":
        if bucket is None:
            raise service_error("404", "HeadBucket", "Not Found")
        if bucket.get("owner") == "other":
            raise service_error("403", "HeadBucket", "Forbidden")
        emit({"BucketRegion": bucket["region"]}, glob)
        return
    if bucket is None or bucket.get("owner") == "other":
        raise service_error(
            "NoSuchBucket" if bucket is None else "AccessDenied", api, "The specified bucket does not exist"
        )
    if op == "get-bucket-location":
        emit({"LocationConstraint": None if bucket["region"] == "us-east-1" else bucket["region"]}, glob)
        return
    if region != bucket["region"]:
        raise service_error("PermanentRedirect", api, "The bucket must be addressed using the specified endpoint.")
    if op == "get-bucket-versioning":
        emit({"Status": bucket["versioning"]} if bucket.get("versioning") else {}, glob)
    elif op == "get-bucket-replication":
        if not bucket.get("replication"):
            raise service_error(
                "ReplicationConfigurationNotFoundError", api, "The replication configuration was not found"
            )
        emit({"ReplicationConfiguration": bucket["replication"]}, glob)
    elif op == "list-object-versions":
        limit = int(opt(args, "--max-items", "100000"))
        versions = [v for v in bucket["versions"] if not v.get("delete_marker")]
        markers = [v for v in bucket["versions"] if v.get("delete_marker")]
        doc: dict[str, Any] = {}
        if versions:
            doc["Versions"] = [
                {"Key": v["Key"], "VersionId": v["VersionId"], "IsLatest": True} for v in versions[:limit]
            ]
        if markers:
            room = max(0, limit - len(versions))
            doc["DeleteMarkers"] = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in markers[:room]]
        if len(bucket["versions"]) > limit:
            doc["NextToken"] = "eyJNYXJrZXIiOiBudWxsfQ=="
        emit(doc, glob)
    elif op == "delete-objects":
        payload = json.loads(Path(opt(args, "--delete").removeprefix("file://")).read_text())
        assert len(payload["Objects"]) <= 1000
        gone = {(o["Key"], o["VersionId"]) for o in payload["Objects"]}
        bucket["versions"] = [v for v in bucket["versions"] if (v["Key"], v["VersionId"]) not in gone]
        emit({"Deleted": [{"Key": k, "VersionId": v} for k, v in sorted(gone)]}, glob)


# --- cloudformation: stacks of buckets.template ----------------------------------------


def apply_template(template_path: str, params: dict[str, str], stack: dict, state: dict, region: str) -> str:
    """Create or update the stack's bucket as the template says; returns the new status."""
    sys.path.insert(0, str(ROOT))
    from local.intrinsics import Resolver
    from local.template import load_template

    template = load_template(Path(template_path))
    role = {"ReplicationRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/ReplicationRole-Arn"}
    cfn = Resolver(template, params=params, attributes=role, pseudo={"AWS::AccountId": ACCOUNT, "AWS::Region": region})
    params = cfn.params  # with the template's defaults
    props = cfn.resolve(template["Resources"]["ContentBucket"]["Properties"])
    buckets = state.setdefault("buckets", {})
    name = props["BucketName"]
    if name in buckets and buckets[name].get("stack") != stack["name"]:
        return "ROLLBACK_COMPLETE" if stack["status"].startswith("CREATE") else "UPDATE_ROLLBACK_COMPLETE"
    replication = props.get("ReplicationConfiguration")
    if replication:
        dest = replication["Rules"][0]["Destination"]["Bucket"].removeprefix("arn:aws:s3:::")
        if buckets.get(dest, {}).get("versioning") != "Enabled":  # S3: the destination must exist, versioned
            return "ROLLBACK_COMPLETE" if stack["status"].startswith("CREATE") else "UPDATE_ROLLBACK_COMPLETE"
    bucket = buckets.setdefault(name, {"region": region, "versions": [], "stack": stack["name"]})
    bucket["versioning"] = props.get("VersioningConfiguration", {}).get("Status")
    bucket["replication"] = replication
    bucket["public_access_block"] = props.get("PublicAccessBlockConfiguration")
    stack["outputs"] = {
        "BucketName": name,
        "BucketArn": f"arn:aws:s3:::{name}",
        "ReplicatesTo": params["ReplicaBucketName"],
    }
    return "CREATE_COMPLETE" if stack["status"].startswith("CREATE") else "UPDATE_COMPLETE"


def cloudformation(args: list[str], glob: dict, state: dict) -> None:
    op, region = args[0], glob.get("--region", "us-east-1")
    down(region, "cloudformation")
    stacks = state.setdefault("bucket_stacks", {}).setdefault(region, {})
    name = opt(args, "--stack-name")
    stack = stacks.get(name)
    if op == "describe-stacks":
        if stack is None:
            raise service_error("ValidationError", "DescribeStacks", f"Stack with id {name} does not exist")
        emit({"Stacks": [{
            "StackName": name, "StackStatus": stack["status"],
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in stack["params"].items()],
            "Tags": [{"Key": k, "Value": v} for k, v in stack["tags"].items()],
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in stack.get("outputs", {}).items()],
        }]}, glob)  # fmt: skip
    elif op in ("create-stack", "update-stack"):
        if "--capabilities" not in args:
            raise service_error(
                "InsufficientCapabilitiesException", "CreateStack", "Requires capabilities : [CAPABILITY_IAM]"
            )
        params = {
            p["ParameterKey"]: p.get("ParameterValue", "") for p in map(shorthand, opt_list(args, "--parameters"))
        }
        tags = {t["Key"]: t["Value"] for t in map(shorthand, opt_list(args, "--tags"))}
        template = opt(args, "--template-body").removeprefix("file://")
        body = Path(template).read_text()
        if op == "create-stack":
            if stack is not None:
                raise service_error("AlreadyExistsException", "CreateStack", f"Stack [{name}] already exists")
            stack = stacks[name] = {
                "name": name,
                "status": "CREATE_IN_PROGRESS",
                "params": params,
                "tags": tags,
                "body": body,
            }
        else:
            if stack is None:
                raise service_error("ValidationError", "UpdateStack", f"Stack [{name}] does not exist")
            if stack["params"] == params and stack["tags"] == tags and stack["body"] == body:
                raise service_error("ValidationError", "UpdateStack", "No updates are to be performed.")
            if stack["params"].get("BucketName") != params.get("BucketName"):
                raise service_error("ValidationError", "UpdateStack", "the fake does not replace buckets")
            stack.update(status="UPDATE_IN_PROGRESS", params=params, tags=tags, body=body)
        stack["status"] = apply_template(template, params, stack, state, region)
        emit({"StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/1"}, glob)
    elif op == "delete-stack":
        if stack is not None:
            bucket = state.get("buckets", {}).get(stack["params"]["BucketName"])
            if bucket and bucket.get("stack") == name and bucket["versions"]:
                stack["status"] = "DELETE_FAILED"  # BucketNotEmpty
            else:
                state.get("buckets", {}).pop(stack["params"]["BucketName"], None)
                stack["status"] = "DELETE_COMPLETE"
    elif op == "wait":
        waiter = args[1]
        want = {"stack-create-complete": "CREATE_COMPLETE", "stack-update-complete": "UPDATE_COMPLETE",
                "stack-delete-complete": "DELETE_COMPLETE"}[waiter]  # fmt: skip
        status = stack["status"] if stack else "DELETE_COMPLETE"
        if status != want:
            message = f'Waiter encountered a terminal failure state: matched expected path: "{status}"'
            raise CliError(f"\nWaiter StackCompleteWaiter failed: {message}", 255)
        if status == "DELETE_COMPLETE":
            stacks.pop(name, None)
    else:
        raise CliError(f"fake aws: unsupported cloudformation {op}", 2)


def main(argv: list[str]) -> None:
    """Answer one call (already logged by fake_aws.py) and exit like the CLI."""
    args, glob = split(argv)
    state = load()
    handler = {"s3control": s3control, "logs": logs, "ec2": ec2, "sts": sts, "s3api": s3api,
               "cloudformation": cloudformation}[args[0]]  # fmt: skip
    try:
        handler(args[1:], glob, state)
    except CliError as exc:
        save(state)  # a failed call can still change state (route reads count down)
        print(exc, file=sys.stderr)
        sys.exit(exc.code)
    save(state)
