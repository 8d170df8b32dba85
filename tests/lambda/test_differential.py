"""Differential test: the canonical request the handler signs is, byte for byte, the one
botocore's own S3 client signs for ``get_object`` on the MRAP ARN (captured offline).

Neither signer shows its canonical request (both are aws-c-auth through awscrt), so
botocore's is written out by botocore's own S3 canonicaliser (``S3SigV4Auth``: the
path as sent, the query as sent and sorted, its header rules) and checked against
botocore's signature; the handler's signature must then verify over that very text.
An ECDSA signature verifies over one SHA-256 digest only, so the two canonical
requests are equal byte for byte.  The verifier's canonicaliser plays no part here.

For the header block to be equal too, both sign at the same instant, botocore signs
the empty body's hash (``payload_signing_enabled``, as the handler does), and its
request carries what CloudFront's does: ``X-Amz-Cf-Id`` added, and none of the SDK's
own ``User-Agent`` / ``amz-sdk-*`` headers.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from urllib.parse import urlsplit

import boto3
import botocore.crt.auth
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_function
from local.cloudfront.event import validate_result, wire_request
from local.s3 import sigv4a
from local.s3.verifier import S3Error, WireRequest, verify_s3_request
from tests.conftest import AKID, ALLOW_ALL, MRAP_DOMAIN, REQUEST_ID, SECRET, make_event, request_of

MRAP_ARN = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"
SIGNED_AT = datetime.datetime(2026, 11, 27, 12, 34, 56, tzinfo=datetime.UTC)
# `make mutation` runs this with fewer examples per mutant.
EXAMPLES = int(os.environ.get("MRAP_EDGE_DIFFERENTIAL_EXAMPLES", "300"))


class Captured(Exception):
    def __init__(self, request) -> None:
        self.request = request


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both signers read the time through botocore.crt.auth (the handler's subclasses it)."""
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", lambda remove_tzinfo=True: SIGNED_AT)


@pytest.fixture(scope="module")
def s3_client():
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        config=Config(
            retries={"max_attempts": 1},
            response_checksum_validation="when_required",  # no x-amz-checksum-mode: ENABLED
            s3={"addressing_style": "virtual", "payload_signing_enabled": True},
        ),
    )

    def as_cloudfront_sends_it(request, **kwargs):
        for name in list(request.headers):
            if name.lower() == "user-agent" or name.lower().startswith("amz-sdk-"):
                del request.headers[name]
        request.headers["X-Amz-Cf-Id"] = REQUEST_ID

    def stop(request, **kwargs):
        raise Captured(request)

    client.meta.events.register("before-sign.s3.GetObject", as_cloudfront_sends_it)
    client.meta.events.register("before-send.s3.GetObject", stop)
    return client


def botocore_request(client, **params) -> WireRequest:
    with pytest.raises(Captured) as captured:
        client.get_object(Bucket=MRAP_ARN, **params)
    request = captured.value.request
    url = urlsplit(request.url)
    assert url.hostname == MRAP_DOMAIN and url.scheme == "https"
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
    return WireRequest(request.method, url.path, url.query, headers)


def header(wire: WireRequest, name: str) -> str:
    [value] = [v for k, v in wire.headers if k.lower() == name]
    return value


def botocore_canonical_request(wire: WireRequest) -> str:
    """botocore's S3 canonicaliser over the headers its signature lists."""
    auth = header(wire, "authorization")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    url = f"https://{MRAP_DOMAIN}{wire.path}" + (f"?{wire.query}" if wire.query else "")
    headers = {k: v for k, v in wire.headers if k.lower() in signed}
    signer = S3SigV4Auth(Credentials(AKID, SECRET), "s3", "us-east-1")
    return signer.canonical_request(AWSRequest(method=wire.method, url=url, headers=headers))


def signature_covers(wire: WireRequest, creq: str) -> bool:
    """Whether the request's SigV4A signature is over exactly ``creq``."""
    amz_date = header(wire, "x-amz-date")
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    sts = f"{sigv4a.ALGORITHM}\n{amz_date}\n{amz_date[:8]}/s3/aws4_request\n{digest}"
    signature = header(wire, "authorization").rsplit("Signature=", 1)[1]
    return sigv4a.verify_signature(sigv4a.derive_public_key(AKID, SECRET), sts, signature)


def handler_request(path: str, query: str, creds) -> WireRequest:
    event = make_event(path, query, custom_headers=ALLOW_ALL)  # a distribution that allows every parameter
    result = lambda_function.lambda_handler(event, None)
    validate_result(request_of(event), result)
    wire = wire_request(result, REQUEST_ID)
    verify_s3_request(wire, creds, now=SIGNED_AT.timestamp())
    return wire


key_chars = st.characters(blacklist_categories=("Cs", "Cc"))
params = st.fixed_dictionaries(
    {},
    optional={
        "VersionId": st.text(key_chars, min_size=1, max_size=30),
        "ResponseContentDisposition": st.text(key_chars, min_size=1, max_size=40),
        "ResponseContentType": st.text(key_chars, min_size=1, max_size=20),
        "ResponseCacheControl": st.text(key_chars, min_size=1, max_size=20),
        "PartNumber": st.integers(min_value=1, max_value=10000),
    },
)
QUERY_NAMES = {
    "VersionId": "versionId",
    "ResponseContentDisposition": "response-content-disposition",
    "ResponseContentType": "response-content-type",
    "ResponseCacheControl": "response-cache-control",
    "PartNumber": "partNumber",
}


def assert_same_canonical_request(s3_client, creds, key: str, extra: dict) -> None:
    theirs = botocore_request(s3_client, Key=key, **extra)
    creq = botocore_canonical_request(theirs)
    assert signature_covers(theirs, creq), f"botocore's canonicaliser disagrees with its signer:\n{creq}"

    # The viewer asked CloudFront for the same object with the same parameters.
    ours = handler_request(theirs.path, theirs.query, creds)
    if not signature_covers(ours, creq):
        try:
            verify_s3_request(ours, creds, now=SIGNED_AT.timestamp(), region=None)
        except S3Error as err:  # pragma: no cover - only to explain a failure
            pytest.fail(f"signed another request; botocore's:\n{creq}\n\nours (as S3 reads it): {err.details}")
        pytest.fail(f"the handler did not sign botocore's canonical request:\n{creq}")
    assert {p.split("=")[0] for p in ours.query.split("&") if p} == {QUERY_NAMES[k] for k in extra}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(key_chars, min_size=1, max_size=80).filter(lambda k: k not in (".", "..")), extra=params)
def test_handler_signs_botocores_canonical_request_byte_for_byte(creds, s3_client, key: str, extra: dict) -> None:
    assert_same_canonical_request(s3_client, creds, key, extra)


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("index.html", {}),
        ("a b+c", {}),
        ("dir/sub dir/ü €.txt", {"VersionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"}),
        ("!'()*@:,;=$&~", {"ResponseContentDisposition": 'attachment; filename="a+b c.pdf"'}),
        ("k", {"PartNumber": 2, "ResponseContentType": "text/plain; charset=utf-8"}),
        ("/leading//double/./dot/../", {}),
        ("%2B%20%", {"ResponseCacheControl": "no-cache, max-age=0"}),
    ],
)
def test_known_keys_sign_botocores_canonical_request(creds, s3_client, key: str, extra: dict) -> None:
    assert_same_canonical_request(s3_client, creds, key, extra)


def test_botocore_signs_what_the_handler_signs(creds, s3_client) -> None:
    """The compared requests are alike: SigV4A for the MRAP, the same signed headers."""
    theirs = botocore_request(s3_client, Key="a b+c")
    ours = handler_request(theirs.path, theirs.query, creds)
    for wire in (theirs, ours):
        auth = header(wire, "authorization")
        assert auth.startswith(f"AWS4-ECDSA-P256-SHA256 Credential={AKID}/20261127/s3/aws4_request, ")
        assert "SignedHeaders=host;x-amz-cf-id;x-amz-content-sha256;x-amz-date;x-amz-region-set," in auth
        assert header(wire, "x-amz-region-set") == "*"
        assert header(wire, "x-amz-date") == "20261127T123456Z"
        assert header(wire, "x-amz-content-sha256") == sigv4a.EMPTY_SHA256
    assert theirs.path == ours.path == "/a%20b%2Bc"


def test_a_different_canonical_request_is_told_apart(creds, s3_client) -> None:
    """The comparison fails when the handler signs anything else (here: another key)."""
    creq = botocore_canonical_request(botocore_request(s3_client, Key="a b+c"))
    assert not signature_covers(handler_request("/a%20b%20c", "", creds), creq)
    assert not signature_covers(handler_request("/a%20b%2Bc", "x=1", creds), creq)
    assert signature_covers(handler_request("/a+b%2bc", "", creds), creq)
