"""Names and fake credentials shared by the local edge, MRAP endpoint and buckets."""

from __future__ import annotations

from dataclasses import dataclass

# The role credentials the function sees and the MRAP endpoint accepts (fake).
ACCESS_KEY_ID = "AKIALOCALEDGEEXAMPLE"
SECRET_ACCESS_KEY = "local/edge/secret/EXAMPLEKEY+not+a+real+one"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjELOCALEDGEEXAMPLESESSIONTOKEN=="

MRAP_ALIAS = "mlocaledge0demo.mrap"
MRAP_DOMAIN = f"{MRAP_ALIAS}.accesspoint.s3-global.amazonaws.com"
FAILOVER_DOMAIN = "local-failover-bucket.s3.us-east-1.amazonaws.com"


@dataclass
class BucketSpec:
    name: str
    region: str
    latency_ms: float  # from the viewer's nearest edge, for MRAP routing


BUCKETS = (
    BucketSpec("local-bucket-one", "eu-west-1", 12.0),
    BucketSpec("local-bucket-two", "ap-southeast-2", 180.0),
)
FAILOVER_BUCKET = "local-failover-bucket"
