"""A stand-in ``aws`` for the deploy scripts' tests: records every call and answers
like the AWS CLI from a small JSON state (stacks and their events, change sets,
objects, function versions, credentials).

Environment: FAKE_AWS_STATE (JSON file), FAKE_AWS_LOG (one JSON argv per line),
FAKE_S3_ENDPOINT (optional: put-object/delete-object also act there, e.g. the local
buckets), FAKE_DELETE_FAILS (optional: how many stack deletions end in DELETE_FAILED,
as with Lambda@Edge replicas), FAKE_EVENTS_PER_POLL (how many new stack events each
describe-stack-events call reveals; 8 by default), FAKE_CLOUDFRONT_DNS.

A test steers CloudFormation through keys it puts in the state before a run:
``next_changes`` (the ResourceChange list of the next change set), ``next_change_set_failure``
(its StatusReason: the change set FAILS), ``next_outcome`` ({"events": [[logical id, type,
status, reason], ...], "final": status}: what the next execution or deletion does),
``replicated`` (function versions whose deletion fails as still replicated), ``versioned``
(buckets that return a VersionId), ``deny`` (calls answered with AccessDenied),
``region_opt`` ({Region: RegionOptStatus} over the defaults in ``REGIONS``),
``oac_protocols`` (the SigningProtocol pattern of CloudFormation's live OAC schema),
``policies`` (IAM policies that exist: the permissions boundary).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import fake_aws_ops
import fake_s3_versions

STATE = Path(os.environ["FAKE_AWS_STATE"])
ACCOUNT = "123456789012"
STACK_TYPE = "AWS::CloudFormation::Stack"
REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."
REPLICATED = (
    "Lambda was unable to delete {arn} because it is a replicated function. Please see our documentation "
    "for Deleting Lambda@Edge Functions and Replicas."
)
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
# The commercial Regions and their opt-in status for an account that enabled none: the 17
# every account has, then opt-in ones. https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
REGIONS = {
    **dict.fromkeys(
        ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
         "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-west-1",
         "eu-west-2", "eu-west-3", "eu-north-1", "sa-east-1"),
        "ENABLED_BY_DEFAULT",
    ),
    **dict.fromkeys(
        ("af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1", "eu-south-1",
         "eu-south-2", "eu-central-2", "me-south-1", "me-central-1", "il-central-1"),
        "DISABLED",
    ),
}  # fmt: skip
# What each signing mode of cloudformation.template creates beyond the common resources.
MODE_RESOURCES = {
    "lambda-edge": [("EdgeFunctionRole", "AWS::IAM::Role"), ("EdgeFunction", "AWS::Lambda::Function"),
                    ("EdgeFunctionVersion", "AWS::Lambda::Version")],
    "oac": [("OriginAccessControl", "AWS::CloudFront::OriginAccessControl")],
}  # fmt: skip
MRAP_TYPE = "AWS::S3::MultiRegionAccessPoint"
# CloudFormation replaces a custom-named resource only under a new name: it creates the
# new one before deleting the old, and names are unique.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html
CUSTOM_NAME_REPLACED = (
    "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
    "Rename {name} and update the stack again."
)


def load() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def opt(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def fail(message: str, code: int = 254, error: str = "ValidationError", operation: str = "") -> None:
    print(f"\nAn error occurred ({error}) when calling the {operation} operation: {message}", file=sys.stderr)
    sys.exit(code)


def out(doc: object) -> None:
    print(json.dumps(doc, indent=4))


# --- CloudFormation: stacks, change sets, events ---------------------------------


def template_resources(template: str, params: dict | None = None) -> list[tuple[str, str]]:
    """(logical id, type) of each resource, in template order (YAML, two-space indent);
    with ``params``, only those the signing mode creates."""
    body = template.split("\nResources:\n", 1)[1].split("\nOutputs:\n", 1)[0]
    found = re.findall(r"^  ([A-Za-z0-9]+):\n(?:    [^\n]*\n)*?    Type: (AWS::[A-Za-z0-9:]+)", body, re.M)
    if params is None:
        return found
    mode = params.get("SigningMode", "lambda-edge")
    other = {name for m, resources in MODE_RESOURCES.items() if m != mode for name, _ in resources}
    return [(name, rtype) for name, rtype in found if name not in other]


def stack_key(state: dict) -> str:
    return "1a2b3c4d"


def physical(state: dict, logical: str, rtype: str) -> str:
    key = stack_key(state)
    if rtype == "AWS::S3::MultiRegionAccessPoint":
        return f"mrap-edge-{key}"
    if rtype == "AWS::Lambda::Function":
        return f"mrap-edge-{key}-signer"
    return f"{logical}-PHYSICAL"


def mrap_name(state: dict, params: dict) -> str:
    """The MRAP's name as the template resolves it: MrapName, or one derived from the stack id."""
    return params.get("MrapName") or f"mrap-edge-{stack_key(state)}"


def version_arn(state: dict, stack: dict) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:mrap-edge-{stack_key(state)}-signer:{stack['version']}"


def outputs(state: dict, stack: dict) -> dict:
    params = stack["params"]
    mode = params.get("SigningMode", "lambda-edge")
    common = {
        "CloudFrontDns": os.environ.get("FAKE_CLOUDFRONT_DNS", "https://d111111abcdef8.cloudfront.net"),
        "DistributionId": "EDFDVBD6EXAMPLE",
        "S3BucketOneName": params["S3BucketOneName"],
        "S3BucketTwoName": params["S3BucketTwoName"],
        "MrapAlias": "mfzwi23gnjvgw.mrap",
        "MrapArn": f"arn:aws:s3::{ACCOUNT}:accesspoint/mfzwi23gnjvgw.mrap",
        "SigningMode": mode,
    }
    if mode == "oac":
        return common | {"OriginAccessControlId": "E1OACEXAMPLE"}
    return common | {
        "FunctionName": f"mrap-edge-{stack_key(state)}-signer",
        "FunctionVersionArn": version_arn(state, stack),
    }


def find_stack(state: dict, ref: str | None, operation: str) -> tuple[str, dict]:
    """A stack by name or id; a deleted one only by id (as CloudFormation does)."""
    for name, stack in state.setdefault("stacks", {}).items():
        if ref in (name, stack["id"]):
            return name, stack
    for stack in state.setdefault("deleted", {}).values():
        if ref == stack["id"]:
            return stack["name"], stack
    fail(f"Stack with id {ref} does not exist", operation=operation)
    raise AssertionError


def add_event(state: dict, stack: dict, logical: str, rtype: str, status: str, reason: str = "") -> dict:
    state["event_seq"] = seq = state.get("event_seq", 0) + 1
    event = {
        "StackId": stack["id"],
        "EventId": f"event-{seq:04d}",
        "StackName": stack["name"],
        "LogicalResourceId": logical,
        "PhysicalResourceId": stack["id"] if rtype == STACK_TYPE else physical(state, logical, rtype),
        "ResourceType": rtype,
        "Timestamp": f"2026-11-27T22:{seq // 60 % 60:02d}:{seq % 60:02d}.000Z",
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def reveal(state: dict, stack: dict) -> None:
    """Each describe-stack-events call, CloudFormation makes a little more progress."""
    for _ in range(int(os.environ.get("FAKE_EVENTS_PER_POLL", "8"))):
        if not stack.get("pending"):
            break
        logical, rtype, status, reason = stack["pending"].pop(0)
        event = add_event(state, stack, logical, rtype, status, reason)
        stack["events"].append(event)
        if rtype == STACK_TYPE:
            stack["status"] = status
        else:
            stack["resources"].setdefault(logical, {"type": rtype})["status"] = status
    if not stack.get("pending") and stack.get("final"):
        stack["status"] = stack.pop("final")
        if stack["status"] == "DELETE_COMPLETE":
            state["stacks"].pop(stack["name"], None)
            state.setdefault("deleted", {})[stack["id"]] = stack


def plan(state: dict, stack: dict, kind: str, changes: list[dict], refused: str = "") -> None:
    """Queue the events of an execution (CREATE/UPDATE) or a deletion (DELETE). REFUSED:
    the MRAP whose replacement keeps its name, which CloudFormation fails and rolls back."""
    name = stack["name"]
    outcome = state.pop("next_outcome", None)
    if outcome:
        stack["pending"] = [list(e) for e in outcome["events"]]
        stack["final"] = outcome["final"]
        return
    if refused:
        stack["pending"] = [
            [name, STACK_TYPE, "UPDATE_IN_PROGRESS", "User Initiated"],
            ["Mrap", MRAP_TYPE, "UPDATE_FAILED", CUSTOM_NAME_REPLACED.format(name=refused)],
            [name, STACK_TYPE, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Mrap]. "],
            [name, STACK_TYPE, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", ""],
            [name, STACK_TYPE, "UPDATE_ROLLBACK_COMPLETE", ""],
        ]
        stack["final"] = "UPDATE_ROLLBACK_COMPLETE"
        return
    resources = template_resources(stack["template"], stack["params"])
    events: list[list[str]] = []
    if kind == "CREATE":
        events.append([name, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated"])
        for logical, rtype in resources:
            events += [
                [logical, rtype, "CREATE_IN_PROGRESS", ""],
                [logical, rtype, "CREATE_IN_PROGRESS", "Resource creation Initiated"],
                [logical, rtype, "CREATE_COMPLETE", ""],
            ]
        events.append([name, STACK_TYPE, "CREATE_COMPLETE", ""])
        final = "CREATE_COMPLETE"
    elif kind == "UPDATE":
        events.append([name, STACK_TYPE, "UPDATE_IN_PROGRESS", "User Initiated"])
        retained, removed = [], []
        for change in changes:
            rc = change["ResourceChange"]
            logical, rtype = rc["LogicalResourceId"], rc["ResourceType"]
            if rc.get("Action") == "Add":
                events += [[logical, rtype, "CREATE_IN_PROGRESS", ""], [logical, rtype, "CREATE_COMPLETE", ""]]
            elif rc.get("Action") == "Remove":
                removed.append((logical, rtype))
            elif rc.get("Replacement") == "True":
                events += [
                    [logical, rtype, "UPDATE_IN_PROGRESS", REPLACING],
                    [logical, rtype, "UPDATE_COMPLETE", ""],
                ]
                retained.append((logical, rtype))
            else:
                events += [[logical, rtype, "UPDATE_IN_PROGRESS", ""], [logical, rtype, "UPDATE_COMPLETE", ""]]
        events.append([name, STACK_TYPE, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", ""])
        events += [[logical, rtype, "DELETE_SKIPPED", ""] for logical, rtype in retained]
        for logical, rtype in reversed(removed):  # a removed resource is deleted in the cleanup
            if rtype == "AWS::Lambda::Version":
                events.append([logical, rtype, "DELETE_SKIPPED", ""])
            elif rtype == "AWS::Lambda::Function":  # its replicas outlive the association by hours
                arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{physical(state, logical, rtype)}"
                events += [[logical, rtype, "DELETE_IN_PROGRESS", ""],
                           [logical, rtype, "DELETE_FAILED", REPLICATED.format(arn=arn)]]  # fmt: skip
            else:
                events += [[logical, rtype, "DELETE_IN_PROGRESS", ""], [logical, rtype, "DELETE_COMPLETE", ""]]
        events.append([name, STACK_TYPE, "UPDATE_COMPLETE", ""])
        final = "UPDATE_COMPLETE"
    else:
        events.append([name, STACK_TYPE, "DELETE_IN_PROGRESS", "User Initiated"])
        state["delete_requested"] = state.get("delete_requested", 0) + 1
        replicas = state["delete_requested"] <= int(os.environ.get("FAKE_DELETE_FAILS", "0"))
        stuck = {"EdgeFunction", "EdgeFunctionRole", "Mrap"} if replicas else set()
        for logical, rtype in reversed(resources):
            if stack["resources"].get(logical, {}).get("status") == "DELETE_COMPLETE":
                continue
            if logical == "EdgeFunction" and replicas:
                arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{physical(state, logical, rtype)}:1"
                events += [
                    [logical, rtype, "DELETE_IN_PROGRESS", ""],
                    [
                        logical,
                        rtype,
                        "DELETE_FAILED",
                        REPLICATED.format(arn=arn) + " (Service: Lambda, Status Code: 400)",
                    ],
                ]
            elif logical in stuck:
                continue  # depends on the function (role) or is referenced by the role (MRAP)
            elif rtype == "AWS::Lambda::Version":
                events.append([logical, rtype, "DELETE_SKIPPED", ""])
            else:
                events += [[logical, rtype, "DELETE_IN_PROGRESS", ""], [logical, rtype, "DELETE_COMPLETE", ""]]
        if replicas:
            reason = "The following resource(s) failed to delete: [EdgeFunction]. "
            events.append([name, STACK_TYPE, "DELETE_FAILED", reason])
            final = "DELETE_FAILED"
        else:
            events.append([name, STACK_TYPE, "DELETE_COMPLETE", ""])
            final = "DELETE_COMPLETE"
    stack["pending"], stack["final"] = events, final


def parse_parameters(args: list[str]) -> dict:
    i = args.index("--parameters") + 1
    params = {}
    while i < len(args) and not args[i].startswith("--"):
        key, value = args[i].split(",", 1)
        params[key.split("=", 1)[1]] = value.split("=", 1)[1]
        i += 1
    return params


def default_changes(stack: dict, params: dict) -> list[dict]:
    def change(logical: str, rtype: str, replacement: str, action: str = "Modify") -> dict:
        rc = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype}
        return {"Type": "Resource", "ResourceChange": rc | ({"Replacement": replacement} if replacement else {})}

    old = stack["params"]
    before, after = old.get("SigningMode", "lambda-edge"), params.get("SigningMode", "lambda-edge")
    if before != after:  # a mode switch: one mode's resources go, the other's come
        return [
            *(change(name, rtype, "", "Add") for name, rtype in MODE_RESOURCES[after]),
            change("MrapPolicy", "AWS::S3::MultiRegionAccessPointPolicy", "False"),
            change("Distribution", "AWS::CloudFront::Distribution", "False"),
            *(change(name, rtype, "", "Remove") for name, rtype in MODE_RESOURCES[before]),
        ]
    changes = []
    # The MRAP's Name and Regions (the buckets) can only change by replacing it.
    if any(old.get(k, "") != params.get(k, "") for k in ("S3BucketOneName", "S3BucketTwoName", "MrapName")):
        changes.append(change("Mrap", MRAP_TYPE, "True"))
    if old.get("LambdaCodeKey") != params.get("LambdaCodeKey"):
        changes += [
            change("EdgeFunction", "AWS::Lambda::Function", "False"),
            change("EdgeFunctionVersion", "AWS::Lambda::Version", "True"),
        ]
    return [*changes, change("Distribution", "AWS::CloudFront::Distribution", "False")]


def cloudformation_change_sets(op: str, args: list[str], state: dict) -> None:
    stacks = state.setdefault("stacks", {})
    sets = state.setdefault("change_sets", {})
    ref, cs_name = opt(args, "--stack-name"), opt(args, "--change-set-name")
    if op == "create-change-set":
        kind = opt(args, "--change-set-type", "UPDATE")
        params = parse_parameters(args)
        template = Path(opt(args, "--template-body").removeprefix("file://")).read_text()
        # A template that names an IAM resource needs CAPABILITY_NAMED_IAM; CAPABILITY_IAM is not enough.
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
        needed = "CAPABILITY_NAMED_IAM" if re.search(r"^      RoleName:", template, re.M) else "CAPABILITY_IAM"
        if needed not in (opt(args, "--capabilities") or "").split():
            fail(f"Requires capabilities : [{needed}]", error="InsufficientCapabilitiesException",
                 operation="CreateChangeSet")  # fmt: skip
        if kind == "CREATE":
            if ref in stacks and stacks[ref]["status"] != "REVIEW_IN_PROGRESS":
                fail(f"Stack [{ref}] already exists and cannot be created again with the changeSet [{cs_name}].",
                     error="AlreadyExistsException", operation="CreateChangeSet")  # fmt: skip
            state["stack_seq"] = seq = state.get("stack_seq", 0) + 1
            stack = stacks.setdefault(ref, {
                "name": ref, "id": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{ref}/0000-{seq}",
                "status": "REVIEW_IN_PROGRESS", "params": {}, "template": "", "resources": {}, "events": [],
                "version": 0, "outputs": {},
            })  # fmt: skip
            stack["events"].append(add_event(state, stack, ref, STACK_TYPE, "REVIEW_IN_PROGRESS", "User Initiated"))
            changes = [
                {
                    "Type": "Resource",
                    "ResourceChange": {"Action": "Add", "LogicalResourceId": logical, "ResourceType": rtype},
                }
                for logical, rtype in template_resources(template, params)
            ]
        else:
            _, stack = find_stack(state, ref, "CreateChangeSet")
            changes = state.pop("next_changes", None)
            if changes is None:
                same = stack["params"] == params and stack["template"] == template
                changes = [] if same else default_changes(stack, params)
        failure = state.pop("next_change_set_failure", None)
        if failure:
            status, reason = "FAILED", failure
        else:
            status, reason = ("CREATE_COMPLETE", "") if changes else ("FAILED", NO_CHANGES)
        sets[cs_name] = {
            "ChangeSetName": cs_name, "StackId": stack["id"], "StackName": stack["name"], "Type": kind,
            "Status": status, "StatusReason": reason,
            "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
            "Changes": changes, "params": params, "template": template, "polls": 1,
        }  # fmt: skip
        out({"Id": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/{cs_name}/1", "StackId": stack["id"]})
    elif op == "describe-change-set":
        cs = sets.get(cs_name) or fail(f"ChangeSet [{cs_name}] does not exist", error="ChangeSetNotFound")
        if cs["polls"] > 0:  # the first answer: still being computed
            cs["polls"] -= 1
            doc = {k: v for k, v in cs.items() if k in ("ChangeSetName", "StackId")}
            out(doc | {"Status": "CREATE_IN_PROGRESS", "ExecutionStatus": "UNAVAILABLE", "Changes": []})
            return
        doc = {k: v for k, v in cs.items() if k not in ("params", "template", "polls", "Type")}
        if not doc["StatusReason"]:
            del doc["StatusReason"]
        out(doc)
    elif op == "delete-change-set":
        sets.pop(cs_name, None) or fail(f"ChangeSet [{cs_name}] does not exist", error="ChangeSetNotFound")
    elif op == "execute-change-set":
        cs = sets.pop(cs_name, None) or fail(f"ChangeSet [{cs_name}] does not exist", error="ChangeSetNotFound")
        assert cs["Status"] == "CREATE_COMPLETE", cs
        _, stack = find_stack(state, cs["StackId"], "ExecuteChangeSet")
        replaced = any(c["ResourceChange"]["ResourceType"] == MRAP_TYPE and c["ResourceChange"].get("Replacement")
                       == "True" for c in cs["Changes"])  # fmt: skip
        old_name = mrap_name(state, stack["params"])
        if cs["Type"] == "UPDATE" and replaced and mrap_name(state, cs["params"]) == old_name:
            stack["status"] = "UPDATE_IN_PROGRESS"  # and rolled back: parameters, outputs and code stay
            plan(state, stack, "UPDATE", cs["Changes"], refused=old_name)
            return
        stack.update(params=cs["params"], template=cs["template"])
        if any(c["ResourceChange"]["ResourceType"] == "AWS::Lambda::Version" for c in cs["Changes"]):
            stack["version"] += 1
            state.setdefault("versions", []).append(str(stack["version"]))
        stack["outputs"] = outputs(state, stack)
        stack["status"] = f"{cs['Type']}_IN_PROGRESS"
        plan(state, stack, cs["Type"], cs["Changes"])


NO_SUCH_CODE = (
    'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error '
    'Message: The specified key does not exist. (Service: Lambda, Status Code: 400)"'
)


def create_stack(args: list[str], state: dict) -> None:
    """create-stack as the original sample runs it: CloudFormation checks the parameters
    against the template, then Lambda fetches the code from S3BucketDeployables at
    LambdaCodeKey (the template's default when not given) or the stack rolls back."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from local.template import load_template

    ref = opt(args, "--stack-name")
    if "--capabilities" not in args:
        fail("Requires capabilities : [CAPABILITY_IAM]", error="InsufficientCapabilitiesException",
             operation="CreateStack")  # fmt: skip
    template_path = Path(opt(args, "--template-body").removeprefix("file://"))
    declared = load_template(template_path)["Parameters"]
    params = parse_parameters(args) if "--parameters" in args else {}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        fail(f"Parameters: [{', '.join(unknown)}] do not exist in the template", operation="CreateStack")
    missing = sorted(k for k, v in declared.items() if "Default" not in v and k not in params)
    if missing:
        fail(f"Parameters: [{', '.join(missing)}] must have values", operation="CreateStack")
    stacks = state.setdefault("stacks", {})
    if ref in stacks:
        fail(f"Stack [{ref}] already exists", error="AlreadyExistsException", operation="CreateStack")
    state["stack_seq"] = seq = state.get("stack_seq", 0) + 1
    stack = stacks[ref] = {
        "name": ref, "id": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{ref}/0000-{seq}",
        "status": "CREATE_IN_PROGRESS", "params": params, "template": template_path.read_text(), "resources": {},
        "events": [], "version": 1, "outputs": {},
    }  # fmt: skip
    code = f"{params['S3BucketDeployables']}/{params.get('LambdaCodeKey', declared['LambdaCodeKey']['Default'])}"
    if code not in state.get("objects", {}):
        function = "AWS::Lambda::Function"
        state["next_outcome"] = {"events": [
            [ref, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated"],
            ["EdgeFunction", function, "CREATE_IN_PROGRESS", ""],
            ["EdgeFunction", function, "CREATE_FAILED", NO_SUCH_CODE],
            [ref, STACK_TYPE, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [EdgeFunction]. "],
            ["EdgeFunction", function, "DELETE_COMPLETE", ""],
            [ref, STACK_TYPE, "ROLLBACK_COMPLETE", ""],
        ], "final": "ROLLBACK_COMPLETE"}  # fmt: skip
    else:
        stack["outputs"] = outputs(state, stack)
    plan(state, stack, "CREATE", [])
    out({"StackId": stack["id"]})


def wait(args: list[str], state: dict) -> None:
    """cloudformation wait stack-create-complete: polls until the stack settles."""
    waiter = args[0]
    assert waiter == "stack-create-complete", waiter
    _, stack = find_stack(state, opt(args, "--stack-name"), "DescribeStacks")
    while stack.get("pending"):
        reveal(state, stack)
    if stack["status"] != "CREATE_COMPLETE":
        matched = f'we matched expected path: "{stack["status"]}" at least once'
        print("\nWaiter StackCreateComplete failed: Waiter encountered a terminal failure state: For expression "
              f'"Stacks[].StackStatus" {matched}', file=sys.stderr)  # fmt: skip
        sys.exit(255)


def cloudformation(args: list[str], state: dict) -> None:
    op = args[0]
    ref = opt(args, "--stack-name")
    if op.endswith("-change-set"):
        cloudformation_change_sets(op, args, state)
    elif op == "create-stack":
        create_stack(args, state)
    elif op == "wait":
        wait(args[1:], state)
    elif op == "describe-stacks":
        name, stack = find_stack(state, ref, "DescribeStacks")
        query = opt(args, "--query", "")
        if query == "Stacks[0].StackStatus":
            print(stack["status"])
        elif query == "Stacks[0].StackId":
            print(stack["id"])
        elif "Parameters[?" in query:  # deploy.sh's read of the buckets and the MRAP name
            import jmespath

            parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in stack["params"].items()]
            doc = {"Stacks": [{"StackId": stack["id"], "StackName": name, "Parameters": parameters}]}
            print(fake_aws_ops.text(jmespath.search(query, doc)))
        elif query.startswith("Stacks[0].Outputs[?OutputKey=="):
            key = query.split("'")[1]
            print(stack["outputs"].get(key, "None"))
        elif query:
            for key, value in stack["outputs"].items():
                print(f"{key}\t{value}")
        else:
            parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in stack["params"].items()]
            out({"Stacks": [{"StackId": stack["id"], "StackName": name, "StackStatus": stack["status"],
                             "Parameters": parameters}]})  # fmt: skip
    elif op == "describe-stack-events":
        name, stack = find_stack(state, ref, "DescribeStackEvents")
        reveal(state, stack)
        out({"StackEvents": stack["events"][::-1]})
    elif op == "delete-stack":
        name, stack = find_stack(state, ref, "DeleteStack")
        if stack["status"] == "DELETE_COMPLETE":
            return
        stack["status"] = "DELETE_IN_PROGRESS"
        plan(state, stack, "DELETE", [])
    elif op == "list-stack-resources":
        name, stack = find_stack(state, ref, "ListStackResources")
        out({"StackResourceSummaries": [
            {"LogicalResourceId": logical, "ResourceType": rtype,
             "PhysicalResourceId": physical(state, logical, rtype),
             "ResourceStatus": stack["resources"].get(logical, {}).get("status", "CREATE_COMPLETE")}
            for logical, rtype in template_resources(stack["template"], stack["params"])
        ]})  # fmt: skip
    elif op == "describe-type":  # the live resource schema: only the part deploy.sh reads
        assert opt(args, "--type") == "RESOURCE" and opt(args, "--type-name") == "AWS::CloudFront::OriginAccessControl"
        protocol = {"type": "string", "pattern": state.get("oac_protocols", "^(sigv4|sigv4a)$")}
        config = {"type": "object", "properties": {"SigningProtocol": protocol}}
        schema = {"typeName": "AWS::CloudFront::OriginAccessControl",
                  "definitions": {"OriginAccessControlConfig": config}}  # fmt: skip
        out({"TypeName": "AWS::CloudFront::OriginAccessControl", "Type": "RESOURCE", "Schema": json.dumps(schema)})
    elif op == "describe-stack-resource":
        name, stack = find_stack(state, ref, "DescribeStackResource")
        logical = opt(args, "--logical-resource-id")
        rtype = dict(template_resources(stack["template"], stack["params"])).get(logical)
        if rtype is None:
            fail(f"Resource {logical} does not exist for stack {name}", operation="DescribeStackResource")
        detail = {"LogicalResourceId": logical, "PhysicalResourceId": physical(state, logical, rtype)}
        out({"StackResourceDetail": detail})
    else:
        fail(f"fake aws: unsupported cloudformation {op}", code=2)


# --- Lambda and CloudFront: retained versions -------------------------------------


def lambda_(args: list[str], state: dict) -> None:
    op, name = args[0], opt(args, "--function-name")
    versions = state.setdefault("versions", [])
    if op == "list-versions-by-function":
        out({"Versions": [{"Version": "$LATEST"}] + [{"Version": v, "FunctionName": name} for v in versions]})
    elif op == "delete-function":
        version = opt(args, "--qualifier")
        arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}:{version}"
        if version in state.get("replicated", []):
            fail(REPLICATED.format(arn=arn), error="InvalidParameterValueException", operation="DeleteFunction")
        if version in state.get("delete_denied", []):
            fail("User is not authorized to perform: lambda:DeleteFunction", error="AccessDeniedException",
                 operation="DeleteFunction")  # fmt: skip
        versions.remove(version)
    else:
        fail(f"fake aws: unsupported lambda {op}", code=2)


def cloudfront(args: list[str], state: dict) -> None:
    op = args[0]
    if op == "get-distribution-config":
        stack = next(iter(state["stacks"].values()))
        items = (
            []
            if stack["params"].get("SigningMode") == "oac"
            else [{"LambdaFunctionARN": version_arn(state, stack), "EventType": "origin-request", "IncludeBody": False}]
        )
        items += state.get("extra_associations", [])  # triggers someone added by hand
        out({"ETag": "E2QWRUHEXAMPLE", "DistributionConfig": {
            "DefaultCacheBehavior": {"LambdaFunctionAssociations": {"Quantity": len(items), "Items": items}},
            "CacheBehaviors": {"Quantity": 0},
        }})  # fmt: skip
    else:
        fail(f"fake aws: unsupported cloudfront {op}", code=2)


# --- IAM: the function role's permissions boundary ------------------------------------


def iam(args: list[str], state: dict) -> None:
    """``policies`` in the state: ARN -> the policy document a create-policy wrote."""
    op = args[0]
    policies = state.setdefault("policies", {})
    if op == "get-policy":
        arn = opt(args, "--policy-arn")
        if arn not in policies:
            fail(f"Policy {arn} was not found.", error="NoSuchEntity", operation="GetPolicy")
        out({"Policy": {"PolicyName": arn.rsplit("/", 1)[1], "Arn": arn, "DefaultVersionId": "v1"}})
    elif op == "create-policy":
        name = opt(args, "--policy-name")
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        if arn in policies:
            fail(f"A policy called {name} already exists. Duplicate names are not allowed.",
                 error="EntityAlreadyExists", operation="CreatePolicy")  # fmt: skip
        policies[arn] = json.loads(Path(opt(args, "--policy-document").removeprefix("file://")).read_text())
        out({"Policy": {"PolicyName": name, "Arn": arn, "DefaultVersionId": "v1"}})
    else:
        fail(f"fake aws: unsupported iam {op}", code=2)


# --- S3 objects ---------------------------------------------------------------------


def moto_client():
    import boto3

    return boto3.client("s3", endpoint_url=os.environ["FAKE_S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id="AKIAMOTOLOCALEXAMPLE", aws_secret_access_key="moto")  # fmt: skip


def s3api(args: list[str], state: dict) -> None:
    objects = state.setdefault("objects", {})
    bodies = state.setdefault("bodies", {})
    metadata = state.setdefault("metadata", {})
    bucket, key = opt(args, "--bucket"), opt(args, "--key")
    op = args[0]
    if op == "head-object" and os.environ.get("FAKE_S3_ENDPOINT") and "--version-id" in args:
        head = moto_client().head_object(Bucket=bucket, Key=key, VersionId=opt(args, "--version-id"))
        out({k: head[k] for k in ("ContentLength", "VersionId", "Metadata", "ReplicationStatus") if k in head})
    elif op == "list-object-versions":  # with FAKE_S3_ENDPOINT only: the local buckets' own versions
        listed = moto_client().list_object_versions(Bucket=bucket, Prefix=opt(args, "--prefix", ""))
        out({kind: [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed.get(kind, [])]
             for kind in ("Versions", "DeleteMarkers")})  # fmt: skip
    elif op == "head-object":
        if f"{bucket}/{key}" not in objects:
            print("An error occurred (404) when calling the HeadObject operation: Not Found", file=sys.stderr)
            sys.exit(254)
        out({"ContentLength": objects[f"{bucket}/{key}"], "Metadata": metadata.get(f"{bucket}/{key}", {})})
    elif op == "put-object":
        body = Path(opt(args, "--body")).read_bytes()
        objects[f"{bucket}/{key}"] = len(body)
        # Text bodies (probes, users' objects) are kept to check later; a package zip only by
        # its digest: 4.5 MB of escaped JSON made every later call of a test slow.
        try:
            bodies[f"{bucket}/{key}"] = body.decode("utf-8")
        except UnicodeDecodeError:
            bodies[f"{bucket}/{key}"] = f"<{len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()}>"
        if "--metadata" in args:
            metadata[f"{bucket}/{key}"] = dict(kv.split("=", 1) for kv in opt(args, "--metadata").split(","))
        answer = {"ETag": '"0"'}
        if os.environ.get("FAKE_S3_ENDPOINT"):
            put = moto_client().put_object(Bucket=bucket, Key=key, Body=body,
                                           ContentType=opt(args, "--content-type", "text/html"))  # fmt: skip
            if put.get("VersionId"):
                answer["VersionId"] = put["VersionId"]
        elif bucket in state.get("versioned", []):
            state["version_seq"] = state.get("version_seq", 0) + 1
            answer["VersionId"] = f"v{state['version_seq']}"
        out(answer)
    elif op == "delete-object":
        objects.pop(f"{bucket}/{key}", None)
        bodies.pop(f"{bucket}/{key}", None)
        metadata.pop(f"{bucket}/{key}", None)
        if os.environ.get("FAKE_S3_ENDPOINT"):
            extra = {"VersionId": opt(args, "--version-id")} if "--version-id" in args else {}
            moto_client().delete_object(Bucket=bucket, Key=key, **extra)
    elif op == "list-objects-v2":
        prefix = opt(args, "--prefix", "")
        keys = [k.split("/", 1)[1] for k in objects if k.startswith(f"{bucket}/{prefix}")]
        if "--query" in args:
            print("\t".join(keys) if keys else "None")
        else:
            out({"Contents": [{"Key": k, "Size": objects[f"{bucket}/{k}"]} for k in keys]} if keys else {})
    else:
        fail(f"fake aws: unsupported s3api {op}", code=2)


def account(args: list[str], state: dict) -> None:
    if args[0] == "list-regions":  # the CLI follows the pages: one answer
        statuses = REGIONS | state.get("region_opt", {})
        out({"Regions": [{"RegionName": r, "RegionOptStatus": s} for r, s in statuses.items()]})
    else:
        fail(f"fake aws: unsupported account {args[0]}", code=2)


def s3(args: list[str], state: dict) -> None:
    """``aws s3 cp FILE s3://BUCKET/KEY``: an upload, kept byte for byte beside the state."""
    op, source, target = args[0], args[1], args[2]
    assert op == "cp" and target.startswith("s3://") and not source.startswith("s3://"), args
    bucket, key = target.removeprefix("s3://").split("/", 1)
    data = Path(source).read_bytes()
    kept = STATE.parent / "uploads" / bucket / key
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(data)
    state.setdefault("objects", {})[f"{bucket}/{key}"] = len(data)
    print(f"upload: {source} to {target}")


def denied(args: list[str], state: dict) -> None:
    """``deny``: ["service op", ...] in the state answers those calls with AccessDenied."""
    if f"{args[0]} {args[1]}" in state.get("deny", []):
        operation = "".join(part.title() for part in args[1].split("-"))
        fail(f"User: arn:aws:iam::{ACCOUNT}:user/deployer is not authorized to perform: {args[0]}:{operation}",
             error="AccessDenied", operation=operation)  # fmt: skip


def main(argv: list[str]) -> None:
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    if fake_s3_versions.handles(argv):  # versioned, replicating content buckets: fake_s3_versions.py
        return fake_s3_versions.main(argv)
    local_versions = os.environ.get("FAKE_S3_ENDPOINT") and argv[:2] == ["s3api", "list-object-versions"]
    if fake_aws_ops.handles(argv) and not local_versions:  # routes, logs, bucket stacks: fake_aws_ops.py
        return fake_aws_ops.main(argv)
    state = load()
    if argv[:2] == ["configure", "list"]:
        key = state.get("access_key", "****************ABCD")
        shown = key if key else "<not set>"
        print("      Name                    Value             Type    Location")
        print("      ----                    -----             ----    --------")
        print(f"access_key     {shown}  {'env' if key else 'None'}    ")
        return
    args = [a for a in argv if a not in ("--region",)]
    if "--region" in argv:
        region = argv[argv.index("--region") + 1]
        args.remove(region)
        assert region == "us-east-1", region
    for flag in ("--output", "--max-items"):  # formatting only: the fake always answers JSON
        if flag in args and opt(args, flag) != "text":
            i = args.index(flag)
            del args[i : i + 2]
    denied(args, state)

    services = {"cloudformation": cloudformation, "s3api": s3api, "s3": s3, "lambda": lambda_,
                "cloudfront": cloudfront, "account": account, "iam": iam}  # fmt: skip
    if args[0] not in services:
        print(f"fake aws: unsupported {argv}", file=sys.stderr)
        sys.exit(2)
    try:
        services[args[0]](args[1:], state)
    finally:
        save(state)


if __name__ == "__main__":
    main(sys.argv[1:])
