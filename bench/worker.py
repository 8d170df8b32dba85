"""Benchmark worker, run in a fresh interpreter.

    worker.py cold FOLDER MODULE              -> {"import_seconds", "first_call_seconds", "max_rss_kib"}
    worker.py warm FOLDER ITERATIONS          -> {"timings": {"ours": [...], "bare-awscrt": [...]}}
    worker.py warm-baseline FOLDER ITERATIONS -> {"timings": {"baseline": [...]}}

Run with ``-I -S -B`` so only FOLDER and the standard library are importable and
nothing is compiled to disk (as in Lambda's read-only code folder).
"""

import json
import resource
import sys
import time

folder = sys.argv[2]
sys.path[:] = [folder] + [p for p in sys.path if "site-packages" not in p and p != ""]

EVENT = {
    "Records": [
        {
            "cf": {
                "config": {
                    "distributionDomainName": "d111111abcdef8.cloudfront.net",
                    "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "origin-request",
                    "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                },
                "request": {
                    "clientIp": "203.0.113.178",
                    "headers": {
                        "host": [{"key": "Host", "value": "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"}],
                        "via": [{"key": "Via", "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net"}],
                        "accept-encoding": [{"key": "Accept-Encoding", "value": "br,gzip"}],
                        "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                        "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
                        "range": [{"key": "Range", "value": "bytes=0-1023"}],
                    },
                    "method": "GET",
                    "origin": {
                        "custom": {
                            # What the template sends with AllowVersionReads=yes: the
                            # versionId below is signed, not refused (mrap_edge.allowlist).
                            "customHeaders": {
                                "x-mrap-edge-allow": [{"key": "x-mrap-edge-allow", "value": "partNumber,versionId"}]
                            },
                            "domainName": "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
                            "keepaliveTimeout": 5,
                            "path": "",
                            "port": 443,
                            "protocol": "https",
                            "readTimeout": 30,
                            "sslProtocols": ["TLSv1.2"],
                        }
                    },
                    "querystring": "versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                    "uri": "/media/2026/summer+sale/banner%20large.jpg",
                },
            }
        }
    ]
}


def fresh_event():
    return json.loads(json.dumps(EVENT))


def bare_awscrt_call():
    """One SigV4A sign call straight to awscrt, credentials provider built once."""
    import datetime
    import os

    import awscrt.auth
    import awscrt.http

    provider = awscrt.auth.AwsCredentialsProvider.new_static(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_SESSION_TOKEN")
    )
    host = EVENT["Records"][0]["cf"]["request"]["origin"]["custom"]["domainName"]

    def call(_event):
        request = awscrt.http.HttpRequest(
            "GET",
            "/media/2026/summer%20sale/banner%20large.jpg?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
            awscrt.http.HttpHeaders([("host", host), ("x-amz-cf-id", "4TyzHTaYWb1GX1qTfsHhEqV6HUDd")]),
        )
        config = awscrt.auth.AwsSigningConfig(
            algorithm=awscrt.auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
            signature_type=awscrt.auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
            credentials_provider=provider,
            region="*",
            service="s3",
            date=datetime.datetime.now(datetime.UTC),
            use_double_uri_encode=False,
            should_normalize_uri_path=False,
            signed_body_header_type=awscrt.auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        )
        awscrt.auth.aws_sign_request(request, config).result()
        return request

    return call


def handler_call(module_name):
    module = __import__(module_name)

    def call(event):
        result = module.lambda_handler(event, None)
        assert "authorization" in result["headers"], result
        return result

    return call


if sys.argv[1] == "cold":
    started = time.perf_counter()
    handler_module = __import__(sys.argv[3])

    import_seconds = time.perf_counter() - started
    t0 = time.perf_counter()
    handler_module.lambda_handler(fresh_event(), None)
    first_call = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"import_seconds": import_seconds, "first_call_seconds": first_call, "max_rss_kib": rss}))
    sys.exit(0)

# Warm: "ours" and "bare-awscrt" interleaved in one process, in rounds of ten calls,
# so that machine noise falls on both alike; or "baseline" alone (its garbage
# would slow whatever shares its process). Events are copied outside the timing.
mode, iterations = sys.argv[1], int(sys.argv[3])
if mode == "warm-baseline":
    subjects = {"baseline": handler_call("baseline_naive")}
else:
    subjects = {"ours": handler_call("lambda_function"), "bare-awscrt": bare_awscrt_call()}
timings = {name: [] for name in subjects}
for _ in range(max(1, iterations // 10)):
    for name, call in subjects.items():
        events = [fresh_event() for _ in range(10)]
        for event in events:
            t0 = time.perf_counter()
            call(event)
            timings[name].append(time.perf_counter() - t0)
print(
    json.dumps(
        {
            "timings": timings,
            "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    )
)
