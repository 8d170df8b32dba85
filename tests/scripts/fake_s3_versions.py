"""Objects in the recording ``aws``'s content buckets (state ``buckets``, as fake_aws_ops.py
keeps them) with S3's versioning and live replication, for the scripts that write probes
(smoke, destroy, replication-check).

What it models, with the S3 behaviour it follows:

- A put into a versioned bucket adds a version; into an unversioned one it replaces the
  ``null`` version. With a replication rule the new version's ReplicationStatus is
  PENDING, and after ``replication_delay`` later calls (3 by default: replication is
  asynchronous) a replica with the same version id appears in the destination
  (ReplicationStatus REPLICA) and the source's becomes COMPLETED, or FAILED when the
  destination is missing or unversioned, or the source is in the state's
  ``replication_fails`` (a role S3 cannot use: nothing but the status shows it).
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html
- Replicas are not replicated again (replica modification sync carries metadata only).
- A delete without a version id adds a delete marker, replicated when the rule says
  DeleteMarkerReplication Enabled; a delete of a version id removes that version only
  and is never replicated.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarkerReplication.html
- HEAD of a delete marker's version id is 405; of a key whose latest version is a
  delete marker, 404.

The CLI follows S3's region redirects itself, so --region is not checked here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fake_aws_ops import CliError, emit, load, opt, save, service_error, split

OPS = ("put-object", "head-object", "delete-object", "list-object-versions")


def handles(argv: list[str]) -> bool:
    """Object calls on a bucket of the ``buckets`` state; a whole-bucket listing (no
    --prefix, as destroy_buckets makes) stays with fake_aws_ops."""
    args, _ = split(argv)
    if len(args) < 2 or args[0] != "s3api" or args[1] not in OPS:
        return False
    if args[1] == "list-object-versions" and "--prefix" not in args:
        return False
    return opt(args, "--bucket") in load().get("buckets", {})


def destination(bucket: dict) -> tuple[str, dict] | None:
    """(destination bucket name, rule) of the bucket's replication rule, if any."""
    config = bucket.get("replication") or {}
    for rule in config.get("Rules", []):
        if rule.get("Status") == "Enabled":
            return rule["Destination"]["Bucket"].split(":::", 1)[1], rule
    return None


def tick(state: dict) -> None:
    """Time passes with each call: replicate what is due."""
    state["s3_clock"] = now = state.get("s3_clock", 0) + 1
    buckets = state["buckets"]
    for name, bucket in buckets.items():
        target = destination(bucket)
        for version in bucket["versions"]:
            if version.get("pending_until") is None or version["pending_until"] > now:
                continue
            del version["pending_until"]
            dest = buckets.get(target[0]) if target else None
            ok = (
                dest is not None
                and dest.get("versioning") == "Enabled"
                and name not in state.get("replication_fails", [])
            )
            if not version.get("delete_marker"):
                version["ReplicationStatus"] = "COMPLETED" if ok else "FAILED"
            if ok:
                replica = {k: v for k, v in version.items() if k != "ReplicationStatus"}
                if not version.get("delete_marker"):
                    replica["ReplicationStatus"] = "REPLICA"
                dest["versions"].append(replica)


def new_version(state: dict, bucket: dict, key: str, **fields: Any) -> dict:
    if bucket.get("versioning") == "Enabled":
        state["s3_version_seq"] = seq = state.get("s3_version_seq", 0) + 1
        version_id = f"3sL4kqtJlcpXroDTDmJ.{seq:04d}"
    else:
        version_id = "null"
        bucket["versions"] = [v for v in bucket["versions"] if not (v["Key"] == key and v["VersionId"] == "null")]
    version = {"Key": key, "VersionId": version_id, **fields}
    target = destination(bucket)
    replicates = target and (not fields.get("delete_marker") or target[1].get("DeleteMarkerReplication", {}).get(
        "Status") == "Enabled")  # fmt: skip
    if replicates and bucket.get("versioning") == "Enabled":
        version["pending_until"] = state["s3_clock"] + int(state.get("replication_delay", 3))
        if not fields.get("delete_marker"):
            version["ReplicationStatus"] = "PENDING"
    bucket["versions"].append(version)
    return version


def latest(bucket: dict, key: str) -> dict | None:
    found = [v for v in bucket["versions"] if v["Key"] == key]
    return found[-1] if found else None


def s3api(args: list[str], glob: dict, state: dict) -> None:
    op, name, key = args[0], opt(args, "--bucket"), opt(args, "--key")
    bucket = state["buckets"][name]
    api = "".join(w.capitalize() for w in op.split("-"))
    if op == "put-object":
        body = Path(opt(args, "--body")).read_text() if "--body" in args else ""
        metadata = dict(kv.split("=", 1) for kv in opt(args, "--metadata").split(",")) if "--metadata" in args else {}
        version = new_version(state, bucket, key, body=body, metadata=metadata)
        answer = {"ETag": '"0"'}
        if version["VersionId"] != "null":
            answer["VersionId"] = version["VersionId"]
        emit(answer, glob)
    elif op == "head-object":
        wanted = opt(args, "--version-id")
        if wanted:
            found = [v for v in bucket["versions"] if v["Key"] == key and v["VersionId"] == wanted]
            version = found[0] if found else None
            if version is None:
                raise service_error("404", "HeadObject", "Not Found")
            if version.get("delete_marker"):
                raise service_error("405", "HeadObject", "Method Not Allowed")
        else:
            version = latest(bucket, key)
            if version is None or version.get("delete_marker"):
                raise service_error("404", "HeadObject", "Not Found")
        doc = {"ContentLength": len(version.get("body", "")), "VersionId": version["VersionId"],
               "Metadata": version.get("metadata", {})}  # fmt: skip
        if version.get("ReplicationStatus"):
            doc["ReplicationStatus"] = version["ReplicationStatus"]
        emit(doc, glob)
    elif op == "delete-object":
        wanted = opt(args, "--version-id")
        if wanted:
            bucket["versions"] = [v for v in bucket["versions"] if not (v["Key"] == key and v["VersionId"] == wanted)]
            emit({"VersionId": wanted}, glob)
        elif bucket.get("versioning") == "Enabled":
            marker = new_version(state, bucket, key, delete_marker=True)
            emit({"DeleteMarker": True, "VersionId": marker["VersionId"]}, glob)
        else:
            bucket["versions"] = [v for v in bucket["versions"] if v["Key"] != key]
            emit({}, glob)
    elif op == "list-object-versions":
        prefix = opt(args, "--prefix", "")
        mine = [v for v in bucket["versions"] if v["Key"].startswith(prefix)]
        newest = {v["Key"]: v["VersionId"] for v in mine}
        doc: dict[str, Any] = {}
        versions = [v for v in mine if not v.get("delete_marker")]
        markers = [v for v in mine if v.get("delete_marker")]
        if versions:
            doc["Versions"] = [{"Key": v["Key"], "VersionId": v["VersionId"], "Size": len(v.get("body", "")),
                                "IsLatest": newest[v["Key"]] == v["VersionId"]} for v in versions]  # fmt: skip
        if markers:
            doc["DeleteMarkers"] = [{"Key": v["Key"], "VersionId": v["VersionId"],
                                     "IsLatest": newest[v["Key"]] == v["VersionId"]} for v in markers]  # fmt: skip
        emit(doc, glob)
    else:
        raise service_error("NotImplemented", api, f"fake aws: unsupported s3api {op}")


def main(argv: list[str]) -> None:
    args, glob = split(argv)
    state = load()
    tick(state)
    try:
        s3api(args[1:], glob, state)
    except CliError as err:
        print(str(err), file=sys.stderr)
        sys.exit(err.code)
    finally:
        save(state)


def current(state: dict, bucket: str, key: str) -> str | None:
    """The body a GET of KEY answers (for a stand-in distribution), or None."""
    version = latest(state["buckets"][bucket], key)
    return None if version is None or version.get("delete_marker") else version.get("body", "")


def versions_of(state: dict, bucket: str, key: str) -> list[dict]:
    return [v for v in state["buckets"][bucket]["versions"] if v["Key"] == key]
