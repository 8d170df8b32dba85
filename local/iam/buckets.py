"""The content buckets' policies, from buckets.template (``make buckets``), for the local buckets.

The main template creates no bucket policy; the buckets are made by buckets.template.
A principal that is not of the account (CloudFront's, SigningMode oac) needs the routed-to
bucket's policy to allow it too, so the local stack in oac mode reads that template's
``AWS::S3::BucketPolicy`` for each local bucket (``BucketName`` = the bucket).

Usage::

    model = AccessModel.from_template(template, names)
    model.bucket_policies.update(bucket_policies(load_template(BUCKETS_TEMPLATE), names))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..intrinsics import resource_type
from ..names import LocalNames, LocalResolver
from .policy import Policy, parse_policy

BUCKETS_TEMPLATE = Path(__file__).resolve().parents[2] / "buckets.template"


def bucket_policies(template: dict[str, Any], names: LocalNames) -> dict[str, tuple[Policy, ...]]:
    """bucket -> its policies, for each local bucket, as buckets.template writes them."""
    out = {}
    for bucket in (names.bucket_one, names.bucket_two):
        r = LocalResolver(template, names)
        r.params["BucketName"] = bucket
        out[bucket] = tuple(
            parse_policy(f"{bucket}:{logical}", r.resolve(res["Properties"]["PolicyDocument"]), resource_based=True)
            for logical, res in r.resources.items()
            if resource_type(res) == "AWS::S3::BucketPolicy" and r.exists(logical)
        )
    return out
