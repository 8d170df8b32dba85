"""A stand-in ``aws`` for the deploy scripts' tests: records every call and answers
like the AWS CLI from a small JSON state (stacks, objects, credentials).

Environment: FAKE_AWS_STATE (JSON file), FAKE_AWS_LOG (one JSON argv per line),
FAKE_S3_ENDPOINT (optional: put-object also writes there, e.g. the local buckets),
FAKE_DELETE_FAILS (optional: how many delete waits fail, as with Lambda@Edge replicas).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import fake_aws_ops

STATE = Path(os.environ["FAKE_AWS_STATE"])


def load() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def opt(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def fail(message: str, code: int = 254) -> None:
    print(f"\nAn error occurred (ValidationError) when calling the operation: {message}", file=sys.stderr)
    sys.exit(code)


def outputs(params: dict) -> dict:
    return {
        "CloudFrontDns": os.environ.get("FAKE_CLOUDFRONT_DNS", "https://d111111abcdef8.cloudfront.net"),
        "DistributionId": "EDFDVBD6EXAMPLE",
        "S3BucketOneName": params["S3BucketOneName"],
        "S3BucketTwoName": params["S3BucketTwoName"],
        "MrapAlias": "mfzwi23gnjvgw.mrap",
        "MrapArn": "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
        "FunctionVersionArn": "arn:aws:lambda:us-east-1:123456789012:function:mrap-edge-signer:1",
    }


def cloudformation(args: list[str], state: dict) -> None:
    stacks = state.setdefault("stacks", {})
    name = opt(args, "--stack-name")
    op = args[0]
    if op == "describe-stacks":
        if name not in stacks:
            fail(f"Stack with id {name} does not exist")
        stack, query = stacks[name], opt(args, "--query", "")
        if query == "Stacks[0].StackStatus":
            print(stack["status"])
        elif query.startswith("Stacks[0].Outputs[?OutputKey=="):
            key = query.split("'")[1]
            print(stack["outputs"].get(key, ""))
        else:
            for key, value in stack["outputs"].items():
                print(f"{key}\t{value}")
    elif op in ("create-stack", "update-stack"):
        if "--capabilities" not in args:
            fail("Requires capabilities : [CAPABILITY_IAM]")
        i = args.index("--parameters") + 1
        params = {}
        while i < len(args) and not args[i].startswith("--"):
            key, value = args[i].split(",", 1)
            params[key.split("=", 1)[1]] = value.split("=", 1)[1]
            i += 1
        template = Path(opt(args, "--template-body").removeprefix("file://")).read_text()
        if op == "create-stack":
            if name in stacks:
                fail(f"Stack [{name}] already exists")
            stacks[name] = {"status": "CREATE_COMPLETE", "params": params, "template": template}
        else:
            if name not in stacks:
                fail(f"Stack [{name}] does not exist")
            if stacks[name]["params"] == params and stacks[name]["template"] == template:
                fail("No updates are to be performed.")
            stacks[name].update(status="UPDATE_COMPLETE", params=params, template=template)
        stacks[name]["outputs"] = outputs(params)
        print(json.dumps({"StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/1"}))
    elif op == "delete-stack":
        state["delete_requested"] = state.get("delete_requested", 0) + 1
    elif op == "wait":
        if args[1] == "stack-delete-complete":
            failures = int(os.environ.get("FAKE_DELETE_FAILS", "0"))
            if state["delete_requested"] <= failures:
                stacks[name]["status"] = "DELETE_FAILED"
                print("Waiter StackDeleteComplete failed: Waiter encountered a terminal failure state", file=sys.stderr)
                sys.exit(255)
            stacks.pop(name, None)


def s3api(args: list[str], state: dict) -> None:
    objects = state.setdefault("objects", {})
    bucket, key = opt(args, "--bucket"), opt(args, "--key")
    op = args[0]
    if op == "head-object":
        if f"{bucket}/{key}" not in objects:
            print("An error occurred (404) when calling the HeadObject operation: Not Found", file=sys.stderr)
            sys.exit(254)
        print(json.dumps({"ContentLength": objects[f"{bucket}/{key}"]}))
    elif op == "put-object":
        body = Path(opt(args, "--body")).read_bytes()
        objects[f"{bucket}/{key}"] = len(body)
        endpoint = os.environ.get("FAKE_S3_ENDPOINT")
        if endpoint:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="AKIAMOTOLOCALEXAMPLE", aws_secret_access_key="moto")  # fmt: skip
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=opt(args, "--content-type", "text/html"))
        print(json.dumps({"ETag": '"0"'}))
    elif op == "delete-object":
        objects.pop(f"{bucket}/{key}", None)
    elif op == "list-objects-v2":
        prefix = opt(args, "--prefix", "")
        keys = [k.split("/", 1)[1] for k in objects if k.startswith(f"{bucket}/{prefix}")]
        print("\t".join(keys) if keys else "None")


def main(argv: list[str]) -> None:
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    if fake_aws_ops.handles(argv):  # routes, logs, bucket stacks: tests/scripts/fake_aws_ops.py
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
    if args[0] == "cloudformation":
        cloudformation(args[1:], state)
    elif args[0] == "s3api":
        s3api(args[1:], state)
    else:
        print(f"fake aws: unsupported {argv}", file=sys.stderr)
        sys.exit(2)
    save(state)


if __name__ == "__main__":
    main(sys.argv[1:])
