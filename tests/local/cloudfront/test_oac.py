"""SigningMode oac end to end: the edge signs for the MRAP origin as CloudFront's origin
access control does, the MRAP verifies the SigV4A signature with the public key and
authorises CloudFront's service principal with the template's MRAP policy
(``AWS:SourceArn``) and buckets.template's bucket policy."""

from __future__ import annotations

import copy
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from local import settings
from local.cloudfront.oac import CREDENTIAL, PRINCIPAL, OacSigner
from local.iam import AccessModel
from local.iam.buckets import BUCKETS_TEMPLATE, bucket_policies
from local.names import LocalNames
from local.s3.verifier import S3Error, WireRequest, verify_s3_request
from local.stack import LocalStack
from local.template import TEMPLATE, load_template

NAMES = LocalNames(parameters=(("SigningMode", "oac"),))


def oac_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The oac branch of the MRAP policy (a list the test may edit)."""
    condition, oac, _lambda_edge = template["Resources"]["MrapPolicy"]["Properties"]["Policy"]["Statement"]["Fn::If"]
    assert condition == "SignsWithOac"
    return oac


def get(stack: LocalStack, path: str, method: str = "GET") -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(stack.edge.url + path, method=method), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def write(tmp_path: Path, name: str, template: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


def oac_stack(tmp_path: Path, template: dict[str, Any] | None = None, buckets: dict[str, Any] | None = None):
    lines: list[str] = []
    kwargs: dict[str, Any] = {"signing": "oac", "log": lines.append, "with_failover": False}
    if template is not None:
        kwargs["template_path"] = write(tmp_path, "main.template", template)
    if buckets is not None:
        kwargs["buckets_template_path"] = write(tmp_path, "buckets.template", buckets)
    return LocalStack(**kwargs), lines


@pytest.fixture(scope="module")
def stack():
    with LocalStack(signing="oac", log=lambda _line: None) as s:
        yield s


def test_oac_serves_objects_without_any_function(stack: LocalStack) -> None:
    assert isinstance(stack.function, OacSigner)  # no function pool, no zip
    assert get(stack, "/index.html") == (200, b"hello from s3 bucket one\n")
    assert get(stack, "/") == (200, b"hello from s3 bucket one\n")  # the default root object


def test_oac_missing_key_is_403_and_options_is_refused_by_cloudfront(stack: LocalStack) -> None:
    status, body = get(stack, "/no-such-key.txt")
    assert status == 403 and b"AccessDenied" in body  # CloudFront may read, not list
    status, body = get(stack, "/index.html", "OPTIONS")
    assert status == 403 and b"not configured to allow the HTTP request method" in body


def signed_event(domain: str) -> dict[str, Any]:
    origin = {"custom": {"domainName": domain, "path": "", "port": 443, "protocol": "https", "readTimeout": 30,
                         "keepaliveTimeout": 5, "sslProtocols": ["TLSv1.2"], "customHeaders": {}}}  # fmt: skip
    request = {"clientIp": "198.51.100.1", "method": "GET", "uri": "/a%20b.txt", "querystring": "versionId=v1",
               "headers": {}, "origin": origin}  # fmt: skip
    return {"Records": [{"cf": {"config": {"requestId": "req-1", "eventType": "origin-request"}, "request": request}}]}


def test_the_signature_verifies_with_cloudfronts_key_and_region_set_star() -> None:
    signer = OacSigner(settings.MRAP_DOMAIN)
    result = signer.invoke(signed_event(settings.MRAP_DOMAIN)).result
    headers = [(e["key"], e["value"]) for entries in result["headers"].values() for e in entries]
    assert ("X-Amz-Region-Set", "*") in headers and ("Host", settings.MRAP_DOMAIN) in headers
    wire = WireRequest("GET", "/a%20b.txt", "versionId=v1", [*headers, ("X-Amz-Cf-Id", "req-1")], b"")
    credentials = {CREDENTIAL.access_key_id: CREDENTIAL}
    assert verify_s3_request(wire, credentials, now=signer.clock(), region="eu-west-1") == CREDENTIAL.access_key_id
    # What CloudFront signed is what it must send: another path or a changed Cf-Id fails.
    for path, cf_id in (("/a%20c.txt", "req-1"), ("/a%20b.txt", "req-2")):
        changed = WireRequest("GET", path, "versionId=v1", [*headers, ("X-Amz-Cf-Id", cf_id)], b"")
        with pytest.raises(S3Error):
            verify_s3_request(changed, credentials, now=signer.clock(), region="eu-west-1")


def test_only_the_mrap_origin_is_signed() -> None:
    result = OacSigner(settings.MRAP_DOMAIN).invoke(signed_event(settings.FAILOVER_DOMAIN)).result
    assert "authorization" not in result["headers"]  # the OAC belongs to the MRAP origin only


def model() -> AccessModel:
    access = AccessModel.from_template(load_template(TEMPLATE), NAMES)
    access.bucket_policies.update(bucket_policies(load_template(BUCKETS_TEMPLATE), NAMES))
    return access


def test_the_iam_model_lets_only_this_distribution_read() -> None:
    access, bucket = model(), NAMES.bucket_one
    assert access.role_arn == ""  # no function, no role in oac mode
    ok = access.authorize(PRINCIPAL, "GET", "index.html", {}, bucket, source_arn=NAMES.distribution_arn)
    assert ok.allowed and not ok.list_allowed
    other = NAMES.distribution_arn[:-1] + "X"
    assert not access.authorize(PRINCIPAL, "GET", "index.html", {}, bucket, source_arn=other).allowed
    assert not access.authorize(PRINCIPAL, "GET", "index.html", {}, bucket).allowed  # no aws:SourceArn
    admin = f"arn:aws:iam::{NAMES.account_id}:role/Admin"
    assert not access.authorize(admin, "GET", "index.html", {}, bucket).allowed  # the Deny: no source ARN
    # Read actions only.
    assert not access.authorize(PRINCIPAL, "PUT", "index.html", {}, bucket, source_arn=NAMES.distribution_arn).allowed
    versioned = access.authorize(PRINCIPAL, "GET", "k", {"versionId": ["v"]}, bucket, source_arn=NAMES.distribution_arn)
    assert versioned.allowed and versioned.action == "s3:GetObjectVersion"


def test_without_the_bucket_statement_cloudfront_cannot_read() -> None:
    access = AccessModel.from_template(load_template(TEMPLATE), NAMES)  # no bucket policies at all
    authz = access.authorize(PRINCIPAL, "GET", "index.html", {}, NAMES.bucket_one, source_arn=NAMES.distribution_arn)
    assert not authz.allowed and "policy of bucket" in authz.reason


def without(statements: list[dict[str, Any]], sid: str) -> None:
    [found] = [s for s in statements if s.get("Sid") == sid]
    statements.remove(found)


def test_unchanged_template_copies_serve(tmp_path: Path) -> None:
    # The baseline of the removal tests below: a copy as such changes nothing.
    stack, _ = oac_stack(tmp_path, load_template(TEMPLATE), load_template(BUCKETS_TEMPLATE))
    with stack:
        assert get(stack, "/index.html") == (200, b"hello from s3 bucket one\n")


def test_removing_the_mrap_policy_statement_breaks_the_edge(tmp_path: Path) -> None:
    template = copy.deepcopy(load_template(TEMPLATE))
    without(oac_statements(template), "CloudFrontReadsObjects")
    stack, _ = oac_stack(tmp_path, template=template)
    with stack:
        status, body = get(stack, "/index.html")
    assert status == 403 and b"AccessDenied" in body


def test_another_distributions_source_arn_is_refused_end_to_end(tmp_path: Path) -> None:
    template = copy.deepcopy(load_template(TEMPLATE))
    [allow] = [s for s in oac_statements(template) if s.get("Sid") == "CloudFrontReadsObjects"]
    condition = allow["Condition"]["StringEquals"]
    condition["AWS:SourceArn"]["Fn::Sub"] = condition["AWS:SourceArn"]["Fn::Sub"].replace("${Distribution}", "EOTHER")
    stack, _ = oac_stack(tmp_path, template=template)
    with stack:
        assert get(stack, "/index.html")[0] == 403


def test_removing_the_bucket_statement_breaks_the_edge(tmp_path: Path) -> None:
    buckets = copy.deepcopy(load_template(BUCKETS_TEMPLATE))
    without(buckets["Resources"]["ContentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"],
            "CloudFrontReadsThroughMrap")  # fmt: skip
    stack, _ = oac_stack(tmp_path, buckets=buckets)
    with stack:
        status, body = get(stack, "/index.html")
    assert status == 403 and b"AccessDenied" in body


def test_a_bad_signing_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="SigningMode='sigv4a' is not one of lambda-edge, oac"):
        LocalStack(signing="sigv4a")


def test_the_target_is_sent_in_the_strict_form_it_is_signed_in() -> None:
    from local.cloudfront.oac import strict, strict_query

    assert strict("/a+b%2bc/%7e!", "/") == "/a%20b%2Bc/~%21"
    assert strict_query("b=2&a=x+y&flag") == "a=x%20y&b=2&flag="
    event = signed_event(settings.MRAP_DOMAIN)
    event["Records"][0]["cf"]["request"]["uri"] = "/bad%zz"
    assert OacSigner(settings.MRAP_DOMAIN).invoke(event).result["status"] == "400"
    event["Records"][0]["cf"]["request"]["uri"] = "/%ff"  # not UTF-8
    assert OacSigner(settings.MRAP_DOMAIN).invoke(event).result["status"] == "400"
