"""The naive baseline: the pattern of the public sample, written here for comparison.

Per request it builds a boto3 Session, reads credentials through it, builds a new
CRT SigV4A signer, signs the read-only headers plus host, replaces the headers with
the signed set and drops the query string.  Not for production use.
"""

import boto3
from botocore.awsrequest import AWSRequest
from botocore.crt.auth import CrtS3SigV4AsymAuth


def lambda_handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    session = boto3.Session()
    credentials = session.get_credentials().get_frozen_credentials()
    signer = CrtS3SigV4AsymAuth(credentials, "s3", "*")
    host = request["origin"]["custom"]["domainName"]
    headers = {"Host": host, "X-Amz-Cf-Id": event["Records"][0]["cf"]["config"]["requestId"]}
    for name in ("accept-encoding", "via"):
        if name in request["headers"]:
            headers[request["headers"][name][0]["key"]] = request["headers"][name][0]["value"]
    aws_request = AWSRequest(method=request["method"], url=f"https://{host}{request['uri']}", headers=headers)
    signer.add_auth(aws_request)
    request["headers"] = {
        name.lower(): [{"key": name, "value": value}]
        for name, value in aws_request.headers.items()
        if name.lower() != "x-amz-cf-id"
    }
    request["querystring"] = ""
    return request
